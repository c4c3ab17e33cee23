"""The masking lab panel: the lab grid, the error per patch, the side-by-side video, the counters and the
masking-ratio sweep."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from ..pipeline import Analysis, Settings, VideoMAEPipeline
from ..render import figure_to_array, heatmap_figure, lab_grid, sweep_figure
from ..video_io import write_mp4
from .limits import Session, request_folder, request_png
from .presets import get_pipeline

SWEEP_RATIOS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def lab_image(views: dict[str, np.ndarray], folder: Path) -> str:
    """The lab grid: original / masked / prediction / + visible for every sampled frame -> PNG path."""
    return request_png(lab_grid(views), folder, "lab")


def error_image(pipeline: VideoMAEPipeline, analysis: Analysis, folder: Path) -> str:
    """The squared error per hidden patch over the frames -> PNG path."""
    config = pipeline.reconstructor_config
    error = analysis.reconstruction.patch_error.reshape(config.grid).numpy()
    fig = heatmap_figure(analysis.frames, error, config.tubelet_size,
                         "Squared error per hidden patch (visible patches are 0)", "mean squared error",
                         patch=config.patch_size, cmap="viridis")
    return request_png(figure_to_array(fig), folder, "error")


def side_by_side_video(views: dict[str, np.ndarray], folder: Path) -> str:
    """Original, masked and + visible side by side as an MP4 to play and download -> its path."""
    side = np.concatenate([views[name] for name in ("original", "masked", "+ visible")], axis=2)
    return str(write_mp4(side, folder / "side_by_side.mp4", fps=4.0))


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
    views = pipeline.classifier_views
    if views > 1:
        lines.append(f"**Top-k** is the average over {views} views of the clip: as given, mirrored and transposed, "
                     "each view's labels mapped back (a mirrored *moving left* counts for *moving right*). Time is "
                     "never reversed in a view. The attention maps and class relevance show the clip as given.")
    if rec.psnr is None:
        lines.append("Nothing is masked at ratio 0, so there is nothing to reconstruct or score.")
    else:
        lines.append(f"**Masked-patch PSNR** {rec.psnr:.2f} dB vs **baseline** {rec.baseline_psnr:.2f} dB "
                     f"({rec.psnr - rec.baseline_psnr:+.2f} dB)")
    if config.norm_pix_loss:
        lines.append(f"Hidden-patch statistics: **{s.stats}**" + (" (uses the hidden patches' true mean/std: "
                     "this leaks)" if s.stats == "paper" else " (estimated from visible neighbours)"))
    notes = "; ".join(a.clip.notes)
    lines.append(f"Frames {list(a.clip.indices)} of a {a.clip.duration:.1f} s clip at {a.clip.fps:.1f} fps"
                 + (f". {notes}" if notes else ""))
    lines.append("Timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in a.timings.items()))
    return "\n\n".join(lines)


def sweep(session: Session | None, progress: gr.Progress = gr.Progress()) -> str:
    """Masked-patch PSNR against the ratio for the same clip, strategy and seed."""
    if session is None:
        raise gr.Error("Run an analysis first.")
    pipeline = get_pipeline(session.preset)
    proc = pipeline.reconstructor_processor
    pixel_values = proc(session.analysis.clip.frames)["pixel_values"]
    psnr, baseline = [], []
    for i, ratio in enumerate(SWEEP_RATIOS):
        progress(i / len(SWEEP_RATIOS), desc=f"ratio {ratio:.2f}")
        s = session.settings
        rec = pipeline.reconstruct(pixel_values, Settings(mask_ratio=ratio, masking=s.masking, seed=s.seed, stats=s.stats))
        psnr.append(rec.psnr)
        baseline.append(rec.baseline_psnr)
    fig = sweep_figure(list(SWEEP_RATIOS), psnr, baseline, session.settings.mask_ratio)
    return request_png(figure_to_array(fig), request_folder(), "sweep")
