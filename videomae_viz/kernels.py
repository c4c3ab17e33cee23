"""How attention is computed: the kernel choices behind ``model.Attention``, in one place.

``attend`` picks a path for softmax(q k^T / sqrt(d)) v: torch's fused SDPA; blocked attention (query rows in blocks
through one reused score buffer) for bf16 inference on CPUs without AMX tiles, and whenever a probe watches the
softmax rows (``attention.recording``); or the manual path, which materialises the scores and which the tests prove
equal to the fused one. A device-specific kernel (a GPU path) belongs here, not in the architecture.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# One switch for every attention layer: fused (SDPA, or blocked attention for bf16 inference on CPUs without AMX) or
# the manual softmax path, which the tests prove equal.
FUSED_ATTN = os.environ.get("VIDEOMAE_VIZ_FUSED_ATTN", "1") != "0"
QUERY_BLOCK = 392  # query rows per block of blocked attention: a quarter of ViT-B's 1568 tokens (14 MB of bf16 scores)
# bf16 inference takes blocked attention where torch's fused CPU kernel gains nothing from bf16: that kernel runs bf16
# on AMX tiles where the CPU has them, faster than blocked attention there, and is no faster in bf16 than in fp32
# elsewhere (measured: docs/runtime-experiments.md).
BLOCKED_BF16 = not getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()



@dataclass(frozen=True)
class AttentionProbe:
    """What a probe sees of one attention layer's forward pass, so attention maps need not be materialised.

    ``tensors`` gets the layer's queries, keys, values and per-head output, (B, heads, N, head_dim) each, after the
    attention. ``rows``, when set, gets every block of softmax rows as the layer computes them: the block's slice of
    query rows and its (B, heads, r, N) probabilities, in the autocast dtype. It makes the layer run
    ``blocked_attention``, so it is for inference only."""

    tensors: Callable[[Tensor, Tensor, Tensor, Tensor], None] | None = None
    rows: Callable[[slice, Tensor], None] | None = None


# The probes are kept per thread (a context variable), not on the shared modules: two requests running the same model
# at once each record only their own forward pass.
_PROBES: ContextVar[Mapping[nn.Module, AttentionProbe]] = ContextVar("attention_probes", default=MappingProxyType({}))


@contextmanager
def probing(probes: Mapping[nn.Module, AttentionProbe]) -> Iterator[None]:
    """Let each attention layer of ``probes`` call its probe during the forward passes this thread runs inside the
    block."""
    token = _PROBES.set(MappingProxyType({**_PROBES.get(), **probes}))
    try:
        yield
    finally:
        _PROBES.reset(token)


def attention_block(q: Tensor, k: Tensor, rows: slice, out: Tensor) -> Tensor:
    """Rows ``rows`` of softmax(q k^T / sqrt(d)), written into ``out`` (..., r, N) and returned; q, k (..., N, d) of
    out's dtype. One matmul, then softmax in place, so callers streaming blocks of rows through one buffer allocate
    nothing per block. Writes into a buffer: no autograd."""
    torch.matmul(q[..., rows, :] * q.shape[-1] ** -0.5, k.transpose(-2, -1), out=out)
    return torch.softmax(out, dim=-1, out=out)


def blocked_attention(q: Tensor, k: Tensor, v: Tensor, block: int = QUERY_BLOCK,
                      observe: Callable[[slice, Tensor], None] | None = None) -> Tensor:
    """softmax(q k^T / sqrt(d)) v in the inputs' dtype, ``block`` query rows at a time through one reused score
    buffer: q, k, v (B, nh, N, hd) -> (B, nh, N, hd). ``observe(rows, probabilities)`` sees each block's softmax
    rows (B, nh, r, N) before the buffer is reused. Inference only (``attention_block``)."""
    B, nh, N, _ = q.shape
    buffer = q.new_empty(B * nh * min(block, N) * N)  # storage of one (B, nh, block, N) score block
    out = []
    for start in range(0, N, block):
        rows = slice(start, min(start + block, N))
        scores = buffer[:B * nh * (rows.stop - start) * N].view(B, nh, rows.stop - start, N)  # (B, nh, r, N)
        probabilities = attention_block(q, k, rows, scores)  # (B, nh, r, N)
        if observe is not None:
            observe(rows, probabilities)
        out.append(probabilities @ v)  # (B, nh, r, hd)
    return torch.cat(out, dim=2)


def active_probe(layer: nn.Module) -> AttentionProbe | None:
    """The probe this thread set on ``layer`` (``probing``), if any."""
    return _PROBES.get().get(layer)


def attend(q: Tensor, k: Tensor, v: Tensor, fused: bool, probe: AttentionProbe | None = None) -> Tensor:
    """softmax(q k^T / sqrt(d)) v for q, k, v (B, nh, N, hd) -> (B, nh, N, hd), by the path the layer's ``fused``
    switch, the dtype, the device, autograd and the probe call for (see the module docstring)."""
    observe = probe.rows if probe is not None else None
    if observe is not None:
        return blocked_attention(q, k, v, observe=observe)
    if fused and BLOCKED_BF16 and q.dtype == torch.bfloat16 and q.device.type == "cpu" and not torch.is_grad_enabled():
        return blocked_attention(q, k, v)
    if fused:
        return F.scaled_dot_product_attention(q, k, v)
    attn = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5  # (B, nh, N, N)
    return attn.float().softmax(dim=-1).to(v.dtype) @ v
