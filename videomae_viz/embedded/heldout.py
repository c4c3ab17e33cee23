"""Held-out clips and the reconstruction score used while training and in the model card.

Three sets, none of it trained on:
- ``real``: clips cut from the held-out videos (``footage.HELD_OUT_VIDEOS``), written as MP4 and read back the way
  the app reads a clip (16 frames at a stride of 4, a window centred in the clip);
- ``photos``: one camera-motion clip of each held-out photograph;
- ``generated``: generated motion clips from a seed no training stage uses.

Scores are leak-free masked-patch PSNR at mask seed 0, against the mean fill, the interpolation chosen from the
visible pixels, and the best interpolation of the candidate widths (chosen with the hidden pixels: a bound for
smoothing, not a method).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..fills import SPATIAL_SIGMAS, TEMPORAL_SIGMAS, Widths, interpolation_fill, mean_fill
from ..masking import make_mask
from ..model import VideoMAEForPreTraining
from ..preprocess import VideoMAEProcessor
from ..reconstruction import masked_psnr, predict, view_inputs
from ..video_io import read_video, write_mp4
from ..views import square_views
from . import footage
from .clips import photo_motion
from .synthetic import make_pretrain_clip

REAL_STRIDE = 4  # how the app samples real clips for the embedded reconstructor
HELD_OUT_SEED = 7000
# (video name, first frame, frame count, x0, x1 as fractions of the width): the held-out real clips
REAL_CUTS = (("cup", 0, 72, 0.0, 0.5), ("cup", 0, 72, 0.5, 1.0), ("cup", 72, 72, 0.0, 0.5),
             ("cup", 72, 72, 0.5, 1.0), ("cup", 144, 72, 0.0, 0.5), ("cup", 144, 72, 0.5, 1.0),
             ("tree", 0, 68, 0.0, 1.0), ("cup", 0, 216, 0.0, 1.0))
GENERATED_CLIPS = 8


@dataclass
class HeldOut:
    """A set's clips as pixel values, with the fills' PSNRs cached per masking."""

    names: list[str]
    pixel_values: list[torch.Tensor]  # each (1, T, 3, S, S) float32
    fills: dict[tuple[str, float], dict[str, list[float]]] = field(default_factory=dict)


def write_real_clips(work: Path) -> list[Path]:
    """Cut the held-out videos into ``work``/held-out/*.mp4 (at their source resolution and frame rate)."""
    folder = work / "held-out"
    folder.mkdir(parents=True, exist_ok=True)
    videos = {v.name: v for v in footage.HELD_OUT_VIDEOS}
    paths = []
    for name, first, count, x0, x1 in REAL_CUTS:
        path = folder / f"{name}_{first}_{count}_{int(100 * x0)}_{int(100 * x1)}.mp4"
        if not path.exists():
            source = footage.video_file(videos[name], work)
            rate = footage.frame_rate(source)
            frames = footage.decode_all(source, 480)[first:first + count]
            width = frames.shape[2]
            frames = frames[:, :, int(x0 * width) // 2 * 2:int(x1 * width) // 2 * 2]
            write_mp4(frames, path, fps=rate)
        paths.append(path)
    return paths


def held_out_sets(work: Path, processor: VideoMAEProcessor) -> dict[str, HeldOut]:
    """The three held-out sets, built once (the fills are scored lazily by ``score``)."""
    side = processor.crop_size["height"]
    paths = write_real_clips(work)
    real = [read_video(p, 16, stride=REAL_STRIDE).frames for p in paths]
    photos = footage.load_photos(work / "data", footage.HELD_OUT_PHOTOS)
    photo_clips = [photo_motion(np.random.default_rng([HELD_OUT_SEED, i]), photo, photos[(i + 1) % len(photos)],
                                16, side) for i, photo in enumerate(photos)]
    gen = np.random.default_rng(HELD_OUT_SEED)
    generated = [make_pretrain_clip(gen, num_frames=16, size=side) for _ in range(GENERATED_CLIPS)]
    names = {"real": [p.stem for p in paths], "photos": [p.name for p in footage.HELD_OUT_PHOTOS],
             "generated": [f"generated-{i}" for i in range(GENERATED_CLIPS)]}
    return {name: HeldOut(names[name], [processor(clip)["pixel_values"] for clip in clips])
            for name, clips in (("real", real), ("photos", photo_clips), ("generated", generated))}


def candidate_psnrs(pixels: torch.Tensor, mask: torch.Tensor, config) -> list[float]:
    """The masked-patch PSNR of the interpolation at every candidate width, scored with the hidden pixels known:
    the best of them is what smoothing could reach (a bound, not a method). pixels (T, 3, H, W) in [0, 1]."""
    return [masked_psnr(interpolation_fill(pixels, mask, config, Widths(s, t)), pixels, mask, config)
            for s in SPATIAL_SIGMAS for t in TEMPORAL_SIGMAS]


def _fill_scores(pixels: torch.Tensor, mask: torch.Tensor, config) -> dict[str, float]:
    return {"mean": masked_psnr(mean_fill(pixels, mask, config), pixels, mask, config),
            "interpolation": masked_psnr(interpolation_fill(pixels, mask, config), pixels, mask, config),
            "best_interpolation": max(candidate_psnrs(pixels, mask, config))}


@torch.inference_mode()
def score(model: VideoMAEForPreTraining, held: HeldOut, processor: VideoMAEProcessor, strategy: str,
          ratio: float) -> dict[str, float]:
    """Mean masked-patch PSNR of the decoder and of the fills over a set, at mask seed 0, and the decoder's gains.
    The decoder's prediction averages the views the checkpoint declares, as the app's does."""
    config = model.config
    views = square_views(config.reconstruction_views)
    mask = make_mask(strategy, config.grid, ratio, 0)  # (N,) bool
    key = (strategy, ratio)
    decoder = []
    fills = held.fills.setdefault(key, {"mean": [], "interpolation": [], "best_interpolation": []})
    for i, values in enumerate(held.pixel_values):
        pixels = processor.to_pixels(values)[0]  # (T, 3, S, S) in [0, 1]
        if len(fills["mean"]) <= i:
            for k, v in _fill_scores(pixels, mask, config).items():
                fills[k].append(v)
        inputs, masks = view_inputs(values, mask, config, views)  # (V, T, 3, S, S), (V, N)
        logits = model(inputs, bool_masked_pos=masks).logits  # (V, N_mask, P)
        predicted = predict(logits, values, mask, config, processor.image_mean, processor.image_std, views=views)
        decoder.append(masked_psnr(predicted, pixels, mask, config))
    out = {"psnr": float(np.mean(decoder)), **{k: float(np.mean(v)) for k, v in fills.items()}}
    out["over_mean"] = out["psnr"] - out["mean"]
    out["over_interpolation"] = out["psnr"] - out["interpolation"]
    out["over_best_interpolation"] = out["psnr"] - out["best_interpolation"]
    return {k: round(v, 3) for k, v in out.items()}
