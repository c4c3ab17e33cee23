"""Patchify / unpatchify and per-patch normalisation: the layout of VideoMAE's pixel target.

A token's patch vector holds u*p*p*C values in (dt, dy, dx, c) order, channel fastest (reference 1.8). This is
not the Conv3d weight layout (C, u, p, p): the tubelet embedding reorders its weights to this layout.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .config import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, VideoMAEConfig


def patchify(frames: Tensor, config: VideoMAEConfig) -> Tensor:
    """(B, T, C, H, W) float -> (B, N, P) patch vectors in token order, (dt, dy, dx, c) inside a vector."""
    B, T, C, H, W = frames.shape
    u, p = config.tubelet_size, config.patch_size
    x = frames.reshape(B, T // u, u, C, H // p, p, W // p, p)  # (B, t, u, C, h, p, w, p)
    x = x.permute(0, 1, 4, 6, 2, 5, 7, 3)  # (B, t, h, w, u, p, p, C)
    return x.reshape(B, (T // u) * (H // p) * (W // p), u * p * p * C)


def unpatchify(patches: Tensor, config: VideoMAEConfig) -> Tensor:
    """(B, N, P) patch vectors -> (B, T, C, H, W); the inverse of ``patchify``."""
    B = patches.shape[0]
    t, h, w = config.grid
    u, p, C = config.tubelet_size, config.patch_size, config.num_channels
    x = patches.reshape(B, t, h, w, u, p, p, C)
    x = x.permute(0, 1, 4, 7, 2, 5, 3, 6)  # (B, t, u, C, h, p, w, p)
    return x.reshape(B, t * u, C, h * p, w * p)


def patch_stats(patches: Tensor, config: VideoMAEConfig) -> tuple[Tensor, Tensor]:
    """Per-token, per-channel mean and unbiased std of (B, N, P) patches -> two (B, N, C) tensors."""
    x = patches.unflatten(-1, (-1, config.num_channels))  # (B, N, u*p*p, C)
    return x.mean(dim=-2), x.var(dim=-2, unbiased=True).sqrt()


def normalize_patches(patches: Tensor, mean: Tensor, std: Tensor, config: VideoMAEConfig) -> Tensor:
    """(B, N, P) -> (x - mean) / (std + 1e-6) per token and channel; mean/std (B, N, C) as from ``patch_stats``."""
    x = patches.unflatten(-1, (-1, config.num_channels))  # (B, N, u*p*p, C)
    return ((x - mean.unsqueeze(-2)) / (std.unsqueeze(-2) + 1e-6)).flatten(-2)


def denormalize_patches(patches: Tensor, mean: Tensor, std: Tensor, config: VideoMAEConfig) -> Tensor:
    """Inverse of ``normalize_patches``: (B, N, P) -> x * (std + 1e-6) + mean."""
    x = patches.unflatten(-1, (-1, config.num_channels))  # (B, N, u*p*p, C)
    return (x * (std.unsqueeze(-2) + 1e-6) + mean.unsqueeze(-2)).flatten(-2)


def target_frames(pixel_values: Tensor) -> Tensor:
    """The frames the pre-training loss reconstructs: (B, T, 3, H, W) ``pixel_values`` un-normalised with the ImageNet
    default mean/std, whatever statistics the processor used (as the reference computes it)."""
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN, dtype=pixel_values.dtype, device=pixel_values.device)
    std = torch.tensor(IMAGENET_DEFAULT_STD, dtype=pixel_values.dtype, device=pixel_values.device)
    return pixel_values * std.view(1, 1, 3, 1, 1) + mean.view(1, 1, 3, 1, 1)


def tokens_to_pixels(values: Tensor, config: VideoMAEConfig) -> Tensor:
    """Per-token values (N,) of any dtype -> (T, H, W) per pixel, each token's value repeated over its tubelet
    (nearest-neighbour upsampling: u frames x p x p pixels). Used for masks, error maps and attention maps."""
    t, h, w = config.grid
    u, p = config.tubelet_size, config.patch_size
    grid = values.reshape(t, h, w)
    return grid.repeat_interleave(u, 0).repeat_interleave(p, 1).repeat_interleave(p, 2)  # (T, H, W)


def cell_motion(frames: Tensor, patch: int) -> Tensor:
    """How much each patch-grid cell changes over time: (T, H, W, C) uint8 or float frames -> (H/p, W/p) float32,
    the mean absolute difference between consecutive frames inside the cell, on the 0-255 scale of the input."""
    change = (frames[1:].float() - frames[:-1].float()).abs().mean(dim=(0, 3))  # (H, W)
    H, W = change.shape
    return change.reshape(H // patch, patch, W // patch, patch).mean(dim=(1, 3))
