"""Whole requests as the app and the CLI run them, stage by stage, and frame sampling against decoding a long clip
whole."""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from pathlib import Path

from ..cli import export_analysis
from ..pipeline import PRESETS, Settings, VideoMAEPipeline
from ..video_io import read_video
from .clips import decode_whole, gradient_clip
from .report import Row, Target
from .setup import Setup
from .timing import alternate

log = logging.getLogger(__name__)

REQUEST = "End-to-end request"
EMBEDDED = "Embedded model end to end"
DECODING = "Long clip: sampling vs decoding whole"
STAGES = ("decode", "preprocess", "classify", "reconstruct", "attention", "render")


def request_timings(pipeline: VideoMAEPipeline, clip: Path, out: Path, settings: Settings) -> dict[str, float]:
    """One request: ``analyze`` (decode, preprocess, classify with the attention recorded, reconstruct at 0.9 tube
    masking, attention received and rollout), then render (the PNG grids, the side-by-side MP4 and the rollout figure
    that ``cli.export_analysis`` writes). Seconds per stage and the total."""
    start = time.perf_counter()
    analysis = pipeline.analyze(clip, settings)
    render_start = time.perf_counter()
    export_analysis(pipeline, analysis, out)
    end = time.perf_counter()
    timings = {stage: analysis.timings[stage] for stage in STAGES[:-1]}
    return {**timings, "render": end - render_start, "total": end - start}


def median_request(pipeline: VideoMAEPipeline, clip: Path, repeats: int,
                   settings: Settings = Settings()) -> dict[str, float]:
    """Median seconds per stage over ``repeats`` requests, after one warm-up request."""
    with tempfile.TemporaryDirectory() as out:
        request_timings(pipeline, clip, Path(out), settings)
        runs = [request_timings(pipeline, clip, Path(out), settings) for _ in range(repeats)]
    return {stage: statistics.median(run[stage] for run in runs) for stage in runs[0]}


def _request_clip(setup: Setup) -> Path:
    height = setup.clip_size[1]
    return gradient_clip(setup.cache / f"gradient-{height}p-{setup.request_seconds:g}s.mp4", setup.request_seconds,
                         setup.clip_size)


def request_rows(setup: Setup, classifier: Path, pretraining: Path) -> list[Row]:
    """The benchmarked model's request split into stages, and its total against the two forward passes."""
    log.info("end-to-end requests, benchmarked model")
    clip = _request_clip(setup)
    pipeline = VideoMAEPipeline(str(classifier), str(pretraining))
    timings = median_request(pipeline, clip, setup.repeats)
    plain = median_request(pipeline, clip, setup.repeats, Settings(attention=False))
    how = f"median of {setup.repeats} requests on a {setup.request_seconds:g} s {setup.clip_size[1]}p clip"
    rows = [Row(REQUEST, f"{stage}", timings[stage], "s", None, how) for stage in (*STAGES, "total")]
    forwards = timings["classify"] + timings["reconstruct"]
    model = forwards + timings["attention"]
    rows.append(Row(REQUEST, "total / model time (classify + reconstruct + attention maps)", timings["total"] / model,
                    "x", Target("<=", 1.3), "the app's request: attention maps on (the classify stage includes "
                    "recording them); relevance is computed only when asked for; what is not model time is decode, "
                    "preprocess and render, the stages the issue calls small"))
    rows.append(Row(REQUEST, "total / the two forward passes alone (classify + reconstruct)", timings["total"] / forwards,
                    "x", None, "the same requests, attention maps counted as overhead"))
    plain_model = plain["classify"] + plain["reconstruct"]
    rows.append(Row(REQUEST, "without attention maps: total / model time (classify + reconstruct)",
                    plain["total"] / plain_model, "x", None, how + ", Settings(attention=False)"))
    return rows


def embedded_rows(setup: Setup) -> list[Row]:
    """The embedded model's request with attention, weights already loaded (they are cached across requests)."""
    log.info("end-to-end requests, embedded model")
    clip = _request_clip(setup)
    timings = median_request(VideoMAEPipeline.from_preset("embedded"), clip, setup.repeats)
    how = f"median of {setup.repeats} requests on a {setup.request_seconds:g} s {setup.clip_size[1]}p clip"
    rows = [Row(EMBEDDED, f"{stage}", timings[stage], "s", None, how) for stage in STAGES]
    target = Target("<=", 2.0) if setup.mode == "full" else None
    rows.append(Row(EMBEDDED, f"total, with attention ({PRESETS['embedded'].classifier})", timings["total"], "s", target,
                    how))
    return rows


def decoding_rows(setup: Setup) -> list[Row]:
    """16 frames sampled (seeking) from the long clip against decoding every frame to RGB."""
    log.info("long clip: generating (once) and decoding")
    width, height = setup.clip_size
    clip = gradient_clip(setup.cache / f"gradient-{height}p-{setup.long_seconds:g}s.mp4", setup.long_seconds,
                         setup.clip_size)
    seconds = alternate({"sample": lambda: read_video(clip, 16), "whole": lambda: decode_whole(clip, setup.whole_seconds)},
                        setup.slow_repeats, 1)
    whole = seconds["whole"] * setup.long_seconds / setup.whole_seconds
    what = f"{setup.long_seconds / 60:.3g}-minute {width}x{height} 30 fps H.264, keyframe every 2 s"
    return [
        Row(DECODING, "sample 16 frames (read_video: seeks, decodes a few GOPs)", seconds["sample"], "s", None,
            f"{what}; median of {setup.slow_repeats}, alternating"),
        Row(DECODING, "decode every frame to RGB (extrapolated)", whole, "s", None,
            f"the first {setup.whole_seconds:g} s decoded and converted, times {setup.long_seconds / setup.whole_seconds:g}"),
        Row(DECODING, "decoding whole / sampling", whole / seconds["sample"], "x", None, ""),
    ]
