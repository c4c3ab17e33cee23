"""The masking lab panel: the lab grid, the error per patch, the side-by-side video, the counters and the
masking-ratio sweep."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np

from ..cli import analysis_record, export_analysis
from ..pipeline import Analysis, Settings, VideoMAEPipeline
from ..reconstruction import Reconstruction
from ..render import figure_to_array, heatmap_figure, lab_grid, side_by_side, strategies_figure, sweep_figure
from ..video_io import write_mp4
from .errors import refuse
from .limits import Session, request_folder, request_png
from .presets import get_pipeline

FEW_CLASSES = 20  # a classifier with at most this many classes has them listed under the top-k
SWEEP_RATIOS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def lab_image(views: dict[str, np.ndarray], folder: Path) -> str:
    """The lab grid: original / masked / prediction / + visible / interpolation for every sampled frame -> PNG
    path."""
    return request_png(lab_grid(views), folder, "lab")


def error_image(pipeline: VideoMAEPipeline, analysis: Analysis, folder: Path) -> str:
    """The squared error per hidden patch over the frames -> PNG path."""
    config = pipeline.reconstructor_config
    error = analysis.reconstruction.patch_error.reshape(config.grid).numpy()
    fig = heatmap_figure(analysis.frames, error, config.tubelet_size,
                         "Squared error per hidden patch (visible patches are 0)", "mean squared error",
                         patch=config.patch_size, cmap="viridis")
    return request_png(figure_to_array(fig), folder, "error")


def side_by_side_video(views: dict[str, np.ndarray], mask_ratio: float, folder: Path) -> str:
    """Original, masked, decoder + visible and interpolation side by side (``render.side_by_side``) as an MP4 to
    play and download -> its path."""
    return str(write_mp4(side_by_side(views, mask_ratio), folder / "side_by_side.mp4", fps=4.0))


def counters(pipeline: VideoMAEPipeline, session: Session) -> str:
    """The counters under the top-k: tokens, visible share, encoder compute, masked-patch PSNR against the
    baseline, the sampled frames and the timings, as Markdown."""
    a, s = session.analysis, session.settings
    rec, config = a.reconstruction, pipeline.reconstructor_config
    share = config.encoder_flops(a.visible_tokens) / config.encoder_flops()
    lines = [
        f"**Tokens** {a.tokens} ({config.grid[0]} time slices x {config.grid[1]} x {config.grid[2]}) · "
        f"**visible** {a.visible_tokens} ({a.visible_tokens / a.tokens:.0%}) · "
        f"**encoder compute used** {share:.1%} of a full pass",
    ]
    labels = list(pipeline.classifier_config.id2label.values())
    if len(labels) <= FEW_CLASSES:
        lines.append(f"**Classes**: this classifier knows {len(labels)} only ({', '.join(labels)}) and answers with "
                     "one of them whatever the clip shows: on other footage its top-k means little.")
    views = pipeline.classifier_views
    if views > 1:
        lines.append(f"**Top-k** is the average over {views} views of the clip: as given, mirrored and transposed, "
                     "each view's labels mapped back (a mirrored *moving left* counts for *moving right*). Time is "
                     "never reversed in a view. The attention maps and class relevance show the clip as given.")
    lines.append(scores(rec))
    if config.norm_pix_loss:
        lines.append(f"Hidden-patch statistics: **{s.stats}**" + (" (uses the hidden patches' true mean/std: "
                     "this leaks)" if s.stats == "paper" else " (estimated from visible neighbours)"))
    notes = "; ".join(a.clip.notes)
    lines.append(f"Frames {list(a.clip.indices)} of a {a.clip.duration:.1f} s clip at {a.clip.fps:.1f} fps"
                 + (f". {notes}" if notes else ""))
    lines.append("Timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in a.timings.items())
                 + (" (when this clip was first analysed with these settings; this time the analysis came from the "
                    "cache)" if session.cached else ""))
    return "\n\n".join(lines)


def scores(rec: Reconstruction) -> str:
    """The decoder's masked-patch PSNR beside the classical fills', and what the decoder adds over smoothing, as
    Markdown."""
    if rec.psnr is None:
        return "Nothing is masked at ratio 0, so there is nothing to reconstruct or score."
    copy = (f"**copy** from the nearest slice where the patch is visible {rec.copy_psnr:.2f} dB"
            if rec.copy_psnr is not None else "**copy**: impossible, every hidden patch is hidden in every slice")
    return (f"**Masked-patch PSNR** (hidden pixels only, leak-free): **decoder** {rec.psnr:.2f} dB · **mean colour** "
            f"{rec.baseline_psnr:.2f} dB · **interpolation** {rec.interpolation_psnr:.2f} dB · {copy}. "
            f"The decoder adds {rec.psnr - rec.interpolation_psnr:+.2f} dB over a blur of the visible pixels and "
            f"{rec.psnr - rec.baseline_psnr:+.2f} dB over the mean colour." + (
                f" The decoder's picture is the mean of {rec.views} passes, over the clip as given and its mirrored "
                "and transposed copies, each hiding the same patches: nothing hidden is seen, and the passes' "
                "different guesses average out." if rec.views > 1 else ""))


def compare_sentence(results: dict[str, dict]) -> str:
    """One plain sentence that reads the comparison: what copying gets under random masking, what it cannot do
    under tube masking, and where the decoder stands."""
    random, tube = results["random"], results["tube"]
    copy = ("nothing can be copied" if random["copy_psnr"] is None
            else f"copying each hidden patch from the nearest frame where it is visible already gets "
                 f"{random['copy_psnr']:.1f} dB")
    return (f"Under random masking {copy} (the decoder: {random['psnr']:.1f} dB); under tube masking no hidden "
            f"patch is visible in any frame, so copying is impossible and the decoder gets {tube['psnr']:.1f} dB "
            f"against {tube['interpolation_psnr']:.1f} dB for a blur of the visible pixels. That shortcut is why "
            "VideoMAE hides the same positions in every frame.")


def compare_strategies(session: Session | None, progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
    """The comparison panel for the analysed clip, ratio and seed -> (bar chart PNG path, the sentence)."""
    if session is None:
        raise refuse("Run an analysis first.")
    progress(0.0, desc="masking the clip four ways")
    pipeline = get_pipeline(session.preset)
    results = pipeline.compare_masking(session.analysis.reconstructor_input, session.settings)
    fig = strategies_figure(results, session.settings.mask_ratio)
    return request_png(figure_to_array(fig), request_folder(), "strategies"), compare_sentence(results)


def download_all(session: Session | None, progress: gr.Progress = gr.Progress()) -> str:
    """One zip of the analysis, for slides and rooms without a network: the lab's grids, the attention figures
    (rollout, relevance of the top class), the side-by-side MP4 and ``analysis.json`` (the settings and numbers, as
    the CLI prints them, with ``files`` listing what the zip holds) -> the zip's path."""
    if session is None:
        raise refuse("Run an analysis first.")
    progress(0.0, desc="writing the figures and the video")
    pipeline, analysis = get_pipeline(session.preset), session.analysis
    folder = request_folder()
    top1 = pipeline.class_id(analysis.labels[0][0]) if analysis.attention is not None else None
    outputs = export_analysis(pipeline, analysis, folder / "files", relevance_class=top1)
    record = analysis_record(pipeline, analysis, session.settings, session.clip, analysis.timings, outputs)
    record["files"] = sorted(Path(path).name for path in outputs.values())
    record["outputs"] = {name: Path(path).name for name, path in outputs.items()}
    archive = folder / "videomae-lab.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in outputs.values():
            bundle.write(path, Path(path).name)
        bundle.writestr("analysis.json", json.dumps(record, indent=2) + "\n")
    return str(archive)


def sweep(session: Session | None, progress: gr.Progress = gr.Progress()) -> str:
    """Masked-patch PSNR against the ratio for the same clip, strategy and seed."""
    if session is None:
        raise refuse("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    series: dict[str, list[float | None]] = {"decoder": [], "interpolation": [], "copy": [], "mean": []}
    for i, ratio in enumerate(SWEEP_RATIOS):
        progress(i / len(SWEEP_RATIOS), desc=f"ratio {ratio:.2f}")
        s = session.settings
        rec = pipeline.reconstruct(session.analysis.reconstructor_input,
                                   Settings(mask_ratio=ratio, masking=s.masking, seed=s.seed, stats=s.stats,
                                            views=s.views))
        for name, value in (("decoder", rec.psnr), ("interpolation", rec.interpolation_psnr),
                            ("copy", rec.copy_psnr), ("mean", rec.baseline_psnr)):
            series[name].append(value)
    fig = sweep_figure(list(SWEEP_RATIOS), series, session.settings.mask_ratio)
    return request_png(figure_to_array(fig), request_folder(), "sweep")
