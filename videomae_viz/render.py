"""Pictures from numpy arrays: frame grids, masked and predicted views, side-by-side videos, figures.

numpy, PIL and matplotlib's object-oriented ``Figure`` API only: no torch, and never pyplot's global state (the app
renders in worker threads). Frames are uint8 (T, H, W, 3); pixel masks are bool (T, H, W), True = masked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image, ImageDraw, ImageFont

GREY = np.array([96, 96, 96], dtype=np.uint8)  # what hidden (or not predicted) patches look like
RENDER_THREADS = min(4, os.cpu_count() or 1)
T = TypeVar("T")


def run_all(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run independent rendering jobs on ``RENDER_THREADS`` threads; their results in order. PNG compression and
    H.264 encoding release the GIL, so they overlap with figure drawing (which holds it): list figures first."""
    with ThreadPoolExecutor(max_workers=RENDER_THREADS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def masked_view(frames: np.ndarray, pixel_mask: np.ndarray) -> np.ndarray:
    """What the encoder sees: masked patches grey. (T, H, W, 3) uint8, (T, H, W) bool -> (T, H, W, 3) uint8."""
    return np.where(pixel_mask[..., None], GREY, frames)


def prediction_view(predicted: np.ndarray, pixel_mask: np.ndarray) -> np.ndarray:
    """Only what the decoder predicted: visible patches grey, since VideoMAE's decoder outputs masked ones only."""
    return np.where(pixel_mask[..., None], predicted, GREY)


DISPLAY_SIDE = 224  # frames smaller than this are upscaled (nearest) so patches stay visible


def display_factor(side: int) -> int:
    """The integer factor ``upscale`` uses to show frames of ``side`` pixels: DISPLAY_SIDE // side, at least 1."""
    return max(1, DISPLAY_SIDE // side)


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
    """(H, W, 3) uint8 -> PNG file, at zlib level 1: several times faster to write than the default 6, for files
    about 40% larger."""
    Image.fromarray(image).save(path, format="PNG", compress_level=1)
    return Path(path)


def panels(frames: np.ndarray, predicted: np.ndarray, pixel_mask: np.ndarray,
           interpolated: np.ndarray) -> dict[str, np.ndarray]:
    """The masking lab's videos, each (T, H, W, 3) uint8: the input, what the encoder sees, what the decoder
    predicted (alone), the prediction with the visible patches pasted back, and the classical fill beside it (a
    Gaussian interpolation of the visible pixels, visible patches pasted back)."""
    return {
        "original": frames,
        "masked": masked_view(frames, pixel_mask),
        "prediction": prediction_view(predicted, pixel_mask),
        "+ visible": predicted,
        "interpolation": interpolated,
    }


def displayed_panels(frames: np.ndarray, predicted: np.ndarray, pixel_mask: np.ndarray,
                     interpolated: np.ndarray) -> dict[str, np.ndarray]:
    """``panels`` as the app and the exports show them, upscaled by ``display_factor``: (T, H', W', 3) uint8 each."""
    factor = display_factor(frames.shape[1])
    return {name: upscale(view, factor) for name, view in panels(frames, predicted, pixel_mask, interpolated).items()}


def first_of_slices(views: dict[str, np.ndarray], tubelet: int) -> dict[str, np.ndarray]:
    """The first frame of every tubelet time slice of each (T, H, W, 3) view -> (T / tubelet, H, W, 3) each: one
    frame per token time slice, for the compact grids of the drawn mask and the lesson."""
    return {name: view[::tubelet] for name, view in views.items()}


SIDE_BY_SIDE = ("original", "masked", "+ visible", "interpolation")  # the columns of the side-by-side video


def side_by_side(views: dict[str, np.ndarray], mask_ratio: float) -> np.ndarray:
    """The side-by-side video the app plays and the exports write: original | masked | decoder + visible |
    interpolation, titled. views as from ``displayed_panels`` -> (T, H', W', 3) uint8."""
    titles = {"original": "original", "masked": f"masked {mask_ratio:.0%}", "+ visible": "decoder + visible",
              "interpolation": "interpolation"}
    return titled_columns([views[name] for name in SIDE_BY_SIDE], [titles[name] for name in SIDE_BY_SIDE])


def heat_overlay(frame: np.ndarray, heat: np.ndarray, norm: Normalize, cmap: str, alpha: float = 0.55) -> np.ndarray:
    """One time slice's map over its frame: (H, W, 3) uint8 and (h, w) float -> (H, W, 3) uint8, each token's colour
    (nearest upsampling over its patch) blended with weight ``alpha`` over the frame."""
    H, W = frame.shape[:2]
    h, w = heat.shape
    colours = colormaps[cmap](norm(heat))[..., :3].astype(np.float32)  # (h, w, 3) in [0, 1]
    up = colours[(np.arange(H) * h) // H][:, (np.arange(W) * w) // W]  # (H, W, 3)
    return np.round((1 - alpha) * frame + (alpha * 255) * up).astype(np.uint8)


def heatmap_figure(frames: np.ndarray, heat: np.ndarray, tubelet: int, title: str, label: str,
                   marker: tuple[int, int, int] | None = None, patch: int = 16, cmap: str = "inferno") -> Figure:
    """Token values over the frames: one panel per tubelet time slice (its first frame under the map, see
    ``heat_overlay``), a colour bar, and the share of the map's mass per time slice underneath.

    frames (T, H, W, 3) uint8; heat (t, h, w) float; marker (t, row, col) outlines one token.
    The panels are composed into one image and drawn on one axes: a figure of many small axes takes several times
    longer to build and draw, and the app redraws this figure whenever the layer, head or mode changes.
    """
    t = heat.shape[0]
    H, W = frames.shape[1:3]
    low, high = float(heat.min()), float(heat.max())
    norm = Normalize(vmin=low, vmax=max(high, low + 1e-12))  # the colour bar states the range
    gap = max(2, round(W * 0.045))  # white pixels between panels
    panels_list = [heat_overlay(frames[i * tubelet], heat[i], norm, cmap) for i in range(t)]
    image = np.concatenate(_interleave(panels_list, gap, axis=1), axis=1)  # (H, t*W + (t-1)*gap, 3)
    panel = 1.35  # inches per frame panel; the rest of the layout in inches too, so no layout engine is needed
    image_w = panel * image.shape[1] / H
    left, right, bottom, bars_h, between, top = 0.55, 1.0, 0.5, 0.8, 0.45, 0.75
    width, height = left + image_w + right, bottom + bars_h + between + panel + top
    dpi = 110
    fig = Figure(figsize=(width, height), dpi=dpi)
    ax = fig.add_axes((left / width, (bottom + bars_h + between) / height, image_w / width, panel / height))
    sharp = H <= panel * dpi  # enlarged: keep patch edges sharp; reduced: smooth, without aliasing
    ax.imshow(image, extent=(0, image.shape[1], H, 0), interpolation="nearest" if sharp else "antialiased")
    ax.set_axis_off()
    centres = [i * (W + gap) + W / 2 for i in range(t)]
    spans = [f"{i * tubelet}–{i * tubelet + tubelet - 1}" for i in range(t)]
    for centre, span in zip(centres, spans):
        ax.text(centre, -H * 0.04, f"frames {span}", ha="center", va="bottom", fontsize=7)
    if marker is not None:
        x0 = marker[0] * (W + gap) + marker[2] * patch
        ax.add_patch(Rectangle((x0, marker[1] * patch), patch, patch, fill=False, edgecolor="cyan", linewidth=2))
    colour_bar = fig.add_axes(((left + image_w + 0.15) / width, (bottom + bars_h + between) / height, 0.12 / width,
                               panel / height))
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=colour_bar, label=label)
    profile = heat.reshape(t, -1).sum(axis=1)
    profile = profile / max(float(profile.sum()), 1e-12)
    bars = fig.add_axes((left / width, bottom / height, image_w / width, bars_h / height))
    bars.bar(centres, profile, width=W * 0.8, color="#555555")
    bars.set_xlim(0, image.shape[1])
    bars.set_xticks(centres, spans, fontsize=7)
    bars.set_ylabel("share", fontsize=7)
    bars.set_xlabel("mass per time slice (frames)", fontsize=7)
    bars.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9, y=1 - 0.08 / height, va="top")
    return fig


def figure_to_array(fig: Figure) -> np.ndarray:
    """Rasterise a Figure -> (H, W, 3) uint8, without pyplot."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def lab_grid(views: dict[str, np.ndarray], columns: int = 8, gap: int = 3) -> np.ndarray:
    """The masking lab as one image: for each run of ``columns`` frames, one row per view (labelled on the left),
    frames left to right. views: name -> (T, H, W, 3) uint8, all the same shape -> (H', W', 3) uint8."""
    names = list(views)
    T, H, W, _ = views[names[0]].shape
    label_width = max(120, W * 3 // 4)
    font = _font(max(11, H // 9))
    blocks = []
    for first in range(0, T, columns):
        rows = []
        for name in names:
            label = Image.new("RGB", (label_width, H), "white")
            ImageDraw.Draw(label).text((label_width - 6, H // 2), name, fill="black", font=font, anchor="rm")
            frames = views[name][first:first + columns]
            strip = grid(frames, columns=columns, gap=gap)
            pad = np.full((H, columns * W + (columns - 1) * gap - strip.shape[1], 3), 255, dtype=np.uint8)
            rows.append(np.concatenate([np.asarray(label), strip, pad], axis=1))
        blocks.append(np.concatenate(_interleave(rows, gap), axis=0))
    return np.concatenate(_interleave(blocks, 4 * gap), axis=0)


def _interleave(images: list[np.ndarray], gap: int, axis: int = 0) -> list[np.ndarray]:
    """Images of equal width (axis 0) or height (axis 1) with white bars ``gap`` pixels thick between them."""
    out: list[np.ndarray] = []
    for i, image in enumerate(images):
        if i:
            shape = (gap, image.shape[1], 3) if axis == 0 else (image.shape[0], gap, 3)
            out.append(np.full(shape, 255, dtype=np.uint8))
        out.append(image)
    return out


@dataclass(frozen=True)
class Strip:
    """One frame per tubelet time slice, side by side, upscaled, with the patch grid drawn: the picture a person
    clicks to choose a query patch. Pixel (x, y) of the image maps back to a token (t, row, col)."""

    slices: int  # t
    side: int  # frame side in model pixels
    patch: int
    factor: int  # display upscaling
    gap: int = 6

    def image(self, frames: np.ndarray, tubelet: int, marker: tuple[int, int, int] | None = None) -> np.ndarray:
        """frames (T, H, W, 3) uint8 -> (side*factor, slices*(side*factor + gap) - gap, 3) uint8."""
        panels_list = []
        cell = self.patch * self.factor
        for i in range(self.slices):
            panel = upscale(frames[i * tubelet], self.factor).copy()
            panel[::cell] = panel[::cell] // 2 + 64  # faint grid lines on patch borders
            panel[:, ::cell] = panel[:, ::cell] // 2 + 64
            if marker is not None and marker[0] == i:
                y, x = marker[1] * cell, marker[2] * cell
                panel[y:y + cell, x:x + 2] = panel[y:y + cell, x + cell - 2:x + cell] = (0, 255, 255)
                panel[y:y + 2, x:x + cell] = panel[y + cell - 2:y + cell, x:x + cell] = (0, 255, 255)
            panels_list.append(panel)
        return np.concatenate(_interleave(panels_list, self.gap, axis=1), axis=1)

    def token_at(self, x: int, y: int) -> tuple[int, int, int] | None:
        """Image pixel (x, y) -> (t, row, col), or None on a gap or outside."""
        panel = self.side * self.factor
        t, offset = divmod(int(x), panel + self.gap)
        if not (0 <= t < self.slices and offset < panel and 0 <= y < panel):
            return None
        cell = self.patch * self.factor
        return t, int(y) // cell, offset // cell


def shade_cells(image: np.ndarray, cells: np.ndarray, cell: int) -> np.ndarray:
    """A person's drawn mask over one frame: (H, W, 3) uint8 with patch cells of ``cell`` pixels, (h, w) bool cells
    (True = hidden) -> (H, W, 3) uint8, hidden cells washed grey so the scene still shows through."""
    hidden = cells.repeat(cell, axis=0).repeat(cell, axis=1)[..., None]  # (H, W, 1)
    washed = (0.35 * image + 0.65 * GREY).astype(np.uint8)
    return np.where(hidden, washed, image)


SWEEP_STYLES = {  # series name -> (matplotlib format, colour, legend)
    "decoder": ("o-", "#d1495b", "VideoMAE decoder"),
    "interpolation": ("^-", "#2e86ab", "interpolation of visible pixels"),
    "copy": ("v:", "#8f6593", "copy from the nearest slice where visible"),
    "mean": ("s--", "#555555", "mean colour of visible patches"),
}


def sweep_figure(ratios: list[float], series: dict[str, list[float | None]], chosen: float) -> Figure:
    """Masked-patch PSNR of the decoder and of the classical fills against the masking ratio; series names are
    ``SWEEP_STYLES`` keys, None where a fill has nothing to work with (copying under tube masking)."""
    fig = Figure(figsize=(6.0, 3.4), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    for name, values in series.items():
        points = [(r, v) for r, v in zip(ratios, values) if v is not None]
        if points:
            fmt, colour, label = SWEEP_STYLES[name]
            ax.plot(*zip(*points), fmt, color=colour, label=label)
    ax.axvline(0.9, color="#00798c", linewidth=1, linestyle=":", label="0.9, the paper's ratio")
    ax.axvline(chosen, color="#edae49", linewidth=1, label=f"your setting ({chosen:.2f})")
    ax.set_xlabel("masking ratio")
    ax.set_ylabel("PSNR on masked patches (dB)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


STRATEGY_BARS = (("psnr", "decoder"), ("interpolation_psnr", "interpolation"), ("copy_psnr", "copy"),
                 ("baseline_psnr", "mean"))  # result key -> SWEEP_STYLES series


def strategies_figure(results: dict[str, dict], mask_ratio: float) -> Figure:
    """Masked-patch PSNR of the decoder and of the classical fills under each masking strategy, grouped bars;
    a fill with nothing to work with (copying under tube masking) is marked instead of drawn."""
    fig = Figure(figsize=(6.4, 3.4), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(STRATEGY_BARS)
    for i, (key, series) in enumerate(STRATEGY_BARS):
        _, colour, label = SWEEP_STYLES[series]
        drawn = [(j, values[key]) for j, values in enumerate(results.values()) if values[key] is not None]
        offset = (i - (len(STRATEGY_BARS) - 1) / 2) * width
        if drawn:
            positions, heights = zip(*drawn)
            ax.bar([j + offset for j in positions], heights, width, color=colour, label=label)
        for j, values in enumerate(results.values()):
            if values[key] is None:
                ax.text(j + offset, 0.5, "none", rotation=90, ha="center", va="bottom", fontsize=7, color=colour)
    ax.set_xticks(range(len(results)), [f"{name}\n{values['visible_tokens']} visible" for name, values in
                                        results.items()], fontsize=8)
    ax.set_ylabel("PSNR on masked patches (dB)")
    ax.set_title(f"The same clip, {mask_ratio:.0%} masked four ways", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="y")
    return fig


def layer_head_figure(values: np.ndarray, title: str, label: str, chance: float) -> Figure:
    """A layer x head heat map (L, heads) in [0, 1], each cell written out, with the value attention spread evenly
    would give (``chance``) marked on the colour bar."""
    layers, heads = values.shape
    fig = Figure(figsize=(max(3.6, 0.7 * heads + 2.4), max(2.6, 0.42 * layers + 1.4)), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="magma", vmin=0.0, vmax=1.0, aspect="auto")
    for (layer, head), value in np.ndenumerate(values):
        ax.text(head, layer, f"{value:.2f}", ha="center", va="center", fontsize=7,
                color="white" if value < 0.6 else "black")
    ax.set_xticks(range(heads), [str(h + 1) for h in range(heads)], fontsize=7)
    ax.set_yticks(range(layers), [str(layer + 1) for layer in range(layers)], fontsize=7)
    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    ax.set_title(title, fontsize=9)
    bar = fig.colorbar(image, ax=ax, label=label)
    bar.ax.axhline(chance, color="#00798c", linewidth=2)
    return fig


def topk_figure(labels: list[tuple[str, float]], pooled_tokens: int) -> Figure:
    """The classifier's answer as horizontal bars, best on top: labels [(name, probability), ...]; the title says
    how many token outputs the mean pooling averaged."""
    names, probs = zip(*labels)
    fig = Figure(figsize=(6.0, 0.45 * len(labels) + 1.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(labels)), probs, color="#00798c")
    for i, prob in enumerate(probs):
        ax.text(prob + 0.01, i, f"{prob:.1%}", va="center", fontsize=8)
    ax.set_yticks(range(len(labels)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("probability (softmax of the linear head)")
    ax.set_title(f"mean of {pooled_tokens} token outputs -> norm -> linear head", fontsize=9)
    return fig


def tokens_row(frames: np.ndarray, mask: np.ndarray, grid_shape: tuple[int, int, int], tubelet: int, patch: int,
               columns: int = 28, gap: int = 2) -> np.ndarray:
    """What the encoder is given, laid out: every visible token's patch (the first frame of its tubelet), in token
    order, ``columns`` to a row (``grid``). frames (T, H, W, 3) uint8, mask (N,) bool -> (H', W', 3) uint8."""
    t, h, w = grid_shape
    tiles = [frames[i * tubelet, r * patch:(r + 1) * patch, c * patch:(c + 1) * patch]
             for n, (i, r, c) in enumerate(np.ndindex(t, h, w)) if not mask[n]]
    return grid(np.stack(tiles), columns=columns, gap=gap)
