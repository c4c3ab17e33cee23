"""Classical fills of the hidden patches: what a masked autoencoder has to beat.

Each fill reads the visible pixels only, never a hidden one:
- ``mean_fill``: the mean colour of the visible patches of the frame;
- ``interpolation_fill``: Gaussian normalised convolution of the visible pixels (a weighted blur that ignores the
  holes), spatial or spatio-temporal, its widths chosen per clip by hiding the *visible* patches a quarter at a time
  and scoring how well the rest predict them;
- ``copy_fill``: each hidden patch copied from the nearest time slice where the same patch position is visible. That
  is the shortcut random masking leaves open and tube masking closes.

All fills take frames (T, 3, H, W) float in [0, 1] and a token mask (N,) bool (True = masked) and return
(T, 3, H, W).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .config import VideoMAEConfig
from .patches import patchify, tokens_to_pixels, unpatchify

# Candidate widths of the interpolation: spatial sigma in pixels, temporal sigma in frames (0 = each frame alone).
SPATIAL_SIGMAS = (1.5, 3.0, 6.0, 12.0, 24.0)
TEMPORAL_SIGMAS = (0.0, 2.0, 6.0)
VALIDATION_FOLDS = 4  # the visible units are hidden a quarter at a time to choose the widths
VALIDATION_SEED = 0


def mean_fill(pixels: Tensor, mask: Tensor, config: VideoMAEConfig) -> Tensor:
    """Masked patches filled with the mean colour of the visible patches of their own frame (of the whole clip
    where a frame has none, as with frame masking)."""
    visible = (~tokens_to_pixels(mask, config)).to(pixels.dtype)[:, None]  # (T, 1, H, W)
    per_frame = (pixels * visible).sum(dim=(2, 3)) / visible.sum(dim=(2, 3)).clamp(min=1)  # (T, 3)
    clip_mean = (pixels * visible).sum(dim=(0, 2, 3)) / visible.sum(dim=(0, 2, 3)).clamp(min=1)  # (3,)
    has_visible = visible.flatten(1).amax(dim=1) > 0  # (T,)
    colour = torch.where(has_visible[:, None], per_frame, clip_mean)  # (T, 3)
    return pixels * visible + colour[:, :, None, None] * (1 - visible)


def _gaussian_matrix(n: int, sigma: float, dtype: torch.dtype) -> Tensor:
    """(n, n) unnormalised Gaussian weights exp(-d^2 / 2 sigma^2) between positions d apart, cut to zero beyond
    3 sigma, so that "no known pixel within reach" is an exact zero."""
    d = torch.arange(n, dtype=dtype)
    d = d[:, None] - d[None, :]
    return torch.where(d.abs() <= 3 * sigma, torch.exp(-0.5 * (d / sigma) ** 2), torch.zeros((), dtype=dtype))


def _normalised_convolution(pixels: Tensor, known: Tensor, spatial: float, temporal: float) -> Tensor:
    """sum(G * x * known) / sum(G * known) with a separable Gaussian G, as matrix products along each axis.
    pixels (T, 3, H, W), known (T, 1, H, W) float -> (T, 3, H, W); where no known pixel lies within reach, the known
    pixels' mean colour."""
    T, _, H, W = pixels.shape
    stacked = torch.cat([pixels * known, known], dim=1)  # (T, 4, H, W)
    stacked = stacked @ _gaussian_matrix(W, spatial, pixels.dtype)  # along W (the matrix is symmetric)
    stacked = _gaussian_matrix(H, spatial, pixels.dtype) @ stacked  # along H
    if temporal > 0:
        stacked = torch.einsum("ts,schw->tchw", _gaussian_matrix(T, temporal, pixels.dtype), stacked)
    weight = stacked[:, 3:]
    fallback = (pixels * known).sum(dim=(0, 2, 3)) / known.sum().clamp(min=1)  # (3,)
    return torch.where(weight > 0, stacked[:, :3] / weight.clamp(min=1e-30), fallback.view(1, 3, 1, 1))


def _validation_units(mask: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """(N,) long unit id per token, grouping visible tokens the way the mask groups hidden ones: whole tubes when
    the mask repeats in every time slice, whole slices when it hides whole slices, single tokens otherwise."""
    t, h, w = grid
    cells = mask.reshape(t, h * w)
    ids = torch.arange(t * h * w).reshape(t, h * w)
    if bool((cells == cells[:1]).all()):
        return ids % (h * w)
    if bool((cells.all(dim=1) | ~cells.any(dim=1)).all()):
        return ids // (h * w)
    return ids.flatten()


def _folds(mask: Tensor, grid: tuple[int, int, int]) -> list[Tensor]:
    """``VALIDATION_FOLDS`` disjoint sets of visible tokens, (N,) bool each, that together cover every visible unit
    (``_validation_units``) once; a fixed shuffle decides which unit goes where."""
    units = _validation_units(mask, grid).flatten()
    visible_units = units[~mask].unique()
    gen = torch.Generator().manual_seed(VALIDATION_SEED)
    shuffled = visible_units[torch.randperm(len(visible_units), generator=gen)]
    folds = [shuffled[i::VALIDATION_FOLDS] for i in range(min(VALIDATION_FOLDS, len(shuffled)))]
    return [torch.isin(units, fold) & ~mask for fold in folds] if len(shuffled) > 1 else []


@dataclass(frozen=True)
class Widths:
    """The Gaussian widths of an interpolation: spatial sigma in pixels, temporal sigma in frames (0 = per frame)."""

    spatial: float
    temporal: float


def _masked_mse(a: Tensor, b: Tensor, region: Tensor) -> float:
    """Mean squared error over the pixels of region (T, 1, H, W) bool."""
    diff = (a - b).square().mean(dim=1, keepdim=True)  # (T, 1, H, W)
    return float(diff[region].mean())


def choose_widths(pixels: Tensor, mask: Tensor, config: VideoMAEConfig,
                  temporal: tuple[float, ...] = TEMPORAL_SIGMAS) -> Widths:
    """The widths that best predict the visible patches from the other visible ones, each fold of them hidden in
    turn (``_folds``), squared errors summed over the folds. Reads visible pixels only."""
    folds = _folds(mask, config.grid)
    if not folds:
        return Widths(SPATIAL_SIGMAS[len(SPATIAL_SIGMAS) // 2], temporal[0])
    setups = [((~tokens_to_pixels(mask | held, config)).to(pixels.dtype)[:, None],  # (T, 1, H, W) known pixels
               tokens_to_pixels(held, config)[:, None]) for held in folds]  # (T, 1, H, W) bool, scored pixels
    scores = {}
    for s in SPATIAL_SIGMAS:
        for tau in temporal:
            scores[Widths(s, tau)] = sum(_masked_mse(_normalised_convolution(pixels, known, s, tau), pixels, region)
                                         for known, region in setups)
    return min(scores, key=scores.get)


def interpolation_fill(pixels: Tensor, mask: Tensor, config: VideoMAEConfig, widths: Widths | None = None,
                       temporal: tuple[float, ...] = TEMPORAL_SIGMAS) -> Tensor:
    """Masked patches filled by Gaussian normalised convolution of the visible pixels, with ``widths`` or, when not
    given, the widths ``choose_widths`` picks from the visible pixels (``temporal=(0.0,)`` keeps it spatial)."""
    widths = widths or choose_widths(pixels, mask, config, temporal)
    visible = (~tokens_to_pixels(mask, config)).to(pixels.dtype)[:, None]  # (T, 1, H, W)
    filled = _normalised_convolution(pixels, visible, widths.spatial, widths.temporal)
    return pixels * visible + filled * (1 - visible)


def copy_sources(mask: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """(N,) long: for each masked token, the token at the same spatial position in the nearest time slice where it
    is visible (the earlier slice on a tie); -1 where that position is hidden in every slice, and for visible
    tokens."""
    t, h, w = grid
    hidden = mask.reshape(t, h * w)
    slices = torch.arange(t)
    distance = (slices[:, None] - slices[None, :]).abs().float()  # (t, t') from slice t to t'
    distance = distance[:, :, None] + torch.where(hidden, math.inf, 0.0)[None]  # (t, t', h*w)
    nearest = distance.argmin(dim=1)  # (t, h*w), the earlier slice on a tie
    found = torch.isfinite(distance.amin(dim=1)) & hidden
    source = nearest * (h * w) + torch.arange(h * w)[None]
    return torch.where(found, source, -1).flatten()


def copy_fill(pixels: Tensor, mask: Tensor, config: VideoMAEConfig) -> tuple[Tensor, Tensor]:
    """Masked patches copied from the nearest slice where they are visible (``copy_sources``); patches with no such
    slice keep the mean fill. -> (filled (T, 3, H, W), copied (N,) bool)."""
    sources = copy_sources(mask, config.grid)
    copied = sources >= 0
    patches = patchify(mean_fill(pixels, mask, config)[None], config)[0]  # (N, P)
    original = patchify(pixels[None], config)[0]
    patches[copied] = original[sources[copied]]
    return unpatchify(patches[None], config)[0], copied
