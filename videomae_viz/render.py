"""Pictures from numpy arrays: frame grids, masked and predicted views, side-by-side videos, figures.

numpy, PIL and matplotlib's object-oriented ``Figure`` API only: no torch, and never pyplot's global state (the app
renders in worker threads). Frames are uint8 (T, H, W, 3); pixel masks are bool (T, H, W), True = masked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image, ImageDraw, ImageFont

GREY = np.array([96, 96, 96], dtype=np.uint8)  # what hidden (or not predicted) patches look like


def masked_view(frames: np.ndarray, pixel_mask: np.ndarray) -> np.ndarray:
    """What the encoder sees: masked patches grey. (T, H, W, 3) uint8, (T, H, W) bool -> (T, H, W, 3) uint8."""
    return np.where(pixel_mask[..., None], GREY, frames)


def prediction_view(predicted: np.ndarray, pixel_mask: np.ndarray) -> np.ndarray:
    """Only what the decoder predicted: visible patches grey, since VideoMAE's decoder outputs masked ones only."""
    return np.where(pixel_mask[..., None], predicted, GREY)


def upscale(frames: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (..., H, W, 3) by an integer factor, so patch edges stay sharp."""
    if factor <= 1:
        return frames
    return frames.repeat(factor, axis=-3).repeat(factor, axis=-2)


def grid(frames: np.ndarray, columns: int = 8, gap: int = 2) -> np.ndarray:
    """(T, H, W, 3) uint8 -> one (rows*H + gaps, columns*W + gaps, 3) uint8 image, frames left to right, white gaps."""
    T, H, W, _ = frames.shape
    columns = min(columns, T)
    rows = -(-T // columns)
    out = np.full((rows * H + (rows - 1) * gap, columns * W + (columns - 1) * gap, 3), 255, dtype=np.uint8)
    for i, frame in enumerate(frames):
        r, c = divmod(i, columns)
        out[r * (H + gap): r * (H + gap) + H, c * (W + gap): c * (W + gap) + W] = frame
    return out


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def titled_columns(columns: list[np.ndarray], titles: list[str], gap: int = 4) -> np.ndarray:
    """Equal-shaped (T, H, W, 3) videos side by side with a title strip on top -> (T, H + bar, k*W + gaps, 3)."""
    T, H, W, _ = columns[0].shape
    bar = max(16, H // 10)
    width = len(columns) * W + (len(columns) - 1) * gap
    header = Image.new("RGB", (width, bar), "white")
    draw = ImageDraw.Draw(header)
    font = _font(int(bar * 0.7))
    for i, title in enumerate(titles):
        left = i * (W + gap)
        draw.text((left + W // 2, bar // 2), title, fill="black", font=font, anchor="mm")
    out = np.full((T, bar + H, width, 3), 255, dtype=np.uint8)
    out[:, :bar] = np.asarray(header)
    for i, video in enumerate(columns):
        out[:, bar:, i * (W + gap): i * (W + gap) + W] = video
    return out


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """(H, W, 3) uint8 -> PNG file."""
    Image.fromarray(image).save(path, format="PNG")
    return Path(path)


def panels(frames: np.ndarray, predicted: np.ndarray, pixel_mask: np.ndarray) -> dict[str, np.ndarray]:
    """The masking lab's four videos, each (T, H, W, 3) uint8: the input, what the encoder sees, what the decoder
    predicted (alone), and the prediction with the visible patches pasted back."""
    return {
        "original": frames,
        "masked": masked_view(frames, pixel_mask),
        "prediction": prediction_view(predicted, pixel_mask),
        "reconstruction": predicted,
    }


def heatmap_figure(frames: np.ndarray, heat: np.ndarray, tubelet: int, title: str, label: str,
                   marker: tuple[int, int, int] | None = None, patch: int = 16, cmap: str = "inferno") -> Figure:
    """Token values over the frames: one panel per tubelet time slice (its first frame under the map, nearest
    upsampling, alpha 0.55), a colour bar, and the share of the map's mass per time slice underneath.

    frames (T, H, W, 3) uint8; heat (t, h, w) float, non-negative; marker (t, row, col) outlines one token.
    """
    t = heat.shape[0]
    H, W = frames.shape[1:3]
    fig = Figure(figsize=(max(6.0, 1.45 * t + 1.2), 3.5), dpi=110, layout="constrained")
    rows = fig.add_gridspec(2, t, height_ratios=(3.2, 1.0))
    norm = Normalize(vmin=0.0, vmax=max(float(heat.max()), 1e-12))
    panels_axes = []
    for i in range(t):
        ax = fig.add_subplot(rows[0, i])
        ax.imshow(frames[i * tubelet], extent=(0, W, H, 0))
        ax.imshow(heat[i], cmap=cmap, norm=norm, alpha=0.55, extent=(0, W, H, 0), interpolation="nearest")
        if marker is not None and marker[0] == i:
            ax.add_patch(Rectangle((marker[2] * patch, marker[1] * patch), patch, patch, fill=False, edgecolor="cyan",
                                   linewidth=2))
        ax.set_title(f"frames {i * tubelet}–{i * tubelet + tubelet - 1}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
        panels_axes.append(ax)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=panels_axes, shrink=0.9, label=label)
    profile = heat.reshape(t, -1).sum(axis=1)
    profile = profile / max(float(profile.sum()), 1e-12)
    bars = fig.add_subplot(rows[1, :])
    bars.bar(np.arange(t), profile, color="#555555")
    bars.set_xticks(np.arange(t), [f"{i * tubelet}–{i * tubelet + tubelet - 1}" for i in range(t)], fontsize=7)
    bars.set_ylabel("share", fontsize=7)
    bars.set_xlabel("mass per time slice (frames)", fontsize=7)
    bars.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    return fig


def figure_to_array(fig: Figure) -> np.ndarray:
    """Rasterise a Figure -> (H, W, 3) uint8, without pyplot."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
