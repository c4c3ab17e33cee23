"""Files a person can keep: frame grids and attention figures as PNG, the side-by-side video as H.264 MP4.

Everything here takes plain arrays; turning an analysis into them is the caller's (``cli.export_analysis``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .render import figure_to_array, grid, heatmap_figure, run_all, save_png, side_by_side
from .video_io import write_mp4

GRID_FILES = {"original": "original", "masked": "masked", "prediction": "prediction", "+ visible": "reconstruction",
              "interpolation": "interpolation"}  # lab view -> file name


@dataclass(frozen=True)
class HeatMap:
    """One attention figure: per-token values over the frames they cover."""

    frames: np.ndarray  # (T, H, W, 3) uint8
    values: np.ndarray  # (t, h, w) float32
    tubelet: int
    patch: int
    title: str
    label: str  # what the colour bar measures


def export_files(directory: str | Path, views: Mapping[str, np.ndarray], mask_ratio: float,
                 heatmaps: Mapping[str, HeatMap] | None = None, fps: float = 4.0) -> dict[str, str]:
    """Write a PNG grid per lab view (``render.displayed_panels``), side_by_side.mp4 (``render.side_by_side``) and a
    PNG figure per heat map, several files at once. Returns {name: path}."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    jobs: dict[str, Callable[[], Path]] = {}
    for name, heat in (heatmaps or {}).items():  # figures first: they hold the GIL
        jobs[name] = functools.partial(_figure_png, heat, directory / f"{name}.png")
    jobs["side_by_side"] = lambda: write_mp4(side_by_side(views, mask_ratio), directory / "side_by_side.mp4", fps=fps)
    for view, name in GRID_FILES.items():
        jobs[name] = functools.partial(_grid_png, views[view], directory / f"{name}.png")
    return {name: str(path) for name, path in zip(jobs, run_all(list(jobs.values())))}


def _grid_png(video: np.ndarray, path: Path) -> Path:
    return save_png(grid(video), path)


def _figure_png(heat: HeatMap, path: Path) -> Path:
    fig = heatmap_figure(heat.frames, heat.values, heat.tubelet, heat.title, heat.label, patch=heat.patch)
    return save_png(figure_to_array(fig), path)
