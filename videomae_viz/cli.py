"""``videomae-viz`` (or ``python -m videomae_viz``): the app's pipeline from the command line, one JSON line per clip on stdout.

A clip that cannot be read prints ``error: CLIP: reason`` on stderr; the other clips still run and the exit status
is 2. Tracebacks never reach the user (``--verbose`` logs them).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from .checkpoints import CheckpointError
from .devices import DEVICE_ENV
from .masking import STRATEGIES
from .pipeline import DEFAULT_PRESET, PRESETS, Analysis, Settings, VideoMAEPipeline
from .reconstruction import STATS_MODES
from .video_io import VideoReadError

log = logging.getLogger("videomae_viz")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videomae-viz",
                                     description="Classify clips and reconstruct them from masked patches with VideoMAE.")
    parser.add_argument("clips", nargs="+", metavar="CLIP", help="video files (any container FFmpeg reads)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=list(PRESETS),
                        help=f"classifier + reconstructor pair and its frame sampling (default: {DEFAULT_PRESET}, "
                        "works offline): " + "; ".join(f"{name}: {p.sampling}" for name, p in PRESETS.items()))
    parser.add_argument("--classifier", metavar="SOURCE", help="override the preset's classifier: embedded name, folder or hub id")
    parser.add_argument("--reconstructor", metavar="SOURCE", help="override the preset's pre-training model")
    parser.add_argument("--mask-ratio", type=float, default=0.9)
    parser.add_argument("--masking", choices=STRATEGIES, default="tube")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--start", type=float, help="segment start in seconds")
    parser.add_argument("--end", type=float, help="segment end in seconds")
    parser.add_argument("--stride", type=int, help="source frames between sampled frames, in a window centred in the "
                        "clip; 0 spreads them evenly (default: the preset's sampling; with --start/--end, spread "
                        "evenly over the segment)")
    parser.add_argument("--stats", choices=STATS_MODES, default=STATS_MODES[1],
                        help="norm_pix_loss models: hidden patches' mean/std from visible neighbours (leak-free) "
                             "or their true values (paper; leaks). PSNR is always leak-free.")
    parser.add_argument("--views", type=int, choices=(1, 2, 4, 8),
                        help="mirrored views of the masked clip the decoder's prediction averages (default: what the "
                        "reconstructor's checkpoint declares; the shipped and MCG-NJU ones make one pass)")
    parser.add_argument("--play-backwards", "--reverse", dest="play_backwards", action="store_true",
                        help="play the sampled frames backwards (--reverse: the same, its former name)")
    parser.add_argument("--no-attention", action="store_true", help="skip the attention maps")
    parser.add_argument("--out", type=Path, help="write PNG grids and a side-by-side MP4 per clip here")
    parser.add_argument("--device", help="where the models run: auto (CUDA when there, else the CPU), cpu, cuda or "
                        f"cuda:N (default: {DEVICE_ENV} or auto)")
    parser.add_argument("--verbose", action="store_true", help="log progress and tracebacks on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    preset = PRESETS[args.preset]
    classifier, reconstructor, stride = preset.classifier, preset.reconstructor, preset.stride
    try:
        settings = Settings(mask_ratio=args.mask_ratio, masking=args.masking, seed=args.seed, top_k=args.top_k,
                            start=args.start, end=args.end, stride=args.stride, stats=args.stats,
                            play_backwards=args.play_backwards, attention=not args.no_attention, views=args.views)
        pipeline = VideoMAEPipeline(args.classifier or classifier, args.reconstructor or reconstructor, stride,
                                    device=args.device)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    status = 0
    for clip, folder in zip(args.clips, _output_folders(args.clips, args.out)):
        try:
            print(json.dumps(run_clip(pipeline, clip, settings, folder)), flush=True)
        except (VideoReadError, ValueError) as err:
            print(f"error: {clip}: {err}", file=sys.stderr)
            status = 2
        except Exception as err:  # keep going with the other clips; the traceback goes to the log only
            log.debug("failed on %s", clip, exc_info=True)
            print(f"error: {clip}: {type(err).__name__}: {err}", file=sys.stderr)
            status = 2
    return status


def _output_folders(clips: list[str], out: Path | None) -> list[Path | None]:
    """One folder per clip under ``out``, named by the file's stem (numbered when two clips share a stem)."""
    if out is None:
        return [None] * len(clips)
    folders: list[Path | None] = []
    seen: dict[str, int] = {}
    for clip in clips:
        stem = Path(clip).stem
        seen[stem] = seen.get(stem, 0) + 1
        folders.append(out / (stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"))
    return folders


def run_clip(pipeline: VideoMAEPipeline, clip: str, settings: Settings, folder: Path | None,
             time_limit: float | None = None) -> dict:
    """Analyse one clip (and write its files into ``folder`` when given) -> the JSON record of the CLI contract.
    ``time_limit``: as ``VideoMAEPipeline.analyze`` takes it (the app's API passes its request limit)."""
    start = time.perf_counter()
    analysis = pipeline.analyze(clip, settings, time_limit=time_limit)
    timings = {k: v for k, v in analysis.timings.items() if k != "total"}
    outputs: dict[str, str] = {}
    top1 = pipeline.class_id(analysis.labels[0][0]) if settings.attention and folder is not None else None
    if top1 is not None:  # the relevance figure's forward and backward pass count as attention work
        t = time.perf_counter()
        pipeline.relevance(analysis, top1)
        timings["attention"] = round(timings["attention"] + time.perf_counter() - t, 4)
    render_start = time.perf_counter()
    if folder is not None:
        outputs = export_analysis(pipeline, analysis, folder, relevance_class=top1)
    timings["render"] = round(time.perf_counter() - render_start, 4)
    timings["total"] = round(time.perf_counter() - start, 4)
    return analysis_record(pipeline, analysis, settings, clip, timings, outputs)


def analysis_record(pipeline: VideoMAEPipeline, analysis: Analysis, settings: Settings, clip: str,
                    timings: dict[str, float], outputs: dict[str, str]) -> dict:
    """The CLI's JSON object for one analysis: models, settings, top-k, token counts, the decoder's and the fills'
    masked-patch PSNR, the frames used, the reader's notes, timings and the files written."""
    rec = analysis.reconstruction
    return {
        "clip": clip,
        "classifier": pipeline.classifier_source,
        "reconstructor": pipeline.reconstructor_source,
        "labels": [{"label": label, "score": round(score, 6)} for label, score in analysis.labels],
        "mask_ratio": settings.mask_ratio,
        "masking": settings.masking,
        "tokens": analysis.tokens,
        "visible_tokens": analysis.visible_tokens,
        "reconstruction": {"psnr": _round(rec.psnr), "baseline_psnr": _round(rec.baseline_psnr),
                           "interpolation_psnr": _round(rec.interpolation_psnr), "copy_psnr": _round(rec.copy_psnr),
                           "views": rec.views},
        "frames": list(analysis.clip.indices),
        "notes": list(analysis.clip.notes),
        "timings": timings,
        "outputs": outputs,
    }


def export_analysis(pipeline: VideoMAEPipeline, analysis: Analysis, folder: Path,
                    relevance_class: int | None = None) -> dict[str, str]:
    """Write an analysis's files (``exports.export_files``): the lab grids, the side-by-side MP4 and, when it has
    attention maps, the rollout and (for ``relevance_class``) the class relevance figures. Returns {name: path}."""
    from .exports import HeatMap, export_files  # imported here: only --out renders files (matplotlib)
    from .render import displayed_panels

    heatmaps = {}
    if analysis.attention is not None:
        config = pipeline.classifier_config
        figures = {"attention": (analysis.attention.rollout[-1], "Attention rollout through all layers (head mean), "
                                 "read out for mean pooling", "share of the pooled output")}
        if relevance_class is not None:
            maps = pipeline.relevance(analysis, relevance_class)
            figures["relevance"] = (maps[-1].clamp(min=0), f"Class relevance for '{pipeline.label(relevance_class)}' "
                                    "(Chefer et al. 2021, all layers)", "relevance")
        for name, (values, title, label) in figures.items():
            heatmaps[name] = HeatMap(analysis.classifier_frames, values.reshape(config.grid).numpy().astype(np.float32),
                                     config.tubelet_size, config.patch_size, title, label)
    views = displayed_panels(analysis.frames, analysis.predicted, analysis.pixel_mask, analysis.interpolated)
    ratio = 1 - analysis.visible_tokens / analysis.tokens
    return export_files(folder, views, ratio, heatmaps)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def entry_point() -> None:
    """The ``videomae-viz`` console script."""
    sys.exit(main())
