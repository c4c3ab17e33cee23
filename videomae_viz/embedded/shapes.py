"""Shapes for the generated clips: outlines, stroked and font glyphs, and drawing them with PIL.

A shape is normalised to object units (``Shape``); ``random_shape`` draws one of the generators by weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont


@dataclass
class Shape:
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
def _font_glyph(char: str) -> Shape:
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


def draw_ops(draw: ImageDraw.ImageDraw, ops: list, a: np.ndarray, b: np.ndarray, scale: float,
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


def _finish(ops: list | None, kind: str, glyph: Image.Image | None = None) -> Shape:
    """Normalise raw ops (or a glyph mask) to object units and measure the result."""
    if glyph is None:
        pts = np.concatenate([op[1] for op in ops])
        pad = max([op[2] / 2 for op in ops if op[0] == "line"], default=0.0)
        lo, hi = pts.min(0) - pad, pts.max(0) + pad
        res = 80
        k = (res - 8) / float(np.max(hi - lo))
        off = 4 - lo * k + ((res - 8) - (hi - lo) * k) / 2
        img = Image.new("L", (res, res))
        draw_ops(ImageDraw.Draw(img), ops, np.eye(2) * k, off - 0.25, k)
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
        return Shape(new_ops, None, radius, boundary, float(dist.std() / dist.mean()), kind, reach)
    sprites, scale, c, level = [], unit, centre, img
    for _ in range(4):
        sprites.append((level, scale, c))
        if min(level.size) < 24:
            break
        level, scale, c = level.reduce(2), scale / 2, c / 2
    return Shape([], sprites, radius, boundary, float(dist.std() / dist.mean()), kind, radius)


def random_shape(rng: np.random.Generator, *, for_rotation: bool = False) -> Shape:
    """One shape drawn from the generators by weight; ``for_rotation`` refuses outlines that look alike when
    turned."""
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
