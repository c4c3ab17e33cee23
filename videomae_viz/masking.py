"""Token masks. Convention everywhere: a ``bool`` tensor of shape (N,) or (B, N), True = masked (hidden from the
encoder), False = visible, in token order n = t*h*w index (see ``config``).

Strategies and their exact masked counts for a grid (t, h, w) and ratio r:
- ``tube``: one spatial pattern of int(r*h*w) cells repeated in every time slice (VideoMAE) -> t*int(r*h*w).
- ``random``: int(r*N) tokens anywhere -> int(r*N).
- ``frame``: int(r*t) whole time slices -> int(r*t)*h*w.
- ``running-cell``: VideoMAE v2's running cell: a 2x2 cell with int(4*r) masked slots, rotated by one slot per time
  slice and tiled over the grid (cropped where h or w is odd) -> t*h*w*int(4*r)/4 when h and w are even or t is a
  multiple of 4; otherwise the count depends on the seed's starting slot, and ``masked_count`` takes the seed.
"""

from __future__ import annotations

import torch
from torch import Tensor

STRATEGIES = ("tube", "random", "frame", "running-cell")


def _check(strategy: str, ratio: float) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown masking strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")


def _running_cell_pattern(grid: tuple[int, int, int], ratio: float, start: int) -> Tensor:
    """(t, h, w) bool: the 2x2 cell queue [masked]*m + [kept]*(4-m), rotated one slot further per time slice."""
    t, h, w = grid
    m = int(4 * ratio)
    queue = torch.tensor([True] * m + [False] * (4 - m))
    slices = []
    for i in range(t):
        cell = queue.roll(-(start + i + 1)).reshape(2, 2)  # element j = queue[(j + pointer) % 4]
        slices.append(cell.repeat((h + 1) // 2, (w + 1) // 2)[:h, :w])
    return torch.stack(slices)


def _running_cell_start(seed: int) -> int:
    """Which of the 4 precomputed running-cell maps a seed picks, as VideoMAE v2 draws one at random."""
    return int(torch.randint(4, (1,), generator=torch.Generator().manual_seed(seed)))


def make_mask(strategy: str, grid: tuple[int, int, int], ratio: float, seed: int = 0) -> Tensor:
    """A reproducible mask for one clip: (N,) bool, True = masked, N = t*h*w."""
    _check(strategy, ratio)
    t, h, w = grid
    gen = torch.Generator().manual_seed(seed)
    if strategy == "tube":
        cells = torch.zeros(h * w, dtype=torch.bool)
        cells[torch.randperm(h * w, generator=gen)[: int(ratio * h * w)]] = True
        return cells.repeat(t)
    if strategy == "random":
        mask = torch.zeros(t * h * w, dtype=torch.bool)
        mask[torch.randperm(t * h * w, generator=gen)[: int(ratio * t * h * w)]] = True
        return mask
    if strategy == "frame":
        slices = torch.zeros(t, dtype=torch.bool)
        slices[torch.randperm(t, generator=gen)[: int(ratio * t)]] = True
        return slices.repeat_interleave(h * w)
    return _running_cell_pattern(grid, ratio, _running_cell_start(seed)).flatten()


def drawn_mask(cells: Tensor, slices: int) -> Tensor:
    """A mask a person drew: (h, w) bool cells, True = hidden, extended through all ``slices`` time slices as tubes
    -> (N,) bool, N = slices*h*w, in the same token order as ``make_mask``."""
    if cells.dtype != torch.bool or cells.dim() != 2:
        raise ValueError(f"drawn cells must be a 2-D bool tensor, got {tuple(cells.shape)} {cells.dtype}")
    return cells.flatten().repeat(slices)


def make_batch_masks(strategy: str, grid: tuple[int, int, int], ratio: float, seeds: list[int]) -> Tensor:
    """(B, N) bool, one mask per seed; every row has the same masked count, as the model requires."""
    return torch.stack([make_mask(strategy, grid, ratio, s) for s in seeds])


def masked_count(strategy: str, grid: tuple[int, int, int], ratio: float, seed: int = 0) -> int:
    """The exact number of masked tokens ``make_mask`` produces for these settings (the seed matters only for
    running-cell on odd grids)."""
    _check(strategy, ratio)
    t, h, w = grid
    if strategy == "tube":
        return t * int(ratio * h * w)
    if strategy == "random":
        return int(ratio * t * h * w)
    if strategy == "frame":
        return int(ratio * t) * h * w
    return int(_running_cell_pattern(grid, ratio, _running_cell_start(seed)).sum())


def mask_grid(mask: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """(N,) or (B, N) bool -> (..., t, h, w) bool, for drawing and for per-slice statistics."""
    return mask.reshape(*mask.shape[:-1], *grid)
