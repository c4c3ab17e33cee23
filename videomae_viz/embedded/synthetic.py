"""Procedurally generated motion clips: the data the embedded tiny VideoMAE is trained on.

Eight labels (ids 0..7, see ``LABELS``), each clip showing ONE main object doing the labelled motion between
consecutive model frames:

* translation 1.5-4 % of the frame side per frame (``moving left/right/up/down``; y grows downward),
* rotation 4-12 degrees per frame, clockwise as seen on screen (the top of the object moves right),
* scaling 3-6 % per frame, multiplicative (``growing``/``shrinking``), with the size kept within about 15-45 %.

Other motions are at most small drifts/jitter, clearly below the labelled one. Appearance varies widely so a model
trained on it transfers to other generators: arrows, L-shapes, polyominoes, scalene triangles, irregular polygons and
stars, smooth blobs, crescents, notched rings, compound shapes, stroked letters, letters of PIL's default font, plain
circles, ellipses, rectangles and regular polygons (outlines that look alike when turned, such as circles, are not
used for rotations); solid or textured fills (stripes, checker, gradient, rings, smooth noise) that move with the
object, optional outline; backgrounds that are plain, gradients, multi-scale noise ("clouds"), stripes, checkers,
blobs or grain, with 0-3 static distractor shapes and sometimes a slowly panning camera; per-clip noise, blur,
flicker, colour casts, low resolution and JPEG artefacts. The object's colour keeps a minimum contrast against the
background it moves over.

Polygons are drawn with PIL at 4x and box-downsampled (font glyphs: a transformed mask at 2x), so sub-pixel motion
stays visible; all frames of an object are drawn as tiles of one image; backgrounds are numpy. A 16 x 112 x 112
clip takes about 12-14 ms of one core.
"""

from __future__ import annotations

import colorsys
import io
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

LABELS: tuple[str, ...] = (
    "moving left", "moving right", "moving up", "moving down",
    "rotating clockwise", "rotating counterclockwise", "growing", "shrinking",
)
OPPOSITE: dict[str, str] = {
    "moving left": "moving right", "moving right": "moving left",
    "moving up": "moving down", "moving down": "moving up",
    "rotating clockwise": "rotating counterclockwise", "rotating counterclockwise": "rotating clockwise",
    "growing": "shrinking", "shrinking": "growing",
}
_INDEX = {name: i for i, name in enumerate(LABELS)}

# Motion per model frame for the labelled motion (fractions of the frame side, degrees, relative size change).
TRANSLATION_RANGE = (0.015, 0.04)
ROTATION_RANGE = (4.0, 12.0)
SCALE_RANGE = (0.03, 0.06)
SIZE_RANGE = (0.15, 0.45)  # object size (largest side of its upright bounding box) / frame side
CAMERA_MAX = 0.01  # camera pan, fraction of the frame side per model frame
MIN_CONTRAST = 70.0  # RGB distance the object colour keeps from 90 % of the background pixels it moves over
# Largest non-labelled motion mixed in (drift + jitter), well below the labelled ranges above.
_DRIFT_SHIFT, _JITTER_SHIFT = 0.0025, 0.002  # fraction of the side per frame
_DRIFT_TURN, _JITTER_TURN = 0.8, 0.3  # degrees per frame
_DRIFT_SCALE, _JITTER_SCALE = 0.004, 0.002  # relative size change per frame

_SS = 4  # supersampling of polygon rendering
_DIRECTIONS = {"moving left": (-1.0, 0.0), "moving right": (1.0, 0.0), "moving up": (0.0, -1.0),
               "moving down": (0.0, 1.0)}


# ----------------------------------------------------------------------------------------------------------- shapes
@dataclass
class _Shape:
    """A shape in object units: its area centroid at the origin, the larger side of its upright bounding box 1.

    ``ops`` are drawn in order: ("poly", (k, 2) points, value) or ("line", (k, 2) points, width, value); value 255
    adds, 0 cuts. A glyph shape instead carries a mask pyramid ``sprites`` of (image, pixels per unit, centre)."""

    ops: list
    sprites: list | None
    radius: float  # largest distance of the shape from its centroid
    boundary: np.ndarray  # (k, 2) outline points, for placement
    radial_spread: float  # std/mean of the outline's distance from the centroid (0 for a circle)
    kind: str
    reach: float  # largest distance of any drawing op (including cuts) from the centroid


def _circle(cx: float, cy: float, rx: float, ry: float | None = None, n: int = 48, rot: float = 0.0) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ry = rx if ry is None else ry
    x, y = rx * np.cos(a), ry * np.sin(a)
    c, s = math.cos(rot), math.sin(rot)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], 1)


def _rect(cx: float, cy: float, w: float, h: float, rot: float = 0.0) -> np.ndarray:
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    c, s = math.cos(rot), math.sin(rot)
    return pts @ np.array([[c, s], [-s, c]]) + (cx, cy)


def _shape_arrow(rng):
    shaft, sw = rng.uniform(0.6, 1.1), rng.uniform(0.14, 0.3)
    hl, hw = rng.uniform(0.3, 0.55), rng.uniform(0.5, 0.9)
    top = hw / 2 if rng.random() < 0.7 else sw / 2  # one-barbed arrow now and then
    pts = [(0, -sw / 2), (shaft, -sw / 2), (shaft, -top), (shaft + hl, 0), (shaft, hw / 2), (shaft, sw / 2),
           (0, sw / 2)]
    if rng.random() < 0.3:  # a notched tail
        pts.append((0.15, 0))
    return [("poly", np.array(pts, float), 255)]


def _shape_ell(rng):
    a, b, t = rng.uniform(0.7, 1.0), rng.uniform(0.35, 0.75), rng.uniform(0.18, 0.38)
    return [("poly", np.array([(0, 0), (t, 0), (t, a - t), (b, a - t), (b, a), (0, a)], float), 255)]


def _shape_polyomino(rng):
    cells = {(0, 0)}
    for _ in range(int(rng.integers(3, 6))):
        x, y = list(cells)[int(rng.integers(len(cells)))]
        dx, dy = ((1, 0), (-1, 0), (0, 1), (0, -1))[int(rng.integers(4))]
        cells.add((x + dx, y + dy))
    return [("poly", _rect(x + 0.5, y + 0.5, 1.02, 1.02), 255) for x, y in cells]


def _shape_triangle(rng):
    """A scalene triangle: three distinct angles, none below 22 degrees."""
    while True:
        a = rng.uniform(22, 100)
        b = rng.uniform(22, min(100, 158 - a))
        c = 180 - a - b
        if min(abs(a - b), abs(b - c), abs(a - c)) > 7:
            break
    a, b = math.radians(a), math.radians(b)
    # base from (0, 0) to (1, 0); the apex where the rays at angles a and b meet
    t = math.sin(b) / math.sin(a + b)
    return [("poly", np.array([(0, 0), (1, 0), (t * math.cos(a), t * math.sin(a))]), 255)]


def _shape_polygon(rng):
    n = int(rng.integers(5, 12))
    a = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(0.45, 1.0, n)
    return [("poly", np.stack([r * np.cos(a), r * np.sin(a)], 1), 255)]


def _shape_star(rng):
    n = int(rng.integers(4, 8))
    a = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) + rng.uniform(-0.2, 0.2, 2 * n)
    r = np.where(np.arange(2 * n) % 2 == 0, rng.uniform(0.7, 1.0, 2 * n), rng.uniform(0.3, 0.55, 2 * n))
    return [("poly", np.stack([r * np.cos(a), r * np.sin(a)], 1), 255)]


def _shape_blob(rng):
    a = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    r = np.ones_like(a)
    for k in range(1, 6):
        r += rng.uniform(0, 0.35 / k ** 0.5) * np.cos(k * a + rng.uniform(0, 2 * np.pi))
    r = np.maximum(r, 0.25)
    return [("poly", np.stack([r * np.cos(a), r * np.sin(a)], 1), 255)]


def _shape_crescent(rng):
    d, ri = rng.uniform(0.3, 0.6), rng.uniform(0.7, 0.95)
    a = rng.uniform(0, 2 * np.pi)
    ops = [("poly", _circle(0, 0, 1.0), 255), ("poly", _circle(d * math.cos(a), d * math.sin(a), ri), 0)]
    if rng.random() < 0.3:  # a lopsided crescent
        ops[0] = ("poly", _circle(0, 0, 1.0, rng.uniform(0.75, 1.0), rot=rng.uniform(0, np.pi)), 255)
    return ops


def _shape_ring(rng):
    ri = rng.uniform(0.45, 0.7)
    a, gap = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 0.7)
    return [("poly", _circle(0, 0, 1.0), 255), ("poly", _circle(0, 0, ri), 0),
            ("poly", _rect(math.cos(a), math.sin(a), 1.2, gap, rot=a), 0)]


def _shape_compound(rng):
    ops, x, y = [], 0.0, 0.0
    for _ in range(int(rng.integers(2, 4))):
        w, h, rot = rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.6), rng.uniform(0, np.pi)
        ops.append(("poly", _rect(x, y, w, h, rot) if rng.random() < 0.6 else _circle(x, y, w / 2, h / 2, rot=rot),
                    255))
        step, ang = rng.uniform(0.25, 0.5), rng.uniform(0, 2 * np.pi)
        x, y = x + step * math.cos(ang), y + step * math.sin(ang)
    return ops


_STROKE_GLYPHS = {
    "F": [[(0, 1), (0, 0), (0.7, 0)], [(0, 0.45), (0.55, 0.45)]],
    "L": [[(0, 0), (0, 1), (0.65, 1)]],
    "E": [[(0.7, 0), (0, 0), (0, 1), (0.7, 1)], [(0, 0.5), (0.5, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(0.7, 0), (0, 0.6)], [(0.22, 0.42), (0.75, 1)]],
    "4": [[(0.55, 1), (0.55, 0), (0, 0.68), (0.8, 0.68)]],
    "7": [[(0, 0), (0.7, 0), (0.25, 1)]],
    "J": [[(0.65, 0), (0.65, 0.72), (0.55, 0.92), (0.33, 1), (0.12, 0.92), (0.02, 0.75)]],
    "P": [[(0, 1), (0, 0), (0.42, 0), (0.62, 0.08), (0.7, 0.25), (0.62, 0.42), (0.42, 0.5), (0, 0.5)]],
    "R": [[(0, 1), (0, 0), (0.42, 0), (0.62, 0.08), (0.7, 0.25), (0.62, 0.42), (0.42, 0.5), (0, 0.5)],
          [(0.35, 0.5), (0.72, 1)]],
    "Y": [[(0, 0), (0.35, 0.45), (0.7, 0)], [(0.35, 0.45), (0.35, 1)]],
    "2": [[(0.02, 0.22), (0.15, 0.05), (0.38, 0), (0.6, 0.08), (0.66, 0.28), (0.52, 0.5), (0, 1), (0.72, 1)]],
    "G": [[(0.7, 0.15), (0.5, 0.01), (0.25, 0.03), (0.06, 0.22), (0, 0.5), (0.06, 0.78), (0.25, 0.97),
           (0.5, 0.99), (0.7, 0.85), (0.7, 0.55), (0.42, 0.55)]],
}


def _shape_stroke_glyph(rng):
    strokes = _STROKE_GLYPHS[list(_STROKE_GLYPHS)[int(rng.integers(len(_STROKE_GLYPHS)))]]
    width = rng.uniform(0.13, 0.22)
    slant = rng.uniform(-0.2, 0.2)
    return [("line", np.array([(x + slant * (1 - y), y) for x, y in s], float), width, 255) for s in strokes]


def _shape_simple(rng):
    kind = rng.integers(4)
    if kind == 0:
        return [("poly", _circle(0, 0, 1.0), 255)], "circle"
    if kind == 1:
        return [("poly", _circle(0, 0, 1.0, rng.uniform(0.45, 0.8)), 255)], "ellipse"
    if kind == 2:
        return [("poly", _rect(0, 0, 1.0, rng.choice([1.0, rng.uniform(0.35, 0.8)])), 255)], "rectangle"
    n = int(rng.integers(3, 9))
    return [("poly", _circle(0, 0, 1.0, n=n, rot=rng.uniform(0, np.pi)), 255)], f"regular{n}"


_FONT_CHARS = "FGJKLPQRbdefghkpqry2345679?&%@"


@lru_cache(maxsize=64)
def _font_glyph(char: str) -> _Shape:
    """One character of PIL's default font (FreeType Aileron when available, else the bitmap font scaled up)."""
    try:
        font = ImageFont.load_default(size=160)
        left, top, right, bottom = font.getbbox(char)
        img = Image.new("L", (right - left + 16, bottom - top + 16))
        ImageDraw.Draw(img).text((8 - left, 8 - top), char, fill=255, font=font)
    except (TypeError, ImportError, OSError, AttributeError):  # no FreeType: the small bitmap font scaled up
        font = ImageFont.load_default()
        left, top, right, bottom = font.getbbox(char)
        small = Image.new("L", (right - left + 2, bottom - top + 2))
        ImageDraw.Draw(small).text((1 - left, 1 - top), char, fill=255, font=font)
        img = small.resize((small.width * 12, small.height * 12), Image.NEAREST).filter(ImageFilter.BoxBlur(3))
    return _finish(None, "glyph", img)


_SHAPES = [  # (generator, weight)
    (_shape_arrow, 1.2), (_shape_ell, 1.0), (_shape_polyomino, 0.8), (_shape_triangle, 1.0), (_shape_polygon, 1.0),
    (_shape_star, 0.6), (_shape_blob, 0.8), (_shape_crescent, 0.8), (_shape_ring, 0.5), (_shape_compound, 0.8),
    (_shape_stroke_glyph, 0.8), ("font", 0.7), (_shape_simple, 1.1),
]
_SHAPE_P = np.array([w for _, w in _SHAPES]) / sum(w for _, w in _SHAPES)


def _line_flat(p: np.ndarray) -> list[float]:
    return p.ravel().tolist()


def _draw_ops(draw: ImageDraw.ImageDraw, ops: list, a: np.ndarray, b: np.ndarray, scale: float,
              outline: int = 0) -> None:
    """Draw ``ops`` with points mapped by ``p @ a.T + b``; line widths times ``scale``. ``outline`` > 0 draws the
    polygon outlines only, that wide."""
    for op in ops:
        pts = op[1] @ a.T + b
        if op[0] == "poly":
            if outline:
                draw.polygon(_line_flat(pts), outline=255, width=outline)
            else:
                draw.polygon(_line_flat(pts), fill=op[2])
        elif not outline:
            draw.line(_line_flat(pts), fill=op[3], width=max(1, int(round(op[2] * scale))), joint="curve")


def _finish(ops: list | None, kind: str, glyph: Image.Image | None = None) -> _Shape:
    """Normalise raw ops (or a glyph mask) to object units and measure the result."""
    if glyph is None:
        pts = np.concatenate([op[1] for op in ops])
        pad = max([op[2] / 2 for op in ops if op[0] == "line"], default=0.0)
        lo, hi = pts.min(0) - pad, pts.max(0) + pad
        res = 80
        k = (res - 8) / float(np.max(hi - lo))
        off = 4 - lo * k + ((res - 8) - (hi - lo) * k) / 2
        img = Image.new("L", (res, res))
        _draw_ops(ImageDraw.Draw(img), ops, np.eye(2) * k, off - 0.25, k)
    else:
        img = glyph
    mask = np.asarray(img) > 127
    ys, xs = np.nonzero(mask)
    centre = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
    unit = float(max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
    inner = mask.copy()
    inner[1:-1, 1:-1] &= mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    by, bx = np.nonzero(mask & ~inner)
    boundary = (np.stack([bx + 0.5, by + 0.5], 1) - centre) / unit
    dist = np.hypot(boundary[:, 0], boundary[:, 1])
    radius = float(dist.max()) + 1.0 / unit
    boundary = boundary[:: max(1, len(boundary) // 256)]
    if glyph is None:
        new_ops, reach = [], radius
        for op in ops:
            p = (op[1] * k + off - centre) / unit
            new_ops.append(("poly", p, op[2]) if op[0] == "poly" else ("line", p, op[2] * k / unit, op[3]))
            reach = max(reach, float(np.hypot(p[:, 0], p[:, 1]).max()) + (op[2] * k / unit / 2 if op[0] == "line"
                                                                           else 0.0))
        return _Shape(new_ops, None, radius, boundary, float(dist.std() / dist.mean()), kind, reach)
    sprites, scale, c, level = [], unit, centre, img
    for _ in range(4):
        sprites.append((level, scale, c))
        if min(level.size) < 24:
            break
        level, scale, c = level.reduce(2), scale / 2, c / 2
    return _Shape([], sprites, radius, boundary, float(dist.std() / dist.mean()), kind, radius)


def _random_shape(rng: np.random.Generator, *, for_rotation: bool = False) -> _Shape:
    while True:
        gen = _SHAPES[int(rng.choice(len(_SHAPES), p=_SHAPE_P))][0]
        if gen == "font":
            char = _FONT_CHARS[int(rng.integers(len(_FONT_CHARS)))]
            shape = _font_glyph(char)  # shapes are never modified: the cached one is shared
        elif gen is _shape_simple:
            ops, kind = gen(rng)
            shape = _finish(ops, kind)
        else:
            shape = _finish(gen(rng), gen.__name__[7:])
        # Rotations must be visible from the outline alone: no circles, near-circular blobs or many-sided polygons.
        if not for_rotation or shape.radial_spread > 0.06:
            return shape


# ---------------------------------------------------------------------------------------------------------- fills
def _random_colour(rng: np.random.Generator) -> np.ndarray:
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
class _Fill:
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


def _make_fill(rng: np.random.Generator, pixels: np.ndarray | None, min_contrast: float, *, plain: bool = False,
               tries: int = 24) -> tuple[_Fill, float]:
    """A fill whose colours keep ``min_contrast`` from ``pixels`` if possible; returns (fill, achieved contrast)."""
    textured = not plain and rng.random() < 0.5
    kind = str(rng.choice(["stripes", "checker", "gradient", "rings", "noise"], p=[0.25, 0.2, 0.25, 0.1, 0.2]))
    best, best_score = None, -1.0
    for i in range(tries):
        c1 = _random_colour(rng)
        if i >= tries // 2:  # push towards the extremes that are far from the background
            far = np.where(pixels.mean(0) > 127, 0.0, 255.0) if pixels is not None else np.zeros(3)
            c1 = (c1 + (far - c1) * rng.uniform(0.3, 0.9)).astype(np.float32)
        c2 = None
        if textured:
            c2 = np.clip(c1 + (_random_colour(rng) - c1) * rng.uniform(0.3, 0.7), 0, 255).astype(np.float32)
        score = 255.0 if pixels is None else min(_contrast(c, pixels) for c in (c1, c2) if c is not None)
        if score > best_score:
            best, best_score = (c1, c2), score
        if score >= min_contrast:
            break
    c1, c2 = best
    fill = _Fill(c1)
    if textured:
        ang = rng.uniform(0, 2 * np.pi)
        dx, dy = math.cos(ang), math.sin(ang)
        sharp = float(rng.choice([1.0, 3.0, 8.0]))  # soft to nearly hard edges (textures are not anti-aliased)
        if kind == "gradient":
            fill = _Fill(c1, c2, kind, (dx, dy, rng.uniform(0.8, 1.6), 0.0, 1.0))
        elif kind == "noise":
            g = rng.random((int(rng.integers(3, 7)),) * 2).astype(np.float32)
            noise = np.asarray(Image.fromarray(g).resize((48, 48), Image.BICUBIC))
            noise = (noise - noise.min()) / max(1e-6, float(np.ptp(noise)))
            fill = _Fill(c1, c2, kind, (dx, dy, 0.0, 0.0, 1.0), noise=noise)
        else:
            period = rng.uniform(0.15, 0.4)
            fill = _Fill(c1, c2, kind, (dx, dy, 2 * np.pi / period if kind != "checker" else np.pi / period,
                                        rng.uniform(0, 2 * np.pi), sharp))
    if not plain and rng.random() < 0.2:
        fill.edge = np.clip(c1 * rng.uniform(0.0, 0.5) if c1.mean() > 90 else c1 + (255 - c1) * 0.6, 0,
                            255).astype(np.float32)
        fill.edge_width = rng.uniform(0.03, 0.07)
    return fill, best_score


# ---------------------------------------------------------------------------------------------------- rendering
def _render_object(frames: np.ndarray, shape: _Shape, fill: _Fill, poses: np.ndarray,
                   alpha_out: np.ndarray | None = None) -> None:
    """Draw ``shape`` into every frame ((N, H, W, 3) float32, in place) at poses (N, 4): centre x, y (pixel-edge
    coordinates), angle (degrees, clockwise on screen), scale (pixels per object unit); max its coverage into
    ``alpha_out`` (N, H, W). All frames are drawn as tiles of one supersampled image (one reduce for the clip)."""
    count, height, width = frames.shape[:3]
    cx, cy, theta, s = (poses[:, i].astype(np.float64) for i in range(4))
    edge_px = fill.edge_width * s if fill.edge is not None else np.zeros(count)
    rad = np.radians(theta)
    co, si = np.cos(rad), np.sin(rad)
    # Each frame's tile: the turned outline's bounding box plus a margin; tiles are stacked with a guard band.
    bx, by = shape.boundary[:, 0][None], shape.boundary[:, 1][None]
    ex = (co[:, None] * bx - si[:, None] * by) * s[:, None]
    ey = (si[:, None] * bx + co[:, None] * by) * s[:, None]
    margin = 2.0 + 0.04 * s + edge_px
    bx0, by0 = np.floor(cx + ex.min(1) - margin).astype(int), np.floor(cy + ey.min(1) - margin).astype(int)
    tw = int((np.ceil(cx + ex.max(1) + margin).astype(int) - bx0).max())
    th_ = int((np.ceil(cy + ey.max(1) + margin).astype(int) - by0).max())
    # Ops (cuts, fills under cuts) may reach past the visible outline: keep them off the neighbouring tiles.
    reach = shape.reach * s + 2
    guard = max(0.0, float((reach - (cy - by0)).max()), float((reach - (by0 + th_ - cy)).max()))
    pitch = th_ + int(math.ceil(guard)) + 2
    visible = (bx0 < width) & (bx0 + tw > 0) & (by0 < height) & (by0 + th_ > 0) & (s > 0)
    if not visible.any():
        return
    sprite = shape.sprites is not None
    ss = 2 if sprite else _SS
    big = Image.new("L", (tw * ss, count * pitch * ss))
    ebig = Image.new("L", big.size) if fill.edge is not None and not sprite else None
    draw, edraw = ImageDraw.Draw(big), (ImageDraw.Draw(ebig) if ebig is not None else None)
    for i in np.nonzero(visible)[0]:
        rot = np.array([[co[i], -si[i]], [si[i], co[i]]])  # y down: positive angles turn clockwise on screen
        ox, oy = cx[i] - bx0[i], cy[i] - by0[i] + i * pitch  # the centre inside the tiled image
        if not sprite:
            a, b = rot * (s[i] * ss), np.array([ss * ox - 0.25, ss * oy - 0.25])
            _draw_ops(draw, shape.ops, a, b, s[i] * ss)
            if edraw is not None:
                _draw_ops(edraw, shape.ops, a, b, 1, outline=max(1, int(round(edge_px[i] * ss))))
        else:
            level, scale, centre = shape.sprites[0]
            for level, scale, centre in shape.sprites:  # the coarsest level with >= 1 texel per output pixel
                if scale / (ss * s[i]) <= 1.6:
                    break
            inv = rot.T
            m = inv * (scale / (ss * s[i]))
            off = centre + (scale / s[i]) * inv @ np.array([-(cx[i] - bx0[i]), -(cy[i] - by0[i])])
            tile = level.transform((tw * ss, th_ * ss), Image.AFFINE,
                                   (m[0, 0], m[0, 1], off[0], m[1, 0], m[1, 1], off[1]), resample=Image.BILINEAR)
            big.paste(tile, (0, i * pitch * ss))
    alpha = np.asarray(big.reduce(ss), np.float32).reshape(count, pitch, tw)[:, :th_] * np.float32(1 / 255)
    colour = fill.c1
    if fill.kind != "solid":
        px = (np.arange(tw, dtype=np.float32)[None, None] + (bx0 + 0.5 - cx).astype(np.float32)[:, None, None])
        py = (np.arange(th_, dtype=np.float32)[None, :, None] + (by0 + 0.5 - cy).astype(np.float32)[:, None, None])
        c, sn, sc = (x.astype(np.float32)[:, None, None] for x in (co, si, 1 / s))
        colour = fill.colour((c * px + sn * py) * sc, (c * py - sn * px) * sc)
    if ebig is not None:
        edge = np.asarray(ebig.reduce(ss), np.float32).reshape(count, pitch, tw)[:, :th_] * np.float32(1 / 255)
        edge *= alpha
        colour = colour + edge[..., None] * (fill.edge - colour)
    if colour.ndim == 1:  # (broadcasting a trailing axis of 3 is slow in numpy: materialise it)
        colour = np.tile(colour.astype(np.float32), (1, th_, tw, 1))
    alpha3 = np.repeat(alpha[..., None], 3, axis=-1)
    for i in np.nonzero(visible)[0]:
        x0, x1 = max(0, bx0[i]), min(width, bx0[i] + tw)
        y0, y1 = max(0, by0[i]), min(height, by0[i] + th_)
        if x1 <= x0 or y1 <= y0:
            continue
        ty, tx = slice(y0 - by0[i], y1 - by0[i]), slice(x0 - bx0[i], x1 - bx0[i])
        region = frames[i, y0:y1, x0:x1]
        delta = colour[min(i, len(colour) - 1), ty, tx] - region
        delta *= alpha3[i, ty, tx]
        region += delta
        if alpha_out is not None:
            np.maximum(alpha_out[i, y0:y1, x0:x1], alpha[i, ty, tx], out=alpha_out[i, y0:y1, x0:x1])


@dataclass
class _Track:
    """Pose over (continuous) model-frame time t: centre c0 + v t + jitter (pixels), angle theta0 + omega t + jitter
    (degrees, clockwise), scale s0 exp(k t + jitter) (pixels per object unit)."""

    c0: np.ndarray
    v: np.ndarray
    theta0: float
    omega: float
    s0: float
    k: float
    jitter: list  # (amplitudes (4,) for x, y, theta, log s; frequency; phase)

    def at(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, np.float64)
        pose = np.stack([self.c0[0] + self.v[0] * t, self.c0[1] + self.v[1] * t, self.theta0 + self.omega * t,
                         self.k * t], 1)
        for amp, freq, phase in self.jitter:
            pose += np.asarray(amp)[None] * (np.sin(freq * t + phase) - math.sin(phase))[:, None]
        pose[:, 3] = self.s0 * np.exp(pose[:, 3])
        return pose


def _jitter(rng: np.random.Generator, size: int, shift: float, turn: float, scale: float) -> list:
    """Smooth wobble whose speed stays below shift (fraction of the side), turn (deg) and scale per frame."""
    out = []
    if rng.random() < 0.5:
        freq = rng.uniform(0.5, 1.5)
        ang = rng.uniform(0, 2 * np.pi)
        amp = np.array([math.cos(ang) * shift * size, math.sin(ang) * shift * size, turn * rng.choice([-1, 1]),
                        scale * rng.choice([-1, 1])]) * rng.uniform(0.3, 1.0) / freq
        out.append((amp, freq, rng.uniform(0, 2 * np.pi)))
    return out


def _extent(shape: _Shape, track: _Track, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box (lo, hi) of the shape over ``times``, relative to track.c0."""
    pose = track.at(times)
    th = np.radians(pose[:, 2])
    co, si = np.cos(th)[:, None], np.sin(th)[:, None]
    bx, by = shape.boundary[:, 0][None], shape.boundary[:, 1][None]
    s = pose[:, 3:4]
    x = (co * bx - si * by) * s + (pose[:, 0:1] - track.c0[0])
    y = (si * bx + co * by) * s + (pose[:, 1:2] - track.c0[1])
    return np.array([x.min(), y.min()]), np.array([x.max(), y.max()])


def _place(rng: np.random.Generator, shape: _Shape, track: _Track, times: np.ndarray, size: int,
           overflow: float) -> None:
    """Choose track.c0 so the object stays in the frame (up to ``overflow`` pixels out) over ``times``."""
    lo, hi = _extent(shape, track, times)
    c0 = np.empty(2)
    for i in range(2):
        a, b = -lo[i] - overflow, size - hi[i] + overflow
        c0[i] = rng.uniform(a, b) if b > a else (a + b) / 2
    track.c0 = c0


def _label_track(rng: np.random.Generator, label: str, shape: _Shape, num_frames: int, size: int) -> _Track:
    steps = max(1, num_frames - 1)
    v, omega, k = np.zeros(2), 0.0, 0.0
    theta0 = rng.uniform(0, 360)
    drift_dir = rng.uniform(0, 2 * np.pi)
    drift_v = np.array([math.cos(drift_dir), math.sin(drift_dir)]) * rng.uniform(0, _DRIFT_SHIFT) * size
    drift_turn = rng.uniform(-_DRIFT_TURN, _DRIFT_TURN) if rng.random() < 0.3 else 0.0
    drift_k = math.log1p(rng.uniform(-_DRIFT_SCALE, _DRIFT_SCALE)) if rng.random() < 0.3 else 0.0
    jitter = _jitter(rng, size, _JITTER_SHIFT, _JITTER_TURN, _JITTER_SCALE)
    if label in _DIRECTIONS:
        d = np.array(_DIRECTIONS[label])
        speed = rng.uniform(*TRANSLATION_RANGE)
        perp = np.array([-d[1], d[0]]) * rng.uniform(-0.2, 0.2) * speed if rng.random() < 0.5 else 0.0
        v = (d * speed + perp) * size
        omega, k = drift_turn, drift_k
        # Room along the motion: the travel plus the object's extent along that axis must fit in the frame.
        th = math.radians(theta0)
        axis = 0 if d[0] else 1
        proj = (shape.boundary @ np.array([[math.cos(th), math.sin(th)], [-math.sin(th), math.cos(th)]]))[:, axis]
        along = float(np.ptp(proj)) * math.exp(abs(k) * steps)
        e_max = min(SIZE_RANGE[1], (1.0 - speed * steps) / along)
        e = rng.uniform(SIZE_RANGE[0], e_max) if e_max > SIZE_RANGE[0] else max(0.08, e_max)
    elif label.startswith("rotating"):
        omega = rng.uniform(*ROTATION_RANGE) * (1 if label == "rotating clockwise" else -1)
        v = drift_v if rng.random() < 0.4 else v
        k = drift_k
        e_max = min(SIZE_RANGE[1], 0.95 / (2 * shape.radius * math.exp(abs(k) * steps)))
        e = rng.uniform(SIZE_RANGE[0], max(SIZE_RANGE[0], e_max))
    else:
        rate = rng.uniform(*SCALE_RANGE)
        if (1 + rate) ** steps > 3.0:  # long clips: as fast as still fits 15-45 % (never below the range)
            rate = max(SCALE_RANGE[0], 3.0 ** (1 / steps) - 1)
        total = (1 + rate) ** steps
        k = math.log1p(rate) * (1 if label == "growing" else -1)
        v = drift_v if rng.random() < 0.4 else v
        omega = drift_turn
        big = min(SIZE_RANGE[1], 0.98 / (2 * shape.radius))  # the largest size must still fit when centred
        small = SIZE_RANGE[0]
        e_small = rng.uniform(small, max(small, big / total))
        e = e_small if label == "growing" else e_small * total
    track = _Track(np.zeros(2), np.asarray(v, float), theta0, omega, e * size, k, jitter)
    _place(rng, shape, track, np.arange(num_frames, dtype=float), size,
           rng.uniform(0, 0.08) * e * size if label in _DIRECTIONS else rng.uniform(0, 0.04) * e * size)
    return track


# -------------------------------------------------------------------------------------------------- backgrounds
@lru_cache(maxsize=8)
def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1): (n, 1) ys and (1, n) xs, float32."""
    c = (np.arange(n, dtype=np.float32) + 0.5) / n
    return c[:, None], c[None, :]


def _smooth_noise(rng: np.random.Generator, n: int, cells: float, octaves: int, beta: float) -> np.ndarray:
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
    base = _random_colour(rng)
    contrast = rng.uniform(0.15, 1.0)
    return [base] + [(base + (_random_colour(rng) - base) * contrast).astype(np.float32) for _ in range(count - 1)]


_BG_KINDS = ("plain", "linear", "radial", "clouds", "stripes", "checker", "blobs", "grain")


def _background(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> np.ndarray:
    """A random background canvas: (n, n, 3) float32 in [0, 255]."""
    kind = _BG_KINDS[int(rng.choice(len(_BG_KINDS), p=np.asarray(weights) / sum(weights)))]
    ys, xs = _grid(n)
    ang = rng.uniform(0, 2 * np.pi)
    dx, dy = math.cos(ang), math.sin(ang)
    if kind == "plain":
        bg = np.empty((n, n, 3), np.float32)
        bg[:] = _random_colour(rng)
    elif kind == "linear":
        t = np.clip((xs - 0.5) * dx + (ys - 0.5) * dy + 0.5, 0, 1) * np.ones((n, 1), np.float32)
        bg = _palette(t, _background_colours(rng, int(rng.choice([2, 3]))))
    elif kind == "radial":
        cx, cy = rng.uniform(-0.2, 1.2, 2)
        t = np.clip(np.hypot(xs - cx, ys - cy) / rng.uniform(0.5, 1.2), 0, 1)
        bg = _palette(t, _background_colours(rng, int(rng.choice([2, 3]))))
    elif kind == "clouds":
        t = _smooth_noise(rng, n, rng.uniform(1.5, 6), int(rng.integers(2, 5)), rng.uniform(0.5, 1.3))
        if rng.random() < 0.3:
            t = 1 / (1 + np.exp(-(t - 0.5) * rng.uniform(6, 14)))
        if rng.random() < 0.2:  # independent clouds per channel: colourful
            bg = np.stack([_smooth_noise(rng, n, rng.uniform(1.5, 5), 3, 0.9) for _ in range(3)], -1)
            base = _random_colour(rng)
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
        t = _smooth_noise(rng, n, n / rng.uniform(2, 6), 2, 0.5)
        bg = _palette(t, _background_colours(rng, 2))
    if kind != "clouds" and rng.random() < 0.3:  # faint clouds on top
        faint = (_smooth_noise(rng, n, rng.uniform(2, 8), 3, 0.8) - 0.5) * np.float32(rng.uniform(10, 50))
        for c in range(3):
            bg[..., c] += faint
    return np.clip(bg, 0, 255).astype(np.float32)


_LABELLED_BG = (0.2, 0.14, 0.1, 0.2, 0.09, 0.08, 0.12, 0.07)
_PRETRAIN_BG = (0.08, 0.1, 0.08, 0.4, 0.08, 0.06, 0.12, 0.08)


def _camera(rng: np.random.Generator, max_speed: float) -> tuple[np.ndarray, float, np.ndarray, float, float]:
    """A smooth pan: offset(t) = v t + a (sin(w t + p) - sin p), speed <= max_speed pixels per model frame."""
    ang = rng.uniform(0, 2 * np.pi)
    budget = max_speed * rng.uniform(0.3, 1.0)
    wobble = rng.uniform(0, 0.3) * budget
    freq = rng.uniform(0.2, 0.8)
    v = np.array([math.cos(ang), math.sin(ang)]) * (budget - wobble)
    b = rng.uniform(0, 2 * np.pi)
    a = np.array([math.cos(b), math.sin(b)]) * wobble / freq
    return v, freq, a, rng.uniform(0, 2 * np.pi), budget


def _camera_offsets(cam, times: np.ndarray) -> np.ndarray:
    v, freq, a, phase, _ = cam
    return v[None] * times[:, None] + a[None] * (np.sin(freq * times + phase) - math.sin(phase))[:, None]


def _crop(canvas: np.ndarray, ox: float, oy: float, size: int, out: np.ndarray, tmp: np.ndarray) -> None:
    """out = canvas shifted by a sub-pixel offset (bilinear): out[y, x] = canvas[y + oy, x + ox]. ``tmp`` is a
    (size + 1, size, C) float32 scratch buffer."""
    ix, iy = int(math.floor(ox)), int(math.floor(oy))
    a = canvas[iy:iy + size + 1, ix:ix + size + 1]
    np.subtract(a[:, 1:], a[:, :-1], out=tmp)
    tmp *= np.float32(ox - ix)
    tmp += a[:, :-1]
    np.subtract(tmp[1:], tmp[:-1], out=out)
    out *= np.float32(oy - iy)
    out += tmp[:-1]


def _render_frames(canvas: np.ndarray, margin: int, offsets: np.ndarray | None, objects: list, times: np.ndarray,
                   size: int, alpha: np.ndarray | None = None, layer=None) -> np.ndarray:
    """Frames (N, size, size, 3) float32: the canvas seen through the camera, then each (shape, fill, poses)."""
    frames = np.empty((len(times), size, size, 3), np.float32)
    if offsets is None:
        frames[:] = canvas[margin:margin + size, margin:margin + size]
    else:
        tmp = np.empty((size + 1, size, 3), np.float32)
        for i, (ox, oy) in enumerate(offsets):
            _crop(canvas, margin + ox, margin + oy, size, frames[i], tmp)
    if layer is not None:  # a semi-transparent layer drifting on its own (mist, clouds)
        layer_alpha, layer_colour, layer_offsets, layer_margin = layer
        buf, tmp = np.empty((size, size, 3), np.float32), np.empty((size + 1, size, 3), np.float32)
        for i, (ox, oy) in enumerate(layer_offsets):
            _crop(layer_alpha, layer_margin + ox, layer_margin + oy, size, buf, tmp)
            frames[i] += buf * (layer_colour - frames[i])
    for shape, fill, poses in objects:
        _render_object(frames, shape, fill, poses, alpha)
    return frames


def _distractors(rng: np.random.Generator, canvas: np.ndarray, count: int, size: int) -> None:
    """Static shapes painted into the background canvas."""
    n = canvas.shape[0]
    for _ in range(count):
        shape = _random_shape(rng)
        cx, cy = rng.uniform(0, n, 2)
        sample = canvas[:: 4, :: 4].reshape(-1, 3)
        fill, _ = _make_fill(rng, sample, 35.0, tries=4)
        fill.edge = None
        pose = np.array([[cx, cy, rng.uniform(0, 360), rng.uniform(0.08, 0.3) * size]])
        _render_object(canvas[None], shape, fill, pose)


# --------------------------------------------------------------------------------------------------- augmentation
def _blur3(frames: np.ndarray, a: float) -> None:
    """Separable 3-tap blur [a, 1 - 2a, a] along y and x of (N, H, W, 3) float frames, in place (edges clamped)."""
    a = np.float32(a)
    d = np.empty_like(frames)
    for axis in (1, 2):
        f = np.moveaxis(frames, axis, 1)
        g = np.moveaxis(d, axis, 1)
        np.add(f[:, :-2], f[:, 2:], out=g[:, 1:-1])
        np.add(f[:, 0], f[:, 1], out=g[:, 0])
        np.add(f[:, -2], f[:, -1], out=g[:, -1])
        g -= f
        g -= f
        g *= a
        f += g


def _augment(rng: np.random.Generator, frames: np.ndarray, times: np.ndarray, model_frame: np.ndarray) -> np.ndarray:
    """Per-clip photometric augmentations of float frames (in place) -> uint8. Every random draw but the noise is
    independent of the number of frames; noise is drawn for the model frames first, so sub-stepped clips sampled at
    the model frames equal the plain ones."""
    gain = rng.uniform(0.75, 1.2) if rng.random() < 0.35 else 1.0
    offset = (rng.uniform(-20, 20) + rng.uniform(-12, 12, 3)).astype(np.float32) if gain != 1.0 else None
    flicker = (rng.uniform(0.02, 0.07), rng.uniform(0.3, 2.0), rng.uniform(0, 6.3)) if rng.random() < 0.2 else None
    noise = rng.uniform(2, 9) if rng.random() < 0.3 else 0.0
    blur = rng.uniform(0.1, 0.25) if rng.random() < 0.12 else 0.0  # 3-tap weight: sigma ~ 0.45-0.7 px
    lowres = rng.uniform(1.5, 2.5) if rng.random() < 0.08 else 0.0
    jpeg = int(rng.integers(15, 60)) if rng.random() < 0.06 else 0
    if flicker is not None:
        amp, freq, phase = flicker
        g = (gain * (1 + amp * np.sin(freq * times + phase))).astype(np.float32)
        frames *= g[:, None, None, None]
    elif gain != 1.0:
        frames *= np.float32(gain)
    if offset is not None:  # (3,) broadcasts slowly: add it as one (W * 3,) row
        flat = frames.reshape(frames.shape[0], frames.shape[1], -1)
        flat += np.tile(offset, frames.shape[2])
    if blur:
        _blur3(frames, blur)
    if noise:
        per_frame = frames[0].size
        if model_frame.all():
            u = np.frombuffer(rng.bytes(frames.size), np.uint8).reshape(frames.shape)
        else:
            u = np.empty(frames.shape, np.uint8)
            for sel in (model_frame, ~model_frame):
                k = int(sel.sum())
                u[sel] = np.frombuffer(rng.bytes(per_frame * k), np.uint8).reshape((k,) + frames.shape[1:])
        # uniform noise with standard deviation `noise`
        frames += np.multiply(u.view(np.int8), np.float32(noise * math.sqrt(3) / 128), dtype=np.float32)
    np.clip(frames, 0, 255, out=frames)
    frames += np.float32(0.5)
    out = frames.astype(np.uint8)
    if lowres or jpeg:
        size = out.shape[1]
        small = max(8, int(round(size / lowres))) if lowres else size
        for i in range(len(out)):
            img = Image.fromarray(out[i])
            if lowres:
                img = img.resize((small, small), Image.BILINEAR).resize((size, size), Image.BILINEAR)
            if jpeg:
                buf = io.BytesIO()
                img.save(buf, "JPEG", quality=jpeg)
                buf.seek(0)
                img = Image.open(buf)
                img.load()
            out[i] = np.asarray(img.convert("RGB"))
    return out


# ---------------------------------------------------------------------------------------------------- public API
def _times(num_frames: int, substeps: int) -> tuple[np.ndarray, np.ndarray]:
    count = (num_frames - 1) * substeps + 1
    idx = np.arange(count)
    return idx / substeps, idx % substeps == 0


def _check(num_frames: int, size: int, substeps: int) -> None:
    if num_frames < 1 or size < 8 or substeps < 1:
        raise ValueError(f"need num_frames >= 1, size >= 8, substeps >= 1; got {num_frames}, {size}, {substeps}")


def _labelled_clip(rng: np.random.Generator, label: str, num_frames: int = 16, size: int = 112, substeps: int = 1,
                   plain: bool = False, with_alpha: bool = False) -> dict:
    """make_clip with its ground truth: {"frames", "poses" (N, 4): centre x, centre y (pixels), angle (degrees,
    clockwise), size (fraction of the side); "alpha" (N, size, size) object coverage if with_alpha; "contrast"}."""
    if label not in _INDEX:
        raise ValueError(f"unknown label {label!r}; expected one of {LABELS}")
    _check(num_frames, size, substeps)
    times, model_frame = _times(num_frames, substeps)
    steps = max(1, num_frames - 1)
    cam = None
    if not plain and rng.random() < 0.45:
        max_speed = CAMERA_MAX * size
        if label in _DIRECTIONS:  # a pan clearly slower than the object
            max_speed = min(max_speed, 0.5 * TRANSLATION_RANGE[0] * size)
        cam = _camera(rng, max_speed)
    margin = 2 if cam is None else int(math.ceil(cam[4] * steps + 2 * np.abs(cam[2]).max())) + 3
    n = size + 2 * margin
    if plain:
        canvas = np.empty((n, n, 3), np.float32)
        canvas[:] = _random_colour(rng)
    else:
        canvas = _background(rng, n, _LABELLED_BG)
        _distractors(rng, canvas, int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15])), size)
    shape = _random_shape(rng, for_rotation=label.startswith("rotating"))
    track = _label_track(rng, label, shape, num_frames, size)
    poses = track.at(times)
    offsets = None if cam is None else _camera_offsets(cam, times)
    # The background the object moves over, wherever the camera looks.
    lo, hi = _extent(shape, track, np.arange(num_frames, dtype=float))
    x0, y0 = np.floor(track.c0 + lo).astype(int) + margin
    x1, y1 = np.ceil(track.c0 + hi).astype(int) + margin
    if offsets is not None:
        (ox0, oy0), (ox1, oy1) = np.floor(offsets.min(0)).astype(int), np.ceil(offsets.max(0)).astype(int)
        x0, y0, x1, y1 = x0 + ox0, y0 + oy0, x1 + ox1, y1 + oy1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(n, max(x1, x0 + 2)), min(n, max(y1, y0 + 2))
    region = canvas[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else canvas
    stride = max(1, int(math.sqrt(region.shape[0] * region.shape[1] / 1500)))
    for attempt in range(5):
        pixels = region[::stride, ::stride].reshape(-1, 3)
        fill, score = _make_fill(rng, pixels, MIN_CONTRAST, plain=plain)
        if score >= MIN_CONTRAST or attempt == 4:
            break
        mean = canvas.reshape(-1, 3).mean(0)  # too busy for any colour: calm the whole background down
        canvas += (mean - canvas) * 0.4
    alpha = np.zeros((len(times), size, size), np.float32) if with_alpha else None
    frames = _render_frames(canvas, margin, offsets, [(shape, fill, poses)], times, size, alpha)
    if plain:
        np.clip(frames + 0.5, 0, 255, out=frames)
        out = frames.astype(np.uint8)
    else:
        out = _augment(rng, frames, times, model_frame)
    info = poses.copy()
    info[:, 3] = poses[:, 3] / size
    return {"frames": out, "poses": info, "alpha": alpha, "contrast": score, "shape": shape.kind, "fill": fill.kind}


def make_clip(rng: np.random.Generator, label: str, *, num_frames: int = 16, size: int = 112,
              substeps: int = 1, plain: bool = False) -> np.ndarray:
    """(num_frames, size, size, 3) uint8 RGB clip of one object doing `label`. substeps > 1 renders substeps frames
    per model-frame step (motion per rendered frame divided by substeps) for smooth, longer videos: the result then
    has (num_frames - 1) * substeps + 1 frames, and sampling every substeps-th frame gives the model-frame motion
    (for the same rng state, exactly the substeps=1 clip).

    ``plain=True`` (for tests and demos) keeps the motion but draws a solid-colour object on a plain background:
    no distractors, camera, texture, outline or augmentation."""
    return _labelled_clip(rng, label, num_frames, size, substeps, plain)["frames"]


def make_pretrain_clip(rng: np.random.Generator, *, num_frames: int = 16, size: int = 112) -> np.ndarray:
    """Unlabelled variety for masked-autoencoder pre-training: often several moving objects (any mix of
    translations/rotations/scalings, different speeds), textures, natural-looking noise (smoothed multi-scale noise,
    'clouds'), moving camera. (num_frames, size, size, 3) uint8."""
    _check(num_frames, size, 1)
    times, model_frame = _times(num_frames, 1)
    steps = max(1, num_frames - 1)
    cam = _camera(rng, 0.02 * size) if rng.random() < 0.6 else None
    margin = 2 if cam is None else int(math.ceil(cam[4] * steps + 2 * np.abs(cam[2]).max())) + 3
    n = size + 2 * margin
    canvas = _background(rng, n, _PRETRAIN_BG)
    _distractors(rng, canvas, int(rng.choice(5, p=[0.3, 0.25, 0.2, 0.15, 0.1])), size)
    sample = canvas[::4, ::4].reshape(-1, 3)
    objects = []
    for _ in range(int(rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.3, 0.25, 0.12, 0.08]))):
        shape = _random_shape(rng)
        ang = rng.uniform(0, 2 * np.pi)
        v = np.array([math.cos(ang), math.sin(ang)]) * rng.uniform(0, 0.05) * size if rng.random() < 0.75 else np.zeros(2)
        omega = rng.uniform(-15, 15) if rng.random() < 0.5 else rng.uniform(-1, 1)
        k = math.log1p(rng.uniform(-0.06, 0.06)) if rng.random() < 0.4 else 0.0
        e = rng.uniform(0.1, 0.45)
        e = float(np.clip(e * math.exp(k * steps), 0.08, 0.6)) / math.exp(k * steps)  # end size stays sensible
        jitter = _jitter(rng, size, 0.004, 1.0, 0.005)
        track = _Track(np.zeros(2), np.asarray(v, float), rng.uniform(0, 360), omega, e * size, k, jitter)
        _place(rng, shape, track, times, size, rng.uniform(0, 0.3) * e * size)
        fill, _ = _make_fill(rng, sample, 45.0, tries=8)
        objects.append((shape, fill, track.at(times)))
    offsets = None if cam is None else _camera_offsets(cam, times)
    layer = None
    if rng.random() < 0.25:  # drifting mist
        lm = int(0.05 * size * steps) + 3
        ln = size + 2 * lm
        mist = _smooth_noise(rng, ln, rng.uniform(1.5, 4), 3, 0.8)
        mist = (np.clip(mist - rng.uniform(0.2, 0.5), 0, 1) * rng.uniform(0.3, 0.7)).astype(np.float32)
        mist = np.repeat(mist[..., None], 3, axis=-1)
        ang = rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(0.005, 0.04) * size
        layer_offsets = np.stack([np.cos(ang) * speed * (times - steps / 2), np.sin(ang) * speed * (times - steps / 2)], 1)
        layer = (mist, np.float32(rng.choice([235.0, 200.0, 40.0])), layer_offsets, lm)
    frames = _render_frames(canvas, margin, offsets, objects, times, size, layer=layer)
    return _augment(rng, frames, times, model_frame)


def make_dataset(n: int, seed: int, *, num_frames: int = 16, size: int = 112) -> tuple[np.ndarray, np.ndarray]:
    """n labelled clips with balanced labels: (n, num_frames, size, size, 3) uint8 and (n,) int64 label ids.
    Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(LABELS)).astype(np.int64)
    clips = np.empty((n, num_frames, size, size, 3), np.uint8)
    for i, label in enumerate(labels):
        clips[i] = make_clip(rng, LABELS[label], num_frames=num_frames, size=size)
    return clips, labels


def write_examples(directory, seed: int, size: int = 224, substeps: int = 3, fps: float = 12.0) -> list[dict]:
    """One example H.264 MP4 per label in ``directory`` plus ``index.json`` ([{"file", "label", "seed"}]).

    The clip of label id i is make_clip(np.random.default_rng([seed, i]), LABELS[i], size=size, substeps=substeps)."""
    from ..video_io import write_mp4

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index = []
    for i, label in enumerate(LABELS):
        frames = make_clip(np.random.default_rng([seed, i]), label, size=size, substeps=substeps)
        name = f"{i:02d}_{label.replace(' ', '_')}.mp4"
        write_mp4(frames, directory / name, fps=fps)
        index.append({"file": name, "label": label, "seed": seed})
    (directory / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return index
