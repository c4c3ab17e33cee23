"""Rendering: the heat overlay puts each token's colour on its own patch, the heatmap figure draws the query
marker, and parallel rendering keeps the order of its jobs."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import Normalize

from videomae_viz.render import (
    SIDE_BY_SIDE,
    figure_to_array,
    heat_overlay,
    heatmap_figure,
    panels,
    run_all,
    side_by_side,
    strategies_figure,
    sweep_figure,
)

CYAN = np.array([0, 255, 255])


def test_heat_overlay_colours_exactly_the_token_patch():
    frame = np.full((96, 96, 3), 100, dtype=np.uint8)
    heat = np.zeros((6, 6), dtype=np.float32)
    heat[2, 3] = 1.0  # token (row 2, col 3): pixels rows 32-47, columns 48-63 with patch 16
    out = heat_overlay(frame, heat, Normalize(0.0, 1.0), "inferno", alpha=0.55)
    hot = np.round(0.45 * 100 + 0.55 * 255 * np.array(colormaps["inferno"](1.0)[:3])).astype(np.uint8)
    cold = np.round(0.45 * 100 + 0.55 * 255 * np.array(colormaps["inferno"](0.0)[:3])).astype(np.uint8)
    inside = np.zeros((96, 96), dtype=bool)
    inside[32:48, 48:64] = True
    assert (out[inside] == hot).all()
    assert (out[~inside] == cold).all()


@pytest.mark.parametrize("side", [96, 224])
def test_heatmap_figure_draws_the_marker_only_when_asked(side):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 200, (4, side, side, 3), dtype=np.uint8)
    grid = side // 16
    heat = rng.random((2, grid, grid)).astype(np.float32)
    plain = figure_to_array(heatmap_figure(frames, heat, 2, "title", "label"))
    marked = figure_to_array(heatmap_figure(frames, heat, 2, "title", "label", marker=(1, 2, 3)))
    assert plain.dtype == np.uint8 and plain.ndim == 3 and plain.shape == marked.shape
    cyan = (np.abs(marked.astype(int) - CYAN).sum(axis=-1) < 40)
    assert not (np.abs(plain.astype(int) - CYAN).sum(axis=-1) < 40).any()
    ys, xs = np.nonzero(cyan)
    assert len(xs) > 20
    assert xs.min() > plain.shape[1] * 0.4  # the second of two panels, not the first
    assert (plain != marked).any(axis=-1).sum() < plain.shape[0] * plain.shape[1] * 0.01  # only the outline differs


def test_run_all_keeps_job_order_and_raises_job_errors():
    assert run_all([lambda i=i: i * i for i in range(7)]) == [i * i for i in range(7)]

    def fails() -> None:
        raise ValueError("bad job")

    with pytest.raises(ValueError, match="bad job"):
        run_all([lambda: 1, fails])


def test_the_side_by_side_video_shows_the_four_columns_in_order():
    colours = {"original": 10, "masked": 60, "prediction": 110, "+ visible": 160, "interpolation": 210}
    views = {name: np.full((3, 40, 40, 3), value, dtype=np.uint8) for name, value in colours.items()}
    video = side_by_side(views, 0.9)
    assert video.shape[0] == 3 and video.shape[2] == 4 * 40 + 3 * 4  # four columns, gaps of 4 pixels
    bottom = video[0, -1]  # the last row of pixels: below the titles
    for i, name in enumerate(SIDE_BY_SIDE):
        assert (bottom[i * 44 + 20] == colours[name]).all()
    assert "prediction" not in SIDE_BY_SIDE


def test_the_lab_panels_include_the_interpolation_row():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    mask = np.zeros((2, 8, 8), bool)
    mask[:, :4] = True
    interpolated = np.full_like(frames, 77)
    views = panels(frames, frames, mask, interpolated)
    assert list(views) == ["original", "masked", "prediction", "+ visible", "interpolation"]
    assert (views["interpolation"] == 77).all()


def test_the_sweep_leaves_out_a_fill_where_it_has_nothing():
    fig = sweep_figure([0.5, 0.9], {"decoder": [20.0, 18.0], "copy": [None, None], "mean": [15.0, 14.0]}, 0.9)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "VideoMAE decoder" in labels and "mean colour of visible patches" in labels
    assert not any("copy" in label for label in labels)


def test_the_strategy_chart_marks_a_fill_that_cannot_work():
    row = {"psnr": 20.0, "interpolation_psnr": 19.0, "copy_psnr": 25.0, "baseline_psnr": 15.0, "visible_tokens": 80}
    results = {"tube": {**row, "copy_psnr": None}, "random": row}
    ax = strategies_figure(results, 0.75).axes[0]
    assert len(ax.patches) == 7  # four bars for random, three for tube
    assert [t.get_text() for t in ax.texts] == ["none"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["tube\n80 visible", "random\n80 visible"]


def test_the_strategy_chart_names_every_fill_in_its_legend():
    row = {"psnr": 20.0, "interpolation_psnr": 19.0, "copy_psnr": 25.0, "baseline_psnr": 15.0, "visible_tokens": 80}
    ax = strategies_figure({"tube": {**row, "copy_psnr": None}, "random": row}, 0.75).axes[0]
    assert len(ax.get_legend().get_texts()) == 4
