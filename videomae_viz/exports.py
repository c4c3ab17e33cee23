"""Files a person can keep: frame grids and attention figures as PNG, the side-by-side video as H.264 MP4."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .config import VideoMAEConfig
from .pipeline import Analysis, VideoMAEPipeline
from .render import displayed_panels, figure_to_array, grid, heatmap_figure, run_all, save_png, titled_columns
from .video_io import write_mp4


def export_files(pipeline: VideoMAEPipeline, analysis: Analysis, directory: str | Path,
                 relevance_class: int | None = None, fps: float = 4.0) -> dict[str, str]:
    """Write original/masked/prediction/reconstruction grids, side_by_side.mp4 and, when the analysis has attention
    maps, attention.png (rollout) and relevance.png (for ``relevance_class``), several files at once. Returns
    {name: path}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    jobs: dict[str, Callable[[], Path]] = {}
    if analysis.attention is not None:
        config = pipeline.classifier_config
        figures = {"attention": (analysis.attention.rollout[-1], "Attention rollout through all layers (head mean), "
                                 "read out for mean pooling", "share of the pooled output")}
        if relevance_class is not None:
            maps = pipeline.relevance(analysis, relevance_class)
            figures["relevance"] = (maps[-1].clamp(min=0), f"Class relevance for '{pipeline.label(relevance_class)}' "
                                    "(Chefer et al. 2021, all layers)", "relevance")
        for name, (values, title, label) in figures.items():
            heat = values.reshape(config.grid).numpy().astype(np.float32)
            jobs[name] = functools.partial(_figure_png, analysis.classifier_frames, heat, config, title, label,
                                           directory / f"{name}.png")
    views = displayed_panels(analysis.frames, analysis.predicted, analysis.pixel_mask)
    ratio = 1 - analysis.visible_tokens / analysis.tokens
    titles = ["original", f"masked {ratio:.0%}", "prediction", "+ visible"]
    jobs["side_by_side"] = lambda: write_mp4(titled_columns(list(views.values()), titles),
                                             directory / "side_by_side.mp4", fps=fps)
    files = {"original": "original", "masked": "masked", "prediction": "prediction", "+ visible": "reconstruction"}
    for view, name in files.items():
        jobs[name] = functools.partial(_grid_png, views[view], directory / f"{name}.png")
    return {name: str(path) for name, path in zip(jobs, run_all(list(jobs.values())))}


def _grid_png(video: np.ndarray, path: Path) -> Path:
    return save_png(grid(video), path)


def _figure_png(frames: np.ndarray, heat: np.ndarray, config: VideoMAEConfig, title: str, label: str,
                path: Path) -> Path:
    fig = heatmap_figure(frames, heat, config.tubelet_size, title, label, patch=config.patch_size)
    return save_png(figure_to_array(fig), path)
