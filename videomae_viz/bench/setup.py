"""What the benchmark runs on: model sizes, repeats, clip lengths, and cached random checkpoints."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..checkpoints import save_pretrained
from ..config import CLASSIFICATION, PRETRAINING, SIZE_PRESETS, VideoMAEConfig
from ..model import MODEL_CLASSES, init_weights
from ..preprocess import VideoMAEProcessor

VIT_B = VideoMAEConfig(**SIZE_PRESETS["base"])  # 16 frames x 224 px, 1568 tokens
QUICK = VideoMAEConfig(image_size=64, patch_size=16, num_frames=8, hidden_size=128, num_hidden_layers=4,
                       num_attention_heads=4, intermediate_size=512, decoder_hidden_size=64,
                       decoder_num_hidden_layers=2, decoder_num_attention_heads=2, decoder_intermediate_size=256)
NUM_LABELS = 400  # a Kinetics-400-sized head
MASK_RATIOS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "videomae-viz" / "bench"


@dataclass(frozen=True)
class Setup:
    """Sizes and repeats of one benchmark run."""

    mode: str  # "full" or "quick"
    model: VideoMAEConfig  # encoder sizes of the benchmarked classifier and pre-training model
    repeats: int  # timed rounds of each fast comparison
    slow_repeats: int  # timed rounds of comparisons whose runs take many seconds
    warmup: int
    matmul_size: int
    long_seconds: float  # the long clip that is sampled, and decoded whole for comparison
    whole_seconds: float  # the part of the long clip that is decoded whole; the rest is extrapolated
    request_seconds: float  # the clip of the end-to-end requests
    clip_size: tuple[int, int]  # (width, height) of the generated clips
    drift_inputs: int  # random inputs for the bf16 logit drift of the benchmarked model
    agreement_clips: int  # synthetic clips for the embedded model's bf16 top-1 agreement
    cache: Path

    @classmethod
    def full(cls, repeats: int = 5, cache: Path | None = None) -> Setup:
        return cls("full", VIT_B, repeats, max(2, repeats // 2), 2, 2048, 600.0, 60.0, 10.0, (1280, 720), 8, 512,
                   cache or default_cache())

    @classmethod
    def quick(cls, repeats: int = 3, cache: Path | None = None) -> Setup:
        return cls("quick", QUICK, repeats, 1, 1, 512, 20.0, 5.0, 2.0, (320, 180), 2, 16, cache or default_cache())

    def replace(self, **changes: object) -> Setup:
        return replace(self, **changes)

    @property
    def classifier_config(self) -> VideoMAEConfig:
        return self.model.replace(architectures=(CLASSIFICATION,),
                                  id2label={i: f"class {i}" for i in range(NUM_LABELS)})

    @property
    def pretraining_config(self) -> VideoMAEConfig:
        return self.model.replace(architectures=(PRETRAINING,), use_mean_pooling=False, id2label={})

    def describe(self) -> str:
        m = self.model
        t, h, w = m.grid
        return (f"{self.mode}: encoder width {m.hidden_size}, {m.num_hidden_layers} layers, {m.num_attention_heads} "
                f"heads, {m.num_frames} frames x {m.image_size} px ({t}x{h}x{w} = {m.num_patches} tokens), batch 1")


def random_checkpoints(setup: Setup) -> tuple[Path, Path]:
    """Folders (classifier, pre-training model) in the hub layout with seeded random weights (the training
    initialisation) and a processor for the model's input size; written once per model size into the cache."""
    configs = (setup.classifier_config, setup.pretraining_config)
    key = hashlib.sha256(json.dumps([c.to_dict() for c in configs], sort_keys=True).encode()).hexdigest()[:12]
    root = setup.cache / f"random-{key}"
    side = setup.model.image_size
    processor = VideoMAEProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    folders = (root / "classifier", root / "pretraining")
    for seed, (config, folder) in enumerate(zip(configs, folders)):
        if (folder / "model.safetensors").is_file():
            continue
        torch.manual_seed(seed)
        model = MODEL_CLASSES[config.architecture](config)
        init_weights(model)
        save_pretrained(model, folder)
        processor.save(folder)
    return folders
