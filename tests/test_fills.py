"""The classical fills: each reads visible pixels only, and each does what its name says."""

from __future__ import annotations

import math

import pytest
import torch

from tests.tiny import TINY
from videomae_viz.config import VideoMAEConfig
from videomae_viz.fills import Widths, choose_widths, copy_fill, copy_sources, interpolation_fill, mean_fill
from videomae_viz.masking import make_mask
from videomae_viz.patches import tokens_to_pixels
from videomae_viz.reconstruction import psnr

GRID = VideoMAEConfig(image_size=64, patch_size=8, num_frames=8, tubelet_size=2)
MASK = make_mask("tube", TINY.grid, 0.75, seed=0)


def smooth_clip(config: VideoMAEConfig, moving: bool = True) -> torch.Tensor:
    """(T, 3, H, W) in [0, 1]: low-frequency colour waves, drifting over time when ``moving``."""
    side = config.image_size
    y, x = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    frames = []
    for t in range(config.num_frames):
        shift = 0.15 * t if moving else 0.0
        frames.append(torch.stack([(torch.sin(5 * x + shift) + 1) / 2, (torch.cos(4 * y - shift) + 1) / 2, x * y]))
    return torch.stack(frames)


def masked_psnr(filled: torch.Tensor, pixels: torch.Tensor, mask: torch.Tensor, config: VideoMAEConfig) -> float:
    hidden = tokens_to_pixels(mask, config)[:, None].expand_as(pixels)
    return psnr(float((filled - pixels)[hidden].square().mean()))


def test_mean_fill_uses_the_mean_colour_of_visible_patches_of_each_frame():
    pixels = torch.rand(TINY.num_frames, 3, TINY.image_size, TINY.image_size)
    filled = mean_fill(pixels, MASK, TINY)
    pixel_mask = tokens_to_pixels(MASK, TINY)  # (T, H, W)
    for f in range(TINY.num_frames):
        visible_mean = pixels[f][:, ~pixel_mask[f]].mean(dim=1)  # (3,)
        assert torch.allclose(filled[f][:, pixel_mask[f]], visible_mean[:, None].expand(3, int(pixel_mask[f].sum())), atol=1e-5)
        assert torch.equal(filled[f][:, ~pixel_mask[f]], pixels[f][:, ~pixel_mask[f]])


@pytest.mark.parametrize("strategy,ratio", [("tube", 0.9), ("random", 0.75), ("frame", 0.5), ("running-cell", 0.5)])
def test_interpolation_reads_only_visible_pixels(strategy, ratio):
    mask = make_mask(strategy, GRID.grid, ratio, seed=1)
    pixels = smooth_clip(GRID)
    hidden = tokens_to_pixels(mask, GRID)[:, None].expand_as(pixels)
    scrambled = torch.where(hidden, torch.rand_like(pixels), pixels)
    assert choose_widths(pixels, mask, GRID) == choose_widths(scrambled, mask, GRID)
    assert torch.equal(interpolation_fill(pixels, mask, GRID), interpolation_fill(scrambled, mask, GRID))
    assert torch.equal(copy_fill(pixels, mask, GRID)[0], copy_fill(scrambled, mask, GRID)[0])


@pytest.mark.parametrize("strategy,ratio", [("tube", 0.75), ("random", 0.75)])
def test_interpolation_beats_the_mean_colour_on_smooth_content(strategy, ratio):
    mask = make_mask(strategy, GRID.grid, ratio, seed=0)
    pixels = smooth_clip(GRID)
    gain = (masked_psnr(interpolation_fill(pixels, mask, GRID), pixels, mask, GRID)
            - masked_psnr(mean_fill(pixels, mask, GRID), pixels, mask, GRID))
    assert gain > 3.0


def test_interpolation_of_a_constant_clip_is_exact_at_any_width():
    pixels = torch.full((GRID.num_frames, 3, GRID.image_size, GRID.image_size), 0.3)
    mask = make_mask("random", GRID.grid, 0.9, seed=0)
    for widths in (Widths(1.5, 0.0), Widths(24.0, 6.0)):
        assert torch.allclose(interpolation_fill(pixels, mask, GRID, widths), pixels, atol=1e-6)


def test_temporal_widths_reach_across_hidden_slices():
    """Frame masking hides whole slices: only a temporal width can fill them from their neighbours."""
    pixels = smooth_clip(GRID, moving=False)
    mask = make_mask("frame", GRID.grid, 0.5, seed=0)
    spatial = interpolation_fill(pixels, mask, GRID, temporal=(0.0,))
    chosen = interpolation_fill(pixels, mask, GRID)
    assert masked_psnr(chosen, pixels, mask, GRID) > masked_psnr(spatial, pixels, mask, GRID) + 10


def test_copy_sources_point_at_the_nearest_visible_slice_of_the_same_position():
    t, h, w = GRID.grid
    mask = make_mask("random", GRID.grid, 0.75, seed=3)
    sources = copy_sources(mask, GRID.grid)
    assert bool((sources[~mask] == -1).all())
    hidden = mask.reshape(t, h * w)
    for n in torch.nonzero(mask).flatten().tolist():
        slice_, cell = divmod(n, h * w)
        visible_slices = [s for s in range(t) if not hidden[s, cell]]
        if not visible_slices:
            assert sources[n] == -1
            continue
        nearest = min(visible_slices, key=lambda s: (abs(s - slice_), s))
        assert sources[n] == nearest * h * w + cell


def test_nothing_can_be_copied_under_tube_masking():
    mask = make_mask("tube", GRID.grid, 0.9, seed=0)
    assert bool((copy_sources(mask, GRID.grid) == -1).all())
    _, copied = copy_fill(smooth_clip(GRID), mask, GRID)
    assert not copied.any()


def test_copying_a_static_clip_under_random_masking_is_exact_where_it_copies():
    pixels = smooth_clip(GRID, moving=False)
    mask = make_mask("random", GRID.grid, 0.75, seed=0)
    filled, copied = copy_fill(pixels, mask, GRID)
    assert copied.sum() > 0.5 * mask.sum()
    region = tokens_to_pixels(copied, GRID)[:, None].expand_as(pixels)
    assert torch.equal(filled[region], pixels[region])
    assert masked_psnr(filled, pixels, copied, GRID) == psnr(0.0)
    assert math.isfinite(masked_psnr(filled, pixels, mask, GRID))
