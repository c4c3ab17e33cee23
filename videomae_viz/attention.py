"""Attention maps for VideoMAE, which has no CLS token and classifies by mean pooling.

The forward pass keeps SDPA: probes capture each layer's queries and keys, and maps are computed from them in
blocks of query rows that are reduced as they go, so no (N, N) matrix is ever kept (ViT-B: 1568 tokens, a layer's
(heads, N, N) attention is ~118 MB). Maps are per-token vectors (N,) in token order; ``config.grid`` reshapes them
to (t, h, w).

- query map: row ``token`` of softmax(q k^T / sqrt(d)) for one layer, per head;
- attention received: the mean of a layer's rows (what pooled queries look at), per head;
- rollout (Abnar & Zuidema 2020): A_hat = (mean_h A + I) / 2 per layer, multiplied from layer 1 up to layer l and
  read out for mean pooling as the mean of the rows;
- class relevance (Chefer et al. 2021): R <- R + E_h[(grad A * A)^+] R from layer 1 up to layer l, gradients of the
  chosen class's logit, read out as the mean row of R - I (the identity is every token's own share, as the CLS
  readout R[0, 1:] leaves out the CLS token's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from .model import Attention, VideoMAEForVideoClassification, VideoMAEModel, attention_block, probing

ROW_CHUNK = 64  # query rows per block: one (heads, rows, N) buffer of ~5 MB for ViT-B, reused for every block

# (layer, query rows, out): writes that layer's per-head matrix rows into out (heads, r, N)
LayerBlock = Callable[[int, slice, Tensor], None]


@dataclass
class Captured:
    """One layer's tensors for the first clip of the batch, each (heads, N, head_dim). q and k are copies (views of
    one block that holds every layer's), so the forward pass's fused qkv buffer is not kept alive; v and the per-head
    output ``out`` (still in the autograd graph) are kept only when captured with grads, for class relevance."""

    q: Tensor
    k: Tensor
    v: Tensor | None = None
    out: Tensor | None = None


@contextmanager
def capture(encoder: VideoMAEModel, with_grad: bool = False, enabled: bool = True) -> Iterator[list[Captured]]:
    """Record every attention layer of ``encoder`` during the forward passes this thread runs inside the block
    (nothing when not ``enabled``: the list stays empty). Other threads using the same model are not recorded."""
    records: list[Captured] = []
    if not enabled:
        yield records
        return
    layers = [m for m in encoder.modules() if isinstance(m, Attention)]
    store = torch.empty(0)

    def probe(q: Tensor, k: Tensor, v: Tensor, out: Tensor) -> None:
        nonlocal store
        if with_grad:
            records.append(Captured(q[0].detach(), k[0].detach(), v[0].detach(), out))
            return
        layer = len(records) % len(layers)
        if layer == 0:
            # One block for the whole pass, (L, 2, heads, N, d), instead of two copies per layer: ViT-B, median of
            # 10 passes, 28k page faults (its 110 MB) against 42k for 24 separate copies
            store = q.new_empty(len(layers), 2, *q.shape[1:])
        store[layer, 0].copy_(q[0])
        store[layer, 1].copy_(k[0])
        records.append(Captured(store[layer, 0], store[layer, 1]))

    with probing(layers, probe):
        yield records


def attention_rows(q: Tensor, k: Tensor, rows: slice) -> Tensor:
    """softmax(q[rows] k^T / sqrt(d)) in float32: q, k (heads, N, d) -> (heads, r, N)."""
    return attention_rows_into(q, k, rows, torch.empty(q.shape[0], len(range(*rows.indices(q.shape[1]))), k.shape[1]))


def attention_rows_into(q: Tensor, k: Tensor, rows: slice, out: Tensor) -> Tensor:
    """``attention_rows`` written into a given (reusable) float32 buffer out (heads, r, N), which it returns."""
    return attention_block(q.float(), k.float(), rows, out)


def _row_chunks(n: int) -> Iterator[slice]:
    for start in range(0, n, ROW_CHUNK):
        yield slice(start, min(start + ROW_CHUNK, n))


def top_down_readouts(block: LayerBlock, num_layers: int, heads: int, n: int,
                      residual: str) -> tuple[Tensor, Tensor]:
    """For each l, the mean row of M_l ... M_1 (the product through layers 1..l), with M_l built from the head mean
    of the layer's matrices B: ``residual="average"``: M_l = (B_l + I) / 2 (rollout), ``"add"``: M_l = I + B_l
    (relevance).

    The readouts are row vectors carried from the top layer down: the one whose top is layer l starts there as the
    uniform row u, and at each layer every readout started so far is multiplied by that layer's matrix, streamed
    once in blocks of rows (x @ B = sum over blocks of x[:, rows] @ B[rows]). Returns the readouts (L, N) and, on
    the way, u @ B_h: the mean row of each layer's per-head matrices, (L, heads, N)."""
    uniform = torch.full((1, n), 1.0 / n)
    buffer = torch.empty(heads, min(ROW_CHUNK, n), n)  # one block of rows, reused for every block of every layer
    carried = torch.empty(0, n)  # row i: the readout whose top is layer L - 1 - i, carried down to this layer
    mean_rows = []
    for layer in reversed(range(num_layers)):
        x = torch.cat((carried, uniform))  # (k, N); the last row starts the readout whose top is this layer
        y = torch.zeros(heads, len(x), n)  # x @ B_h for every head h
        for rows in _row_chunks(n):
            out = buffer[:, :rows.stop - rows.start]  # (heads, r, N)
            block(layer, rows, out)
            y.baddbmm_(x[:, rows].expand(heads, -1, -1), out)  # (heads, k, N) += x[:, rows] @ out, per head
        mean_rows.append(y[:, -1])
        step = y.mean(dim=0)  # x @ mean_h B_h
        carried = 0.5 * (x + step) if residual == "average" else x + step
    return carried.flip(0), torch.stack(mean_rows[::-1])


@dataclass
class AttentionMaps:
    """What the attention panel draws, for one clip: cheap to slice by layer and head without the model."""

    q: list[Tensor]  # L x (heads, N, d) captured queries, kept as captured (no stacked copy)
    k: list[Tensor]  # L x (heads, N, d) captured keys
    received: Tensor  # (L, heads, N) mean attention each token receives
    rollout: Tensor  # (L, N) rollout through layers 1..l, mean-pooling readout; each row sums to 1

    @property
    def num_layers(self) -> int:
        return len(self.q)

    @property
    def num_heads(self) -> int:
        return self.q[0].shape[0]

    def query(self, layer: int, token: int) -> Tensor:
        """Where token ``token`` looks in ``layer``: (heads, N), rows sum to 1."""
        return attention_rows(self.q[layer], self.k[layer], slice(token, token + 1))[:, 0]


def maps_from_capture(records: list[Captured]) -> AttentionMaps:
    """Attention received and rollout for every layer from captured q/k, in one streamed pass over each layer."""
    heads, n, _ = records[0].q.shape
    rollout, received = top_down_readouts(
        lambda layer, rows, out: attention_rows_into(records[layer].q, records[layer].k, rows, out),
        len(records), heads, n, "average")
    return AttentionMaps(q=[r.q for r in records], k=[r.k for r in records], received=received, rollout=rollout)


def class_relevance(classifier: VideoMAEForVideoClassification, pixel_values: Tensor, class_id: int) -> Tensor:
    """Chefer et al.'s relevance of every token for one class, through layers 1..l: (L, N), the mean row of R - I.
    Needs one forward pass and the part of the backward pass down to the first layer's attention output (no
    parameter gradients). pixel_values (1, T, 3, H, W) float32."""
    with torch.enable_grad(), capture(classifier.videomae, with_grad=True) as records:
        logits = classifier(pixel_values).logits  # (1, num_labels)
        grads = torch.autograd.grad(logits[0, class_id], [rec.out for rec in records])  # L x (1, heads, N, d)
    heads, n, _ = records[0].q.shape

    def weighted(layer: int, rows: slice, out: Tensor) -> None:  # (grad A * A)^+ rows of every head into out
        rec = records[layer]
        attention_rows_into(rec.q, rec.k, rows, out)  # A rows, (heads, r, N)
        grad_a = grads[layer][0, :, rows].float() @ rec.v.float().transpose(-2, -1)  # d logit / d A
        out.mul_(grad_a).clamp_(min=0)

    readouts, _ = top_down_readouts(weighted, len(records), heads, n, "add")
    return readouts - 1.0 / n


def temporal_profile(token_map: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """Share of a map's mass in each time slice: (N,) -> (t,), summing to 1."""
    per_slice = token_map.reshape(grid[0], -1).sum(dim=1)
    return per_slice / per_slice.sum().clamp(min=1e-12)
