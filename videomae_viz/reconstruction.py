"""From decoder predictions to pixels and scores, without peeking at the hidden patches unless asked to.

The pre-training target lives in "target space": ``pixel_values`` un-normalised with ImageNet statistics (see
``patches.target_frames``), per-patch normalised when ``norm_pix_loss``. Scores are computed in the model's input
pixels in [0, 1] (the resized, cropped frames), over masked patches only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .config import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, VideoMAEConfig
from .fills import copy_fill, interpolation_fill, mean_fill
from .patches import denormalize_patches, patch_stats, patchify, target_frames, unpatchify
from .views import apply_view, undo_view

# How a norm_pix_loss prediction gets its per-patch mean/std back.
STATS_PAPER = "paper"  # the hidden patches' true statistics, as the official visualisation does (leaks)
STATS_LEAK_FREE = "leak-free"  # estimated from visible neighbours only
STATS_MODES = (STATS_PAPER, STATS_LEAK_FREE)


def token_coords(config: VideoMAEConfig) -> Tensor:
    """(N, 3) float grid coordinates (t, y, x) of every token, in token order."""
    t, h, w = config.grid
    grid = torch.stack(torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij"), dim=-1)
    return grid.reshape(-1, 3).float()


def neighbour_stats(mean: Tensor, std: Tensor, mask: Tensor, config: VideoMAEConfig) -> tuple[Tensor, Tensor]:
    """Leak-free statistics for masked tokens: an inverse-squared-distance average over the visible tokens'
    statistics, distances measured in token-grid units. mean, std (N, C); mask (N,) bool -> two (N_mask, C).
    Only rows of visible tokens are read."""
    coords = token_coords(config)
    d2 = torch.cdist(coords[mask], coords[~mask]).square()  # (N_mask, N_vis)
    weights = 1.0 / d2
    weights = weights / weights.sum(dim=1, keepdim=True)
    return weights @ mean[~mask], weights @ std[~mask]


def target_to_input_pixels(frames: Tensor, image_mean: tuple[float, ...], image_std: tuple[float, ...]) -> Tensor:
    """Target-space frames (..., 3, H, W) -> the processor's [0, 1] input pixels. The identity when the processor
    normalises with ImageNet statistics; exact for any other mean/std (e.g. the 0.5/0.5 of hub processors)."""
    def column(values: tuple[float, ...]) -> Tensor:
        return torch.tensor(values, dtype=frames.dtype).view(3, 1, 1)

    normalised = (frames - column(IMAGENET_DEFAULT_MEAN)) / column(IMAGENET_DEFAULT_STD)
    return normalised * column(image_std) + column(image_mean)


@dataclass
class Reconstruction:
    """One clip's reconstruction, all in the model's input pixels: float (T, 3, H, W) in [0, 1]."""

    original: Tensor
    predicted: Tensor  # the decoder's pixels (averaged over ``views``) at masked patches, the original at visible ones
    baseline: Tensor  # masked patches filled with the mean colour of their frame's visible patches
    interpolation: Tensor  # masked patches filled by Gaussian interpolation of the visible pixels (``fills``)
    mask: Tensor  # (N,) bool, True = masked
    patch_error: Tensor  # (N,) mean squared error per token; 0 at visible tokens
    psnr: float | None  # over masked patches; None when nothing is masked
    baseline_psnr: float | None
    interpolation_psnr: float | None
    copy_psnr: float | None  # copying each hidden patch from the nearest slice where it is visible; None if none is
    views: int = 1  # how many mirrored views of the masked clip the prediction averages (``views.square_views``)


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB for signals in [0, 1]."""
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def token_errors(frames: Tensor, original: Tensor, config: VideoMAEConfig) -> Tensor:
    """Mean squared error per token of (T, 3, H, W) frames against the original -> (N,) float."""
    return (patchify(frames[None], config)[0] - patchify(original[None], config)[0]).square().mean(dim=1)


def masked_psnr(frames: Tensor, original: Tensor, mask: Tensor, config: VideoMAEConfig) -> float:
    """PSNR of (T, 3, H, W) frames in [0, 1] over the pixels of the masked tokens, mask (N,) bool."""
    return psnr(float(token_errors(frames, original, config)[mask].mean()))


def _to_pixels(patches: Tensor, config: VideoMAEConfig, image_mean: tuple[float, ...],
               image_std: tuple[float, ...]) -> Tensor:
    """(N, P) in target space -> (T, 3, H, W) input pixels in [0, 1]."""
    return target_to_input_pixels(unpatchify(patches[None], config)[0], image_mean, image_std).clamp(0, 1)


def view_inputs(pixel_values: Tensor, mask: Tensor, config: VideoMAEConfig,
                views: Sequence[tuple[str, ...]]) -> tuple[Tensor, Tensor]:
    """The decoder's inputs for each view (``views.square_views``): pixel_values (1, T, 3, H, W), mask (N,) bool ->
    ((V, T, 3, H, W), (V, N) bool), the mask of each view hiding the view of the same patches."""
    grid = mask.view(config.grid)  # (t, h, w)
    return (torch.cat([apply_view(pixel_values, view) for view in views]),
            torch.stack([apply_view(grid, view).reshape(-1) for view in views]))


def predict(logits: Tensor, pixel_values: Tensor, mask: Tensor, config: VideoMAEConfig,
            image_mean: tuple[float, ...], image_std: tuple[float, ...], stats: str = STATS_LEAK_FREE,
            views: Sequence[tuple[str, ...]] = ((),)) -> Tensor:
    """Decoder output -> the predicted clip: (T, 3, H, W) float32 in [0, 1], visible patches as given.

    logits (V, N_mask, P) from ``VideoMAEForPreTraining`` on ``view_inputs``; pixel_values (1, T, 3, H, W) as given
    to ``view_inputs``; mask (N,) bool. Each view's prediction is mapped back to the clip and the views are averaged.
    ``stats`` matters only for ``norm_pix_loss`` models: "leak-free" estimates each hidden patch's mean/std from
    visible neighbours, "paper" uses the hidden patches' true statistics (what the official visualisation shows).
    """
    if stats not in STATS_MODES:
        raise ValueError(f"stats must be one of {STATS_MODES}, got {stats!r}")
    if len(logits) != len(views):
        raise ValueError(f"{len(logits)} predictions for {len(views)} views")
    inputs, masks = view_inputs(pixel_values.float(), mask, config, views)  # (V, T, 3, H, W), (V, N)
    predictions = []
    for view, pred, values, hidden in zip(views, logits.float(), inputs, masks):  # pred (N_mask, P)
        target = patchify(target_frames(values[None]), config)[0]  # (N, P), target space, un-normalised
        if config.norm_pix_loss:
            mean, std = patch_stats(target[None], config)  # (1, N, C) each
            mean, std = mean[0], std[0]
            if stats == STATS_LEAK_FREE:
                hidden_mean, hidden_std = neighbour_stats(mean, std, hidden, config)
            else:
                hidden_mean, hidden_std = mean[hidden], std[hidden]
            pred = denormalize_patches(pred[None], hidden_mean[None], hidden_std[None], config)[0]
        full = target.clone()
        full[hidden] = pred
        predictions.append(undo_view(_to_pixels(full, config, image_mean, image_std), view))  # (T, 3, H, W)
    return torch.stack(predictions).mean(dim=0)


def reconstruct(logits: Tensor, pixel_values: Tensor, mask: Tensor, config: VideoMAEConfig,
                image_mean: tuple[float, ...], image_std: tuple[float, ...],
                stats: str = STATS_LEAK_FREE, views: Sequence[tuple[str, ...]] = ((),)) -> Reconstruction:
    """Decoder output -> pixels and scores for one clip: ``predict``'s clip beside the classical fills.

    logits (V, N_mask, P), pixel_values (1, T, 3, H, W), mask (N,) bool, ``stats`` and ``views`` as for ``predict``.
    """
    predicted = predict(logits, pixel_values, mask, config, image_mean, image_std, stats, views)
    target = patchify(target_frames(pixel_values.float()), config)[0]  # (N, P)

    def score(frames: Tensor) -> float | None:
        return masked_psnr(frames, original, mask, config) if scored else None

    original = _to_pixels(target, config, image_mean, image_std)
    scored = bool(mask.any())
    baseline = mean_fill(original, mask, config)
    interpolation = interpolation_fill(original, mask, config) if scored else original
    copied, was_copied = copy_fill(original, mask, config)
    return Reconstruction(original=original, predicted=predicted, baseline=baseline, interpolation=interpolation,
                          mask=mask, patch_error=token_errors(predicted, original, config), psnr=score(predicted),
                          baseline_psnr=score(baseline), interpolation_psnr=score(interpolation),
                          copy_psnr=score(copied) if bool(was_copied.any()) else None, views=len(views))
