"""The analysis pipeline shared by the CLI and the app: decode -> preprocess -> classify -> mask + reconstruct.

``VideoMAEPipeline`` holds a classifier and a pre-trained autoencoder with their processors; ``analyze`` runs one
clip and returns an ``Analysis`` of numpy arrays and numbers, timed per stage. Rendering lives in ``render``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .attention import AttentionMaps, class_relevance, maps_from_records, recording
from .checkpoints import CheckpointError, load_model
from .config import VideoMAEConfig
from .devices import resolve_device
from .masking import STRATEGIES, make_mask
from .model import VideoMAEForPreTraining, VideoMAEForVideoClassification
from .patches import tokens_to_pixels
from .preprocess import VideoMAEProcessor, load_processor
from .reconstruction import STATS_LEAK_FREE, STATS_MODES, STATS_PAPER, Reconstruction, reconstruct, view_inputs
from .video_io import Clip, VideoReadError, read_video
from .views import square_views, symmetric_views, view_average, view_count

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    """A classifier and a reconstructor, and how a clip's frames are sampled for them unless the user says otherwise:
    ``stride`` source frames apart in a window centred in the clip (a clip too short for it is spread evenly), or
    spread evenly over the clip when ``stride`` is None, as the models were trained."""

    classifier: str
    reconstructor: str
    stride: int | None
    sampling: str  # the same, in words, for the UI and the CLI's help


_GENERATED = "16 frames spread evenly over the clip, as the generated training clips were made"
_KINETICS = "16 frames 4 apart in a window centred in the clip (VideoMAE's Kinetics 16 x 4 sampling)"
_SSV2 = "16 frames spread evenly over the clip (VideoMAE's Something-Something sampling)"
# The MCG-NJU checkpoints are CC-BY-NC-4.0 and need the hub (or its cache).
PRESETS: dict[str, Preset] = {
    "embedded": Preset("motion-tiny", "video-tiny-pretrain", 4,
                       "16 frames 4 apart in a window centred in the clip, as the reconstructor was trained on real "
                       "footage (a clip shorter than that window is spread evenly)"),
    "embedded-motion": Preset("motion-tiny", "motion-tiny-pretrain", None, _GENERATED),
    "videomae-base-kinetics": Preset("MCG-NJU/videomae-base-finetuned-kinetics", "MCG-NJU/videomae-base", 4, _KINETICS),
    "videomae-base-ssv2": Preset("MCG-NJU/videomae-base-finetuned-ssv2", "MCG-NJU/videomae-base-ssv2", None, _SSV2),
    "videomae-large-kinetics": Preset("MCG-NJU/videomae-large-finetuned-kinetics", "MCG-NJU/videomae-large", 4,
                                      _KINETICS),
}
DEFAULT_PRESET = "embedded"
SPREAD = 0  # a Settings.stride that spreads the frames evenly over the clip, whatever the preset samples
DECODE_SECONDS = 30.0  # reading one clip may take at most this long, whatever the request's own time limit

# progress(fraction, description): the UI passes gr.Progress, the CLI nothing.
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Settings:
    """What a person chooses for one analysis."""

    mask_ratio: float = 0.9
    masking: str = "tube"
    seed: int = 0
    top_k: int = 5
    start: float | None = None  # segment start, seconds
    end: float | None = None  # segment end, seconds
    stride: int | None = None  # source frames between samples; None = the preset's sampling, SPREAD = spread evenly
    stats: str = STATS_LEAK_FREE  # norm_pix_loss models only: how hidden patches get their mean/std back
    play_backwards: bool = False  # play the sampled frames backwards
    attention: bool = True  # record the attention maps while classifying (attention.recording)
    views: int | None = None  # mirrored views the reconstruction averages (1, 2, 4, 8); None = the checkpoint's

    def __post_init__(self) -> None:
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"mask ratio must be in [0, 1), got {self.mask_ratio}")
        if self.masking not in STRATEGIES:
            raise ValueError(f"unknown masking {self.masking!r}; choose one of {', '.join(STRATEGIES)}")
        if self.stats not in STATS_MODES:
            raise ValueError(f"unknown statistics mode {self.stats!r}; choose one of {', '.join(STATS_MODES)}")
        if self.top_k < 1:
            raise ValueError(f"top-k must be at least 1, got {self.top_k}")
        if self.views is not None:
            square_views(self.views)  # raises on an unsupported count
        if self.stride is not None and self.stride < SPREAD:
            raise ValueError(f"stride must be {SPREAD} (spread evenly) or more, got {self.stride}")


@dataclass
class Analysis:
    """One clip's results. Frames are uint8 (T, H, W, 3) at the reconstructor's input size."""

    clip: Clip
    labels: list[tuple[str, float]]  # top-k (label, softmax probability)
    reconstruction: Reconstruction
    frames: np.ndarray  # the model's input frames, (T, H, W, 3) uint8
    predicted: np.ndarray  # decoder output at masked patches, original pixels at visible ones, (T, H, W, 3) uint8
    interpolated: np.ndarray  # the interpolation fill at masked patches, original pixels at visible ones, the same
    pixel_mask: np.ndarray  # (T, H, W) bool, True = pixel of a masked patch
    tokens: int
    visible_tokens: int
    classifier_input: torch.Tensor  # (1, T, 3, H, W) float32, kept for class relevance on demand
    reconstructor_input: torch.Tensor  # (1, T, 3, H, W) float32, kept for reconstructions under other masks
    classifier_frames: np.ndarray  # the classifier's input frames, (T, H, W, 3) uint8: what attention maps cover
    attention: AttentionMaps | None = None
    relevance: dict[int, torch.Tensor] = field(default_factory=dict)  # class id -> (L, N), filled on demand
    timings: dict[str, float] = field(default_factory=dict)


@functools.lru_cache(maxsize=8)
def _cached_model(source: str, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """Weights are read once per process, device and dtype, and shared by every request."""
    return load_model(source).to(device, dtype)


@functools.lru_cache(maxsize=8)
def _cached_processor(source: str) -> VideoMAEProcessor:
    return load_processor(source)


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """(T, 3, H, W) float in [0, 1] -> (T, H, W, 3) uint8."""
    return (pixels.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


class TimeLimitError(Exception):
    """An analysis ran past its time limit; ``str(err)`` is a one-line reason for a person to read."""


class VideoMAEPipeline:
    """A classifier and a reconstructor (VideoMAEForPreTraining), loaded once and reused for every clip."""

    def __init__(self, classifier: str, reconstructor: str, stride: int | None = None,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float32) -> None:
        """``stride``: the default sampling (``Preset.stride``); None spreads the frames evenly. ``device``: where
        the models run (``devices.resolve_device``: None means VIDEOMAE_VIZ_DEVICE, else CUDA when there); ``dtype``:
        their weights' dtype. Tensors cross to the device at the models and come back to the CPU after them."""
        self.classifier_source, self.reconstructor_source = classifier, reconstructor
        self.default_stride = stride
        self.device, self.dtype = resolve_device(device), dtype
        self.classifier = _cached_model(classifier, self.device, dtype)
        self.reconstructor = _cached_model(reconstructor, self.device, dtype)
        if not isinstance(self.classifier, VideoMAEForVideoClassification):
            raise CheckpointError(f"{classifier} is not a video classifier (it is {type(self.classifier).__name__})")
        if not isinstance(self.reconstructor, VideoMAEForPreTraining):
            raise CheckpointError(f"{reconstructor} has no decoder: pick a pre-training checkpoint "
                                  f"(it is {type(self.reconstructor).__name__})")
        self.classifier_processor = _cached_processor(classifier)
        self.reconstructor_processor = _cached_processor(reconstructor)

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> VideoMAEPipeline:
        """The same models and sampling on another device or dtype (a new pipeline; this one is unchanged)."""
        return type(self)(self.classifier_source, self.reconstructor_source, self.default_stride,
                          self.device if device is None else device, self.dtype if dtype is None else dtype)

    def _on_device(self, x: torch.Tensor) -> torch.Tensor:
        """A CPU input (pixel values, masks) where the models run: floats in the models' dtype."""
        return x.to(self.device, self.dtype) if x.is_floating_point() else x.to(self.device)

    @classmethod
    def from_preset(cls, name: str = DEFAULT_PRESET, device: str | torch.device | None = None) -> VideoMAEPipeline:
        if name not in PRESETS:
            raise CheckpointError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        preset = PRESETS[name]
        return cls(preset.classifier, preset.reconstructor, preset.stride, device)

    @property
    def classifier_config(self) -> VideoMAEConfig:
        return self.classifier.config

    @property
    def reconstructor_config(self) -> VideoMAEConfig:
        return self.reconstructor.config

    @property
    def classifier_views(self) -> int:
        """How many views of a clip ``probabilities`` averages (1: the clip as given)."""
        return view_count(self.classifier_config.label_symmetries)

    def decode(self, path: str | Path, settings: Settings, timeout: float = DECODE_SECONDS) -> Clip:
        """Sample the frames both models need (their frame counts must agree) -> Clip with (T, H, W, 3) uint8;
        VideoReadError when reading takes longer than ``timeout`` seconds. A stride or a segment the user gives
        wins; without either, the preset's sampling (``default_stride``)."""
        num_frames = self.reconstructor_config.num_frames
        if self.classifier_config.num_frames != num_frames:
            raise CheckpointError("the classifier and the reconstructor expect different frame counts")
        stride, preset_default = settings.stride, settings.stride is None and settings.start is None and settings.end is None
        if preset_default:
            stride = self.default_stride
        clip = read_video(path, num_frames, start=settings.start, end=settings.end, stride=stride or None,
                          spread_if_short=preset_default, timeout=timeout)
        if settings.play_backwards:
            clip = Clip(frames=clip.frames[::-1].copy(), indices=clip.indices[::-1], times=clip.times[::-1],
                        fps=clip.fps, duration=clip.duration, source_size=clip.source_size,
                        notes=(*clip.notes, "frames are played in reverse"))
        return clip

    @torch.inference_mode()
    def probabilities(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) float32 -> (B, num_labels) float32 class probabilities: one forward pass over the clips'
        symmetric views (just the clips for a checkpoint that declares no label symmetries), averaged (``views``)."""
        config = self.classifier_config
        x, maps = symmetric_views(pixel_values, config.label_symmetries, config.num_labels)  # (V * B, T, 3, H, W)
        return view_average(self.classifier(self._on_device(x)).logits.float().cpu(), maps)

    @torch.inference_mode()
    def classify(self, pixel_values: torch.Tensor, top_k: int,
                 with_attention: bool = False) -> tuple[list[tuple[str, float]], list]:
        """(1, T, 3, H, W) float32 -> the top-k (label, probability) pairs, and the attention layers' records of the
        clip as given (the first view) from the same forward pass (``attention.recording``; empty unless
        ``with_attention``)."""
        with recording(self.classifier.videomae, enabled=with_attention) as records:
            probs = self.probabilities(pixel_values)[0]  # (num_labels,)
        scores, ids = probs.topk(min(top_k, probs.numel()))
        return [(self.label(int(i)), float(s)) for s, i in zip(scores, ids)], records

    def label(self, class_id: int) -> str:
        return self.classifier_config.id2label.get(class_id, str(class_id))

    def class_id(self, label: str) -> int:
        """The classifier's id for a label name (ValueError for an unknown one)."""
        for i, name in self.classifier_config.id2label.items():
            if name == label:
                return i
        raise ValueError(f"{label!r} is not a label of {self.classifier_source}")

    def relevance(self, analysis: Analysis, class_id: int) -> torch.Tensor:
        """Class relevance maps (L, N) for one class, computed once per analysis and class."""
        if class_id not in analysis.relevance:
            analysis.relevance[class_id] = class_relevance(self.classifier, self._on_device(analysis.classifier_input),
                                                           class_id)
        return analysis.relevance[class_id]

    @torch.inference_mode()
    def reconstruct(self, pixel_values: torch.Tensor, settings: Settings, mask: torch.Tensor | None = None
                    ) -> Reconstruction:
        """(1, T, 3, H, W) float32 -> the masked autoencoder's reconstruction for the settings' mask, or for
        ``mask`` ((N,) bool, True = hidden; a drawn one, ``masking.drawn_mask``) when given. The decoder runs once
        on a batch of the clip's mirrored views (``settings.views``, else the checkpoint's) and the predictions,
        mapped back, are averaged."""
        config = self.reconstructor_config
        if mask is None:
            mask = make_mask(settings.masking, config.grid, settings.mask_ratio, settings.seed)  # (N,) bool
        elif mask.shape != (config.num_patches,) or mask.dtype != torch.bool:
            raise ValueError(f"a mask for this model is ({config.num_patches},) bool, got {tuple(mask.shape)} "
                             f"{mask.dtype}")
        views = square_views(settings.views or config.reconstruction_views)
        inputs, masks = view_inputs(pixel_values, mask, config, views)  # (V, T, 3, H, W), (V, N)
        logits = self.reconstructor(self._on_device(inputs), bool_masked_pos=self._on_device(masks)).logits
        logits = logits.float().cpu()  # (V, N_mask, P)
        proc = self.reconstructor_processor
        return reconstruct(logits, pixel_values, mask, config, proc.image_mean, proc.image_std, settings.stats, views)

    def compare_masking(self, pixel_values: torch.Tensor, settings: Settings) -> dict[str, dict]:
        """The same clip, ratio and seed under every masking strategy: {strategy: {"psnr", "baseline_psnr",
        "interpolation_psnr", "copy_psnr" (None where nothing can be copied), "visible_tokens", "views"}}, each as
        ``reconstruct`` scores it (the CLI's numbers for that strategy); for ``norm_pix_loss`` models also
        "paper_psnr", with the hidden patches' true statistics (what the official visualisation shows).
        pixel_values (1, T, 3, H, W) float32."""
        results = {}
        for strategy in STRATEGIES:
            chosen = dataclasses.replace(settings, masking=strategy)
            rec = self.reconstruct(pixel_values, chosen)
            results[strategy] = {"psnr": rec.psnr, "baseline_psnr": rec.baseline_psnr,
                                 "interpolation_psnr": rec.interpolation_psnr, "copy_psnr": rec.copy_psnr,
                                 "visible_tokens": int((~rec.mask).sum()), "views": rec.views}
            if self.reconstructor_config.norm_pix_loss:
                paper = self.reconstruct(pixel_values, dataclasses.replace(chosen, stats=STATS_PAPER))
                results[strategy]["paper_psnr"] = paper.psnr
        return results

    def analyze(self, path: str | Path, settings: Settings = Settings(), progress: Progress | None = None,
                time_limit: float | None = None) -> Analysis:
        """Run every stage on one clip; ``timings`` holds seconds per stage and the total.

        With ``time_limit`` (seconds), decoding stops at the limit and the clock is checked before every later
        stage: past it, TimeLimitError. A stage that has started (a forward pass) runs to its end."""
        if time_limit is not None and not time_limit > 0:
            raise ValueError(f"time limit must be positive, got {time_limit}")
        report = progress or (lambda fraction, desc: None)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        deadline = None if time_limit is None else time.monotonic() + time_limit

        def check(where: str) -> None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeLimitError(f"the analysis took longer than the {time_limit:g} s limit (stopped {where}); "
                                     "try a shorter segment")

        def lap(stage: str, t0: float) -> float:
            now = time.perf_counter()
            timings[stage] = round(now - t0, 4)
            return now

        report(0.0, "decoding the clip")
        t = time.perf_counter()
        timeout = DECODE_SECONDS if deadline is None else min(DECODE_SECONDS, max(deadline - time.monotonic(), 1e-3))
        try:
            clip = self.decode(path, settings, timeout)
        except VideoReadError:
            check("while decoding")  # a read cut short by the request's limit reports that limit
            raise
        t = lap("decode", t)
        check("before preprocessing")
        report(0.2, "preprocessing")
        cls_input = self.classifier_processor(clip.frames)["pixel_values"]
        rec_input = (cls_input if self.reconstructor_processor == self.classifier_processor
                     else self.reconstructor_processor(clip.frames)["pixel_values"])
        t = lap("preprocess", t)
        check("before classifying")
        report(0.3, "classifying")
        labels, records = self.classify(cls_input, settings.top_k, settings.attention)
        t = lap("classify", t)
        check("before reconstructing")
        report(0.5, "masking and reconstructing")
        rec = self.reconstruct(rec_input, settings)
        t = lap("reconstruct", t)
        maps, timings["attention"] = None, 0.0
        if settings.attention:
            check("before the attention maps")
            report(0.8, "computing attention maps")
            maps = maps_from_records(records)
            lap("attention", t)
        timings["total"] = round(time.perf_counter() - start, 4)
        report(1.0, "done")
        config = self.reconstructor_config
        proc = self.classifier_processor
        return Analysis(clip=clip, labels=labels, reconstruction=rec, frames=to_uint8(rec.original),
                        predicted=to_uint8(rec.predicted), interpolated=to_uint8(rec.interpolation),
                        pixel_mask=tokens_to_pixels(rec.mask, config).numpy(), tokens=config.num_patches,
                        visible_tokens=int((~rec.mask).sum()), classifier_input=cls_input, reconstructor_input=rec_input,
                        classifier_frames=to_uint8(proc.to_pixels(cls_input)[0]), attention=maps, timings=timings)
