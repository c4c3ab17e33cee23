"""Patch layout: (dt, dy, dx, c) inside a token, tokens in (t, h, w) order; exact inverses."""

from __future__ import annotations

import torch

from tests.tiny import TINY
from videomae_viz.patches import denormalize_patches, normalize_patches, patch_stats, patchify, unpatchify


def test_round_trip():
    frames = torch.rand(2, TINY.num_frames, 3, TINY.image_size, TINY.image_size)
    patches = patchify(frames, TINY)
    assert patches.shape == (2, TINY.num_patches, TINY.patch_dim)
    assert torch.equal(unpatchify(patches, TINY), frames)


def test_layout_matches_the_reference_order():
    frames = torch.rand(1, TINY.num_frames, 3, TINY.image_size, TINY.image_size)
    u, p = TINY.tubelet_size, TINY.patch_size
    t, h, w = TINY.grid
    patches = patchify(frames, TINY)
    n = 1 * (h * w) + 2 * w + 3  # token at time slice 1, row 2, column 3
    dt, dy, dx, c = 1, 5, 6, 2
    index = ((dt * p + dy) * p + dx) * 3 + c
    assert patches[0, n, index] == frames[0, 1 * u + dt, c, 2 * p + dy, 3 * p + dx]


def test_normalisation_inverts():
    patches = patchify(torch.rand(2, TINY.num_frames, 3, TINY.image_size, TINY.image_size), TINY)
    mean, std = patch_stats(patches, TINY)
    assert mean.shape == (2, TINY.num_patches, 3)
    normed = normalize_patches(patches, mean, std, TINY)
    per_channel = normed.unflatten(-1, (-1, 3))
    assert per_channel.mean(-2).abs().max() < 1e-5
    assert torch.allclose(denormalize_patches(normed, mean, std, TINY), patches, atol=1e-6)
