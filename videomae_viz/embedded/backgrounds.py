"""Colours, object fills and background canvases of the generated clips."""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


# ---------------------------------------------------------------------------------------------------------- fills
def random_colour(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour (3,) float32 in [0, 255]: grey now and then, any hue otherwise, mostly bright."""
    r = rng.random()
    if r < 0.12:
        return np.full(3, rng.uniform(0, 255), np.float32)
    s = rng.uniform(0.5, 1.0) if r < 0.6 else rng.uniform(0.0, 0.5)
    v = rng.uniform(0.35, 1.0) if rng.random() < 0.8 else rng.uniform(0.05, 0.35)
    return np.array(colorsys.hsv_to_rgb(rng.random(), s, v), np.float32) * 255


def _lerp(t: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """c0 + t (c1 - c0) for colours (3,) over t (...): (..., 3) float32 (per channel: numpy broadcasts a trailing
    axis of 3 slowly)."""
    out = np.empty(t.shape + (3,), np.float32)
    for c in range(3):
        np.multiply(t, np.float32(c1[c] - c0[c]), out=out[..., c])
        out[..., c] += np.float32(c0[c])
    return out


def _contrast(colour: np.ndarray, pixels: np.ndarray) -> float:
    """10th percentile of the RGB distance between ``colour`` and the background ``pixels``."""
    d = np.sqrt(((pixels - colour) ** 2).sum(1))
    return float(np.partition(d, len(d) // 10)[len(d) // 10])


@dataclass
class Fill:
    """How an object is coloured: solid ``c1``, or a texture between ``c1`` and ``c2`` that moves with the
    object; optionally outlined in ``edge``."""

    c1: np.ndarray
    c2: np.ndarray | None = None
    kind: str = "solid"
    p: tuple = ()
    noise: np.ndarray | None = None
    edge: np.ndarray | None = None  # outline colour
    edge_width: float = 0.0  # outline width in object units

    def colour(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Colours at object coordinates (u, v): (h, w, 3) float32 (or (3,) for a solid fill)."""
        if self.kind == "solid":
            return self.c1
        dx, dy, a, b, sharp = self.p
        if self.kind == "stripes":
            t = np.clip(sharp * np.sin((u * dx + v * dy) * a + b), -1, 1) * 0.5 + 0.5
        elif self.kind == "checker":
            t = np.clip(sharp * np.sin((u * dx + v * dy) * a + b) * np.sin((v * dx - u * dy) * a), -1, 1) * 0.5 + 0.5
        elif self.kind == "gradient":
            t = np.clip((u * dx + v * dy) * a + 0.5, 0, 1)
        elif self.kind == "rings":
            t = np.clip(sharp * np.sin(np.hypot(u - dx * 0.3, v - dy * 0.3) * a + b), -1, 1) * 0.5 + 0.5
        else:  # smooth noise looked up on a grid over [-0.8, 0.8]^2
            n = self.noise.shape[0]
            iu = np.clip(((u + 0.8) * (n / 1.6)).astype(np.int32), 0, n - 1)
            iv = np.clip(((v + 0.8) * (n / 1.6)).astype(np.int32), 0, n - 1)
            t = self.noise[iv, iu]
        return _lerp(t, self.c1, self.c2)


def make_fill(rng: np.random.Generator, pixels: np.ndarray | None, min_contrast: float, *, plain: bool = False,
              tries: int = 24) -> tuple[Fill, float]:
    """A fill whose colours keep ``min_contrast`` from ``pixels`` if possible; returns (fill, achieved contrast)."""
    textured = not plain and rng.random() < 0.5
    kind = str(rng.choice(["stripes", "checker", "gradient", "rings", "noise"], p=[0.25, 0.2, 0.25, 0.1, 0.2]))
    best, best_score = None, -1.0
    for i in range(tries):
        c1 = random_colour(rng)
        if i >= tries // 2:  # push towards the extremes that are far from the background
            far = np.where(pixels.mean(0) > 127, 0.0, 255.0) if pixels is not None else np.zeros(3)
            c1 = (c1 + (far - c1) * rng.uniform(0.3, 0.9)).astype(np.float32)
        c2 = None
        if textured:
            c2 = np.clip(c1 + (random_colour(rng) - c1) * rng.uniform(0.3, 0.7), 0, 255).astype(np.float32)
        score = 255.0 if pixels is None else min(_contrast(c, pixels) for c in (c1, c2) if c is not None)
        if score > best_score:
            best, best_score = (c1, c2), score
        if score >= min_contrast:
            break
    c1, c2 = best
    fill = Fill(c1)
    if textured:
        ang = rng.uniform(0, 2 * np.pi)
        dx, dy = math.cos(ang), math.sin(ang)
        sharp = float(rng.choice([1.0, 3.0, 8.0]))  # soft to nearly hard edges (textures are not anti-aliased)
        if kind == "gradient":
            fill = Fill(c1, c2, kind, (dx, dy, rng.uniform(0.8, 1.6), 0.0, 1.0))
        elif kind == "noise":
            g = rng.random((int(rng.integers(3, 7)),) * 2).astype(np.float32)
            noise = np.asarray(Image.fromarray(g).resize((48, 48), Image.BICUBIC))
            noise = (noise - noise.min()) / max(1e-6, float(np.ptp(noise)))
            fill = Fill(c1, c2, kind, (dx, dy, 0.0, 0.0, 1.0), noise=noise)
        else:
            period = rng.uniform(0.15, 0.4)
            fill = Fill(c1, c2, kind, (dx, dy, 2 * np.pi / period if kind != "checker" else np.pi / period,
                                       rng.uniform(0, 2 * np.pi), sharp))
    if not plain and rng.random() < 0.2:
        fill.edge = np.clip(c1 * rng.uniform(0.0, 0.5) if c1.mean() > 90 else c1 + (255 - c1) * 0.6, 0,
                            255).astype(np.float32)
        fill.edge_width = rng.uniform(0.03, 0.07)
    return fill, best_score


# -------------------------------------------------------------------------------------------------- backgrounds
@lru_cache(maxsize=8)
def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1): (n, 1) ys and (1, n) xs, float32."""
    c = (np.arange(n, dtype=np.float32) + 0.5) / n
    return c[:, None], c[None, :]


def smooth_noise(rng: np.random.Generator, n: int, cells: float, octaves: int, beta: float) -> np.ndarray:
    """Multi-scale ("cloud") noise: (n, n) float32 normalised to [0, 1]."""
    out = np.zeros((n, n), np.float32)
    c = cells
    for o in range(octaves):
        g = max(2, int(round(c)))
        grid = rng.standard_normal((g + 1, g + 1)).astype(np.float32)
        out += np.asarray(Image.fromarray(grid).resize((n, n), Image.BICUBIC)) * (0.5 ** (beta * o))
        c *= 2
    lo, hi = np.percentile(out[:: 4, :: 4], [1, 99])
    return np.clip((out - lo) / max(1e-6, hi - lo), 0, 1)


def _palette(t: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    """Map t in [0, 1] (n, n) through evenly spaced colour stops -> (n, n, 3) float32."""
    if len(colours) == 2:
        return _lerp(t, colours[0], colours[1])
    t2 = t * 2
    low = _lerp(np.minimum(t2, 1), colours[0], colours[1])
    high, upper = _lerp(np.maximum(t2 - 1, 0), colours[1], colours[2]), t2 >= 1
    for c in range(3):
        np.copyto(low[..., c], high[..., c], where=upper)
    return low


def _background_colours(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    base = random_colour(rng)
    contrast = rng.uniform(0.15, 1.0)
    return [base] + [(base + (random_colour(rng) - base) * contrast).astype(np.float32) for _ in range(count - 1)]


_BG_KINDS = ("plain", "linear", "radial", "clouds", "stripes", "checker", "blobs", "grain")


def background(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> np.ndarray:
    """A random background canvas: (n, n, 3) float32 in [0, 255]."""
    kind = _BG_KINDS[int(rng.choice(len(_BG_KINDS), p=np.asarray(weights) / sum(weights)))]
    ys, xs = _grid(n)
    ang = rng.uniform(0, 2 * np.pi)
    dx, dy = math.cos(ang), math.sin(ang)
    if kind == "plain":
        bg = np.empty((n, n, 3), np.float32)
        bg[:] = random_colour(rng)
    elif kind == "linear":
        t = np.clip((xs - 0.5) * dx + (ys - 0.5) * dy + 0.5, 0, 1) * np.ones((n, 1), np.float32)
        bg = _palette(t, _background_colours(rng, int(rng.choice([2, 3]))))
    elif kind == "radial":
        cx, cy = rng.uniform(-0.2, 1.2, 2)
        t = np.clip(np.hypot(xs - cx, ys - cy) / rng.uniform(0.5, 1.2), 0, 1)
        bg = _palette(t, _background_colours(rng, int(rng.choice([2, 3]))))
    elif kind == "clouds":
        t = smooth_noise(rng, n, rng.uniform(1.5, 6), int(rng.integers(2, 5)), rng.uniform(0.5, 1.3))
        if rng.random() < 0.3:
            t = 1 / (1 + np.exp(-(t - 0.5) * rng.uniform(6, 14)))
        if rng.random() < 0.2:  # independent clouds per channel: colourful
            bg = np.stack([smooth_noise(rng, n, rng.uniform(1.5, 5), 3, 0.9) for _ in range(3)], -1)
            base = random_colour(rng)
            bg = base * 0.5 + bg * rng.uniform(60, 255) - 30
        else:
            bg = _palette(t, _background_colours(rng, int(rng.choice([2, 3]))))
    elif kind == "stripes":
        period = rng.uniform(0.04, 0.3)
        sharp = float(rng.choice([1.0, 3.0, 12.0]))
        t = np.clip(sharp * np.sin(((xs * dx + ys * dy) / period) * 2 * np.pi + rng.uniform(0, 6)), -1, 1) * 0.5 + 0.5
        bg = _palette(t, _background_colours(rng, 2))
    elif kind == "checker":
        cell = rng.uniform(0.05, 0.2)
        sharp = float(rng.choice([2.0, 6.0, 15.0]))
        t = np.clip(sharp * np.sin((xs * dx + ys * dy) * np.pi / cell) * np.sin((ys * dx - xs * dy) * np.pi / cell),
                    -1, 1) * 0.5 + 0.5
        bg = _palette(t, _background_colours(rng, 2))
    elif kind == "blobs":
        cols = _background_colours(rng, 4)
        img = Image.new("RGB", (n, n), tuple(int(c) for c in cols[0]))
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(4, 16))):
            cx, cy = rng.uniform(0, n, 2)
            rx, ry = rng.uniform(0.04, 0.25, 2) * n
            col = cols[int(rng.integers(1, 4))]
            draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=tuple(int(c) for c in col))
        if rng.random() < 0.6:
            img = img.filter(ImageFilter.BoxBlur(float(rng.uniform(1, 5))))
        bg = np.asarray(img, np.float32)
    else:  # fine grain / sand
        t = smooth_noise(rng, n, n / rng.uniform(2, 6), 2, 0.5)
        bg = _palette(t, _background_colours(rng, 2))
    if kind != "clouds" and rng.random() < 0.3:  # faint clouds on top
        faint = (smooth_noise(rng, n, rng.uniform(2, 8), 3, 0.8) - 0.5) * np.float32(rng.uniform(10, 50))
        for c in range(3):
            bg[..., c] += faint
    return np.clip(bg, 0, 255).astype(np.float32)


# Weights of the background kinds (in the order of _BG_KINDS) for labelled and for pre-training clips.
LABELLED_BG = (0.2, 0.14, 0.1, 0.2, 0.09, 0.08, 0.12, 0.07)
PRETRAIN_BG = (0.08, 0.1, 0.08, 0.4, 0.08, 0.06, 0.12, 0.08)
