"""Forward-pass speed against transformers (fp32, bf16), utilisation of the matmul peak, bf16 accuracy, and the
pre-training forward's cost against the masking ratio."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..checkpoints import load_model
from ..config import VideoMAEConfig
from ..embedded.synthetic import make_dataset
from ..masking import make_mask
from ..preprocess import load_processor
from .reference import load_reference
from .report import Row, Target
from .setup import MASK_RATIOS, Setup
from .timing import alternate, matmul_run

log = logging.getLogger(__name__)

SPEED = "Model forward"
ACCURACY = "bf16 accuracy"
MASKING = "Masked pre-training forward"
ALTERNATED = "alternating runs, order reversed every round (A B, B A, ...), after warm-up; median"
EAGER_APART = ("timed apart after the alternating runs, median of its runs: its 1.6 GB of attention matrices change "
               "the heap that the run after it finds")


def precision(dtype: torch.dtype) -> AbstractContextManager:
    """fp32 as is, or bf16 autocast on the CPU (matmuls and attention in bf16, reductions kept in fp32)."""
    if dtype == torch.float32:
        return nullcontext()
    return torch.autocast("cpu", dtype=dtype)


def forward(model: nn.Module, x: Tensor, dtype: torch.dtype = torch.float32, **kwargs: Tensor) -> Tensor:
    """Logits of one inference-mode forward pass, in float32."""
    with torch.inference_mode(), precision(dtype):
        return model(x, **kwargs).logits.float()


def random_input(config: VideoMAEConfig, seed: int = 0) -> Tensor:
    """(1, T, 3, H, W) float32, like normalised pixels."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(1, config.num_frames, config.num_channels, config.image_size, config.image_size, generator=gen)


def model_flops(config: VideoMAEConfig) -> int:
    """The classifier's forward: encoder plus the pooled head."""
    return config.encoder_flops() + 2 * config.hidden_size * config.num_labels


def speed_rows(setup: Setup, classifier: Path) -> list[Row]:
    """Ours against transformers (SDPA and eager) on the same weights and input, fp32 and bf16, and the share of
    the measured matmul peak our forward reaches."""
    config = setup.classifier_config
    ours = load_model(classifier)
    sdpa, eager = load_reference(classifier, "sdpa"), load_reference(classifier, "eager")
    x = random_input(config)
    difference = float((forward(ours, x) - forward(sdpa, x)).abs().max())
    rows = [Row(SPEED, "same weights: largest |logit difference| ours vs transformers, fp32", difference, "",
                Target("<=", 1e-3), "weights mapped by checkpoints.save_pretrained, loaded by from_pretrained")]
    peaks, ours_seconds = {}, {}
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        log.info("matmul peak and forward passes, %s", name)
        matmul, matmul_flops = matmul_run(setup.matmul_size, dtype)
        runs: dict[str, Callable[[], object]] = {
            "ours": lambda dtype=dtype: forward(ours, x, dtype),
            "transformers SDPA": lambda dtype=dtype: forward(sdpa, x, dtype),
            "matmul": matmul,  # the peak is timed in the same rounds, so it sees the machine as the forwards do
        }
        seconds = alternate(runs, setup.repeats, setup.warmup)
        peaks[name] = matmul_flops / seconds.pop("matmul") / 1e9
        how = {who: ALTERNATED for who in seconds}
        if dtype == torch.float32:
            seconds["transformers eager"] = alternate({"eager": lambda dtype=dtype: forward(eager, x, dtype)},
                                                      setup.slow_repeats, 1)["eager"]
            how["transformers eager"] = EAGER_APART
        ratio = seconds["ours"] / seconds["transformers SDPA"]
        rows.append(Row(SPEED, f"matmul peak, {name}", peaks[name], "GFLOP/s", None,
                        f"{setup.matmul_size}² torch.matmul, median of its runs in the rounds that time the forwards"))
        rows += [Row(SPEED, f"{who} forward, {name}", s, "s", None, how[who]) for who, s in seconds.items()]
        rows.append(Row(SPEED, f"ours / transformers SDPA, {name}", ratio, "x", Target("<=", 1.0), ALTERNATED))
        if dtype == torch.float32:
            rows.append(Row(SPEED, "ours / transformers eager, fp32", seconds["ours"] / seconds["transformers eager"],
                            "x", None, "ours from the alternating runs, eager timed apart"))
        else:
            rows.append(Row(SPEED, "ours / transformers SDPA, bf16 (aim)", ratio, "x", Target("<=", 0.8),
                            "the issue's aim for bf16"))
        utilisation = model_flops(config) / seconds["ours"] / 1e9 / peaks[name]
        rows.append(Row(SPEED, f"our forward's share of the {name} matmul peak", 100 * utilisation, "%",
                        Target(">=", 80.0) if dtype == torch.float32 else None,
                        f"{model_flops(config) / 1e9:.3g} GFLOP (config.encoder_flops + head) / median time / peak"))
        ours_seconds[name] = seconds["ours"]
    rows.append(Row(SPEED, "ours bf16 / ours fp32", ours_seconds["bf16"] / ours_seconds["fp32"], "x", None,
                    "below 1 means bf16 autocast pays off on this CPU"))
    return rows


def drift_rows(setup: Setup, classifier: Path) -> list[Row]:
    """bf16 against fp32 on the benchmarked random-weight model: logit drift over random inputs."""
    model = load_model(classifier)
    drift, change, agree = [], [], []
    for seed in range(setup.drift_inputs):
        x = random_input(setup.classifier_config, seed)
        full, half = forward(model, x), forward(model, x, torch.bfloat16)
        drift.append(float((half - full).abs().max() / full.abs().max()))
        change.append(float((half.softmax(-1) - full.softmax(-1)).abs().max()))
        agree.append(bool(half.argmax() == full.argmax()))
    how = f"{setup.drift_inputs} random inputs, random weights"
    return [
        Row(ACCURACY, "benchmarked model: largest |logit drift| / largest |logit|", max(drift), "", None, how),
        Row(ACCURACY, "benchmarked model: largest probability change", max(change), "", None, how),
        Row(ACCURACY, "benchmarked model: top-1 agreement with fp32", 100 * np.mean(agree), "%", None,
            how + " (random weights give near-tied logits)"),
    ]


def agreement_rows(setup: Setup, batch: int = 32) -> list[Row]:
    """bf16 against fp32 on the embedded trained classifier over generated synthetic clips."""
    model, processor = load_model("motion-tiny"), load_processor("motion-tiny")
    config = model.config
    clips, _ = make_dataset(setup.agreement_clips, seed=2024, num_frames=config.num_frames, size=config.image_size)
    agree, change = [], []
    for start in range(0, len(clips), batch):
        x = torch.cat([processor(clip)["pixel_values"] for clip in clips[start:start + batch]])
        full, half = forward(model, x).softmax(-1), forward(model, x, torch.bfloat16).softmax(-1)
        agree += (full.argmax(-1) == half.argmax(-1)).tolist()
        change.append(float((full - half).abs().max()))
    how = f"{len(clips)} clips from videomae_viz.embedded.synthetic.make_dataset"
    return [
        Row(ACCURACY, "embedded model: top-1 agreement bf16 vs fp32", 100 * float(np.mean(agree)), "%", None, how),
        Row(ACCURACY, "embedded model: largest probability change", max(change), "", None, how),
    ]


def masking_rows(setup: Setup, pretraining: Path) -> list[Row]:
    """The pre-training forward (encoder on visible tokens, decoder on all) at masking ratios 0.5 to 0.95."""
    model = load_model(pretraining)
    config = setup.pretraining_config
    x = random_input(config)
    masks = {ratio: make_mask("tube", config.grid, ratio, seed=0)[None] for ratio in MASK_RATIOS}
    seconds = alternate({f"{ratio}": (lambda m=m: forward(model, x, bool_masked_pos=m)) for ratio, m in masks.items()},
                        setup.repeats, setup.warmup)
    times = [seconds[f"{ratio}"] for ratio in MASK_RATIOS]
    rows = [Row(MASKING, f"ratio {ratio}: forward time", t, "s", None,
                f"{int((~masks[ratio]).sum())} visible tokens; {ALTERNATED} over all ratios")
            for ratio, t in zip(MASK_RATIOS, times)]
    steps = [later / earlier for earlier, later in zip(times, times[1:])]
    rows.append(Row(MASKING, "largest time ratio between consecutive masking ratios (< 1: cost falls)", max(steps),
                    "x", Target("<", 1.0), "0.5 → 0.6 → ... → 0.95"))
    rows.append(Row(MASKING, "time at 0.95 / time at 0.5", times[-1] / times[0], "x", None, ""))
    return rows
