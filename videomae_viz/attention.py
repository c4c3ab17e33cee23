"""Attention maps for VideoMAE, which has no CLS token and classifies by mean pooling.

The forward pass keeps SDPA: probes capture each layer's queries and keys, and maps are computed from them in row
chunks, reduced as they go, so no layer's full (heads, N, N) matrix is ever kept (ViT-B: 1568 tokens, ~118 MB a
layer). Maps are per-token vectors (N,) in token order; ``config.grid`` reshapes them to (t, h, w).

- query map: row ``token`` of softmax(q k^T / sqrt(d)) for one layer, per head;
- attention received: the mean of a layer's rows (what pooled queries look at), per head;
- rollout (Abnar & Zuidema 2020): A_hat = (mean_h A + I) / 2 per layer, multiplied from layer 1 up to layer l and
  read out for mean pooling as the mean of the rows;
- class relevance (Chefer et al. 2021): R <- R + E_h[(grad A * A)^+] R from layer 1 up to layer l, gradients of the
  chosen class's logit, read out as the mean row of R - I (the identity is every token's own share, as the CLS
  readout R[0, 1:] leaves out the CLS token's).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from .model import Attention, VideoMAEForVideoClassification, VideoMAEModel

ROW_CHUNK = 512  # query rows per block: bounds the transient (heads, rows, N) block to ~29 MB for ViT-B


@dataclass
class Captured:
    """One layer's tensors for the first clip of the batch: q, k, v, out are (heads, N, head_dim)."""

    q: Tensor
    k: Tensor
    v: Tensor
    out: Tensor  # per-head attention output; its .grad is set after a backward pass when captured with grads


@contextmanager
def capture(encoder: VideoMAEModel, with_grad: bool = False, enabled: bool = True) -> Iterator[list[Captured]]:
    """Record every attention layer of ``encoder`` during the forward passes run inside the block (nothing when
    not ``enabled``: the list stays empty)."""
    records: list[Captured] = []
    if not enabled:
        yield records
        return

    def probe(q: Tensor, k: Tensor, v: Tensor, out: Tensor) -> None:
        if with_grad:
            out.retain_grad()
            records.append(Captured(q[0].detach(), k[0].detach(), v[0].detach(), out))
        else:
            records.append(Captured(q[0], k[0], v[0], out[0]))

    layers = [m for m in encoder.modules() if isinstance(m, Attention)]
    for layer in layers:
        layer.probe = probe
    try:
        yield records
    finally:
        for layer in layers:
            layer.probe = None


def attention_rows(q: Tensor, k: Tensor, rows: slice) -> Tensor:
    """softmax(q[rows] k^T / sqrt(d)) in float32: q, k (heads, N, d) -> (heads, r, N)."""
    scale = q.shape[-1] ** -0.5
    return (q[:, rows].float() @ k.float().transpose(-2, -1) * scale).softmax(dim=-1)


def _row_chunks(n: int) -> Iterator[slice]:
    for start in range(0, n, ROW_CHUNK):
        yield slice(start, min(start + ROW_CHUNK, n))


def mean_row_readout(matrices: list[Tensor], residual: str) -> Tensor:
    """For each l, the mean row of the product through layers 1..l, computed top-down with vector products.
    ``residual="average"``: M_l = (A_l + I) / 2 (rollout). ``residual="add"``: M_l = I + A_l (relevance).
    matrices: L tensors (N, N) -> (L, N)."""
    n = matrices[0].shape[0]
    out = []
    for top in range(len(matrices)):
        v = torch.full((n,), 1.0 / n)
        for a in reversed(matrices[: top + 1]):
            v = 0.5 * (v + v @ a) if residual == "average" else v + v @ a
        out.append(v)
    return torch.stack(out)


@dataclass
class AttentionMaps:
    """What the attention panel draws, for one clip: cheap to slice by layer and head without the model."""

    q: Tensor  # (L, heads, N, d) captured queries
    k: Tensor  # (L, heads, N, d) captured keys
    received: Tensor  # (L, heads, N) mean attention each token receives
    rollout: Tensor  # (L, N) rollout through layers 1..l, mean-pooling readout; each row sums to 1

    @property
    def num_layers(self) -> int:
        return self.q.shape[0]

    @property
    def num_heads(self) -> int:
        return self.q.shape[1]

    def query(self, layer: int, token: int) -> Tensor:
        """Where token ``token`` looks in ``layer``: (heads, N), rows sum to 1."""
        return attention_rows(self.q[layer], self.k[layer], slice(token, token + 1))[:, 0]


def maps_from_capture(records: list[Captured]) -> AttentionMaps:
    """Attention received and rollout for every layer from captured q/k, in row chunks."""
    received, fused = [], []
    for rec in records:
        heads, n, _ = rec.q.shape
        total = torch.zeros(heads, n)
        mean_heads = torch.empty(n, n)
        for rows in _row_chunks(n):
            a = attention_rows(rec.q, rec.k, rows)  # (heads, r, N)
            total += a.sum(dim=1)
            mean_heads[rows] = a.mean(dim=0)
        received.append(total / n)
        fused.append(mean_heads)
    return AttentionMaps(q=torch.stack([r.q.float() for r in records]), k=torch.stack([r.k.float() for r in records]),
                         received=torch.stack(received), rollout=mean_row_readout(fused, "average"))


def class_relevance(classifier: VideoMAEForVideoClassification, pixel_values: Tensor, class_id: int) -> Tensor:
    """Chefer et al.'s relevance of every token for one class, through layers 1..l: (L, N), the mean row of R - I.
    Needs one forward and one backward pass. pixel_values (1, T, 3, H, W) float32."""
    with torch.enable_grad(), capture(classifier.videomae, with_grad=True) as records:
        logits = classifier(pixel_values).logits  # (1, num_labels)
        logits[0, class_id].backward()
    classifier.zero_grad(set_to_none=True)
    weighted = []
    for rec in records:
        grad_out = rec.out.grad[0].float()  # (heads, N, d)
        n = rec.q.shape[1]
        layer = torch.empty(n, n)
        for rows in _row_chunks(n):
            a = attention_rows(rec.q, rec.k, rows)  # (heads, r, N)
            grad_a = grad_out[:, rows] @ rec.v.float().transpose(-2, -1)  # d logit / d A, (heads, r, N)
            layer[rows] = (grad_a * a).clamp(min=0).mean(dim=0)
        weighted.append(layer)
    return mean_row_readout(weighted, "add") - 1.0 / len(weighted[0])


def temporal_profile(token_map: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """Share of a map's mass in each time slice: (N,) -> (t,), summing to 1."""
    per_slice = token_map.reshape(grid[0], -1).sum(dim=1)
    return per_slice / per_slice.sum().clamp(min=1e-12)
