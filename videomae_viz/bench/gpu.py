"""``python -m videomae_viz.bench.gpu``: the GPU check, one command for anyone with a GPU.

    python -m videomae_viz.bench.gpu --device cuda          # ViT-B (16 x 224 px), as the README reports it
    python -m videomae_viz.bench.gpu --device cpu --quick   # the machinery on a tiny model (what the tests run)

It compares our classifier with transformers' on the device (same random weights): the largest logit difference
and the top-1 agreement in fp32 and under fp16 and bf16 autocast, and their times as a ratio, alternated in one
run; then it runs one analysis of the embedded default end to end with every panel (classification with recorded
attention, class relevance, reconstruction, the files of the lab) and reports the peak GPU memory. Prints markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..checkpoints import ASSETS, load_model
from ..cli import export_analysis
from ..devices import resolve_device
from ..pipeline import Settings, VideoMAEPipeline
from .reference import load_reference
from .setup import Setup, random_checkpoints
from .speed import random_input
from .timing import alternate

BATCH = 4  # clips per forward pass: enough to compare top-1 over more than one answer
PRECISIONS = (("fp32", None), ("fp16", torch.float16), ("bf16", torch.bfloat16))


def _synced(device: torch.device, run: Callable[[], object]) -> Callable[[], object]:
    """``run``, waiting for the GPU to finish, so that wall-clock time measures the work."""
    def timed() -> object:
        out = run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return out
    return timed


def _logits(model: torch.nn.Module, x: torch.Tensor, device: torch.device, dtype: torch.dtype | None,
            reference: bool) -> torch.Tensor:
    autocast = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        return (model(pixel_values=x) if reference else model(x)).logits.float()


def model_rows(setup: Setup, device: torch.device) -> list[str]:
    """Markdown rows: per precision, logit difference, top-1 agreement, times and their ratio."""
    classifier, _ = random_checkpoints(setup)
    ours = load_model(classifier).to(device).eval()
    theirs = load_reference(classifier, "sdpa").to(device)
    x = torch.cat([random_input(setup.classifier_config, seed) for seed in range(BATCH)]).to(device)
    exact = _logits(theirs, x, device, None, reference=True)
    rows = []
    for name, dtype in PRECISIONS:
        if device.type == "cpu" and dtype == torch.float16:
            rows.append(f"| {name} | not run: fp16 autocast is for GPUs | | | | | |")
            continue
        a = _logits(ours, x, device, dtype, reference=False)
        b = _logits(theirs, x, device, dtype, reference=True)
        seconds = alternate({"ours": _synced(device, lambda dtype=dtype: _logits(ours, x, device, dtype, False)),
                             "transformers": _synced(device, lambda dtype=dtype: _logits(theirs, x, device, dtype, True))},
                            setup.repeats)
        rows.append(f"| {name} | {(a - b).abs().max().item():.2e} | {(a - exact).abs().max().item():.2e} | "
                    f"{(a.argmax(-1) == exact.argmax(-1)).float().mean().item():.0%} | {seconds['ours']:.4f} | "
                    f"{seconds['transformers']:.4f} | {seconds['ours'] / seconds['transformers']:.3f}x |")
    return rows


def analysis_rows(device: torch.device) -> list[str]:
    """Markdown lines: one analysis of the first example clip on the embedded default, every panel written."""
    clip = ASSETS / "examples" / json.loads((ASSETS / "examples" / "index.json").read_text())[0]["file"]
    pipeline = VideoMAEPipeline.from_preset("embedded", device=device)
    pipeline.analyze(clip, Settings())  # warm-up: weights on the device, kernels chosen
    start = time.perf_counter()
    analysis = pipeline.analyze(clip, Settings())
    top1 = pipeline.class_id(analysis.labels[0][0])
    with tempfile.TemporaryDirectory() as folder:
        files = export_analysis(pipeline, analysis, Path(folder), relevance_class=top1)
    seconds = time.perf_counter() - start
    rec = analysis.reconstruction
    return [f"- one analysis of `{clip.name}` on the embedded default, every panel ({len(files)} files): "
            f"{seconds:.2f} s; top-1 {analysis.labels[0][0]}; masked-patch PSNR {rec.psnr:.2f} dB "
            f"(mean fill {rec.baseline_psnr:.2f}, interpolation {rec.interpolation_psnr:.2f})"]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m videomae_viz.bench.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="a tiny model and few repeats")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    setup = Setup.quick() if args.quick else Setup.full()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    lines = [f"GPU check on {device} ({name}), torch {torch.__version__}, {setup.describe()}; forward passes here "
             f"take {BATCH} clips at once", "",
             f"| precision | ours - transformers (max logit difference) | ours - transformers fp32 | same top-1 as "
             f"fp32 ({BATCH} clips) | ours (s) | transformers (s) | ratio |", "|---|---|---|---|---|---|---|",
             *model_rows(setup, device), "", *analysis_rows(device)]
    if device.type == "cuda":
        lines.append(f"- peak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB")
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main()
