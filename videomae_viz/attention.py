"""Attention maps for VideoMAE, which has no CLS token and classifies by mean pooling.

With maps asked for, the classifying forward pass computes attention in blocks of query rows
(``kernels.blocked_attention``) and reduces each block of the first clip's softmax rows as it goes: every head's
column sums (attention received) and the head mean of the rows, kept per layer as one (N, N) matrix for rollout.
It also keeps copies of that clip's queries and keys, from which one token's rows are recomputed when asked for.
No (heads, N, N) matrix is ever kept (ViT-B: 1568 tokens, a layer's is ~118 MB; the head means of all 12 layers
are 118 MB together). Maps are per-token vectors (N,) in token order; ``config.grid`` reshapes them to (t, h, w).

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

from .kernels import AttentionProbe, attention_block, probing
from .model import VideoMAEForVideoClassification, VideoMAEModel, attention_layers

ROW_CHUNK = 64  # query rows per block of relevance: one (heads, rows, N) buffer of ~5 MB for ViT-B, reused


@dataclass
class LayerRecord:
    """One layer's attention for the first clip of the recorded batch, reduced while the forward pass computed it.
    Views of blocks shared by all layers of the pass, so nothing of the forward pass is kept alive."""

    q: Tensor  # (heads, N, head_dim) a copy of the queries, in the forward pass's dtype
    k: Tensor  # (heads, N, head_dim) a copy of the keys
    received: Tensor  # (heads, N) float32: the sum of each head's softmax rows
    mean: Tensor  # (N, N) float32: the head mean of the softmax matrix


@contextmanager
def recording(encoder: VideoMAEModel, enabled: bool = True) -> Iterator[list[LayerRecord]]:
    """Record every attention layer of ``encoder`` during the one forward pass this thread runs inside the block
    (nothing when not ``enabled``: the list stays empty), for the first clip of its batch. Inference only. Other
    threads using the same model are not recorded."""
    records: list[LayerRecord] = []
    if not enabled:
        yield records
        return
    layers = attention_layers(encoder)
    blocks: dict[str, Tensor] = {}  # one block per kind for the whole pass, each layer's record a view of it

    def start_layer(layer: int, probabilities: Tensor) -> None:
        _, heads, _, n = probabilities.shape
        if layer == 0:
            head_dim = encoder.config.hidden_size // heads
            like = {"device": probabilities.device}
            blocks["qk"] = torch.empty(len(layers), 2, heads, n, head_dim, dtype=probabilities.dtype, **like)
            blocks["received"] = torch.zeros(len(layers), heads, n, **like)
            blocks["mean"] = torch.empty(len(layers), n, n, **like)
        records.append(LayerRecord(blocks["qk"][layer, 0], blocks["qk"][layer, 1], blocks["received"][layer],
                                   blocks["mean"][layer]))

    def probe(layer: int) -> AttentionProbe:
        def rows(block: slice, probabilities: Tensor) -> None:  # probabilities (B, heads, r, N)
            if block.start == 0:
                start_layer(layer, probabilities)
            record = records[-1]
            record.received.add_(probabilities[0].sum(dim=1, dtype=torch.float32))
            torch.mean(probabilities[0], dim=0, dtype=torch.float32, out=record.mean[block])

        def tensors(q: Tensor, k: Tensor, v: Tensor, out: Tensor) -> None:
            records[-1].q.copy_(q[0])
            records[-1].k.copy_(k[0])

        return AttentionProbe(tensors=tensors, rows=rows)

    with probing({layer: probe(i) for i, layer in enumerate(layers)}):
        yield records


def attention_rows(q: Tensor, k: Tensor, rows: slice) -> Tensor:
    """softmax(q[rows] k^T / sqrt(d)) in float32: q, k (heads, N, d) -> (heads, r, N)."""
    out = torch.empty(q.shape[0], len(range(*rows.indices(q.shape[1]))), k.shape[1], device=q.device)
    return attention_rows_into(q, k, rows, out)


def attention_rows_into(q: Tensor, k: Tensor, rows: slice, out: Tensor) -> Tensor:
    """``attention_rows`` written into a given (reusable) float32 buffer out (heads, r, N), which it returns."""
    return attention_block(q.float(), k.float(), rows, out)


def top_down_readouts(product: Callable[[int, Tensor], Tensor], num_layers: int, n: int, residual: str,
                      device: torch.device | None = None) -> Tensor:
    """For each l, the mean row of M_l ... M_1 (the product through layers 1..l), (L, N) float32. M_l is built from
    the head mean of layer l's matrices B_h: ``residual="average"``: M_l = (B + I) / 2 (rollout), ``"add"``:
    M_l = I + B (relevance). ``product(layer, x)`` gives x @ B_h of every head, (k, N) -> (heads, k, N).

    The readouts are row vectors carried from the top layer down: the one whose top is layer l starts there as the
    uniform row u, and at each layer every readout started so far is multiplied by that layer's matrix, so each
    layer's matrices are needed once. The rows live on ``device``, where ``product`` computes."""
    uniform = torch.full((1, n), 1.0 / n, device=device)
    carried = torch.empty(0, n, device=device)  # row i: the readout whose top is layer L - 1 - i, carried down to this layer
    for layer in reversed(range(num_layers)):
        x = torch.cat((carried, uniform))  # (k, N); the last row starts the readout whose top is this layer
        step = product(layer, x).mean(dim=0)  # x @ mean_h B_h
        carried = 0.5 * (x + step) if residual == "average" else x + step
    return carried.flip(0)


@dataclass
class AttentionMaps:
    """What the attention panel draws, for one clip: cheap to slice by layer and head without the model."""

    q: list[Tensor]  # L x (heads, N, d) recorded queries
    k: list[Tensor]  # L x (heads, N, d) recorded keys
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


def maps_from_records(records: list[LayerRecord]) -> AttentionMaps:
    """Attention received and rollout for every layer from a recorded forward pass: (L, N) vector-matrix products
    with the layers' head means, no attention recomputed; computed where the pass ran, returned on the CPU (where
    the maps are drawn)."""
    n, device = records[0].mean.shape[0], records[0].mean.device
    rollout = top_down_readouts(lambda layer, x: (x @ records[layer].mean)[None], len(records), n, "average", device)
    received = torch.stack([record.received for record in records]) / n  # (L, heads, N)
    return AttentionMaps(q=[r.q.cpu() for r in records], k=[r.k.cpu() for r in records], received=received.cpu(),
                         rollout=rollout.cpu())


@dataclass
class _GraphRecord:
    """One layer's tensors for the first clip, for class relevance: q, k, v detached (heads, N, d) and the per-head
    output (1, heads, N, d) still in the autograd graph."""

    q: Tensor
    k: Tensor
    v: Tensor
    out: Tensor


def class_relevance(classifier: VideoMAEForVideoClassification, pixel_values: Tensor, class_id: int) -> Tensor:
    """Chefer et al.'s relevance of every token for one class, through layers 1..l: (L, N), the mean row of R - I.
    Needs one forward pass and the part of the backward pass down to the first layer's attention output (no
    parameter gradients). pixel_values (1, T, 3, H, W) on the classifier's device and dtype; the result is on the
    CPU."""
    records: list[_GraphRecord] = []

    def keep(q: Tensor, k: Tensor, v: Tensor, out: Tensor) -> None:
        records.append(_GraphRecord(q[0].detach(), k[0].detach(), v[0].detach(), out))

    layers = attention_layers(classifier.videomae)
    with torch.enable_grad(), probing({layer: AttentionProbe(tensors=keep) for layer in layers}):
        logits = classifier(pixel_values).logits  # (1, num_labels)
        grads = torch.autograd.grad(logits[0, class_id], [rec.out for rec in records])  # L x (1, heads, N, d)
    heads, n, _ = records[0].q.shape
    device = records[0].q.device
    buffer = torch.empty(heads, min(ROW_CHUNK, n), n, device=device)  # one block of rows, reused for every block

    def product(layer: int, x: Tensor) -> Tensor:  # x @ (grad A * A)^+ of every head, streamed in blocks of rows
        rec = records[layer]
        y = torch.zeros(heads, len(x), n, device=device)  # (heads, k, N)
        for start in range(0, n, ROW_CHUNK):
            rows = slice(start, min(start + ROW_CHUNK, n))
            out = buffer[:, :rows.stop - start]  # (heads, r, N)
            attention_rows_into(rec.q, rec.k, rows, out)  # A rows
            grad_a = grads[layer][0, :, rows].float() @ rec.v.float().transpose(-2, -1)  # d logit / d A
            out.mul_(grad_a).clamp_(min=0)
            y.baddbmm_(x[:, rows].expand(heads, -1, -1), out)  # (heads, k, N) += x[:, rows] @ out, per head
        return y

    return (top_down_readouts(product, len(records), n, "add", device) - 1.0 / n).cpu()


def own_slice_share(maps: AttentionMaps, grid: tuple[int, int, int]) -> Tensor:
    """For each layer and head, the share of attention that stays in the query's own time slice, averaged over all
    queries: (L, heads) float32 in [0, 1]. 1 / t would be attention spread evenly over time; 1, attention that
    never leaves its moment. From the recorded queries and keys, in blocks of query rows (no forward pass)."""
    t, h, w = grid
    per_slice = h * w
    share = torch.zeros(maps.num_layers, maps.num_heads)
    buffer = torch.empty(maps.num_heads, min(ROW_CHUNK, t * per_slice), t * per_slice)
    for layer in range(maps.num_layers):
        for start in range(0, t * per_slice, ROW_CHUNK):
            rows = slice(start, min(start + ROW_CHUNK, t * per_slice))
            probabilities = attention_rows_into(maps.q[layer], maps.k[layer], rows, buffer[:, :rows.stop - start])
            slices = torch.arange(rows.start, rows.stop) // per_slice  # each query row's time slice
            by_slice = probabilities.view(maps.num_heads, -1, t, per_slice).sum(dim=-1)  # (heads, r, t)
            share[layer] += by_slice.gather(2, slices.view(1, -1, 1).expand(maps.num_heads, -1, 1)).sum(dim=(1, 2))
    return share / (t * per_slice)


def temporal_profile(token_map: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """Share of a map's mass in each time slice: (N,) -> (t,), summing to 1."""
    per_slice = token_map.reshape(grid[0], -1).sum(dim=1)
    return per_slice / per_slice.sum().clamp(min=1e-12)
