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

The parts live beside this module: ``shapes`` (outlines and glyphs), ``backgrounds`` (colours, fills, canvases) and
``motion`` (tracks, placement, camera); here they are rendered, augmented and assembled into clips.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .backgrounds import LABELLED_BG, PRETRAIN_BG, Fill, background, make_fill, random_colour, smooth_noise
from .motion import (
    CAMERA_MAX,
    DIRECTIONS,
    TRANSLATION_RANGE,
    Track,
    camera,
    camera_offsets,
    extent,
    jitter,
    label_track,
    place,
)
from .shapes import Shape, draw_ops, random_shape

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

MIN_CONTRAST = 70.0  # RGB distance the object colour keeps from 90 % of the background pixels it moves over
_SS = 4  # supersampling of polygon rendering


# ---------------------------------------------------------------------------------------------------- rendering
def _render_object(frames: np.ndarray, shape: Shape, fill: Fill, poses: np.ndarray,
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
            draw_ops(draw, shape.ops, a, b, s[i] * ss)
            if edraw is not None:
                draw_ops(edraw, shape.ops, a, b, 1, outline=max(1, int(round(edge_px[i] * ss))))
        else:
            # the coarsest level with >= 1 texel per output pixel (the finest one when none is that coarse)
            level, scale, centre = next((sprite for sprite in shape.sprites if sprite[1] / (ss * s[i]) <= 1.6),
                                        shape.sprites[-1])
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
        shape = random_shape(rng)
        cx, cy = rng.uniform(0, n, 2)
        sample = canvas[:: 4, :: 4].reshape(-1, 3)
        fill, _ = make_fill(rng, sample, 35.0, tries=4)
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


def labelled_clip(rng: np.random.Generator, label: str, num_frames: int = 16, size: int = 112, substeps: int = 1,
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
        if label in DIRECTIONS:  # a pan clearly slower than the object
            max_speed = min(max_speed, 0.5 * TRANSLATION_RANGE[0] * size)
        cam = camera(rng, max_speed)
    margin = 2 if cam is None else int(math.ceil(cam[4] * steps + 2 * np.abs(cam[2]).max())) + 3
    n = size + 2 * margin
    if plain:
        canvas = np.empty((n, n, 3), np.float32)
        canvas[:] = random_colour(rng)
    else:
        canvas = background(rng, n, LABELLED_BG)
        _distractors(rng, canvas, int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15])), size)
    shape = random_shape(rng, for_rotation=label.startswith("rotating"))
    track = label_track(rng, label, shape, num_frames, size)
    poses = track.at(times)
    offsets = None if cam is None else camera_offsets(cam, times)
    # The background the object moves over, wherever the camera looks.
    lo, hi = extent(shape, track, np.arange(num_frames, dtype=float))
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
        fill, score = make_fill(rng, pixels, MIN_CONTRAST, plain=plain)
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
    return labelled_clip(rng, label, num_frames, size, substeps, plain)["frames"]


def make_pretrain_clip(rng: np.random.Generator, *, num_frames: int = 16, size: int = 112) -> np.ndarray:
    """Unlabelled variety for masked-autoencoder pre-training: often several moving objects (any mix of
    translations/rotations/scalings, different speeds), textures, natural-looking noise (smoothed multi-scale noise,
    'clouds'), moving camera. (num_frames, size, size, 3) uint8."""
    _check(num_frames, size, 1)
    times, model_frame = _times(num_frames, 1)
    steps = max(1, num_frames - 1)
    cam = camera(rng, 0.02 * size) if rng.random() < 0.6 else None
    margin = 2 if cam is None else int(math.ceil(cam[4] * steps + 2 * np.abs(cam[2]).max())) + 3
    n = size + 2 * margin
    canvas = background(rng, n, PRETRAIN_BG)
    _distractors(rng, canvas, int(rng.choice(5, p=[0.3, 0.25, 0.2, 0.15, 0.1])), size)
    sample = canvas[::4, ::4].reshape(-1, 3)
    objects = []
    for _ in range(int(rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.3, 0.25, 0.12, 0.08]))):
        shape = random_shape(rng)
        ang = rng.uniform(0, 2 * np.pi)
        v = np.array([math.cos(ang), math.sin(ang)]) * rng.uniform(0, 0.05) * size if rng.random() < 0.75 else np.zeros(2)
        omega = rng.uniform(-15, 15) if rng.random() < 0.5 else rng.uniform(-1, 1)
        k = math.log1p(rng.uniform(-0.06, 0.06)) if rng.random() < 0.4 else 0.0
        e = rng.uniform(0.1, 0.45)
        e = float(np.clip(e * math.exp(k * steps), 0.08, 0.6)) / math.exp(k * steps)  # end size stays sensible
        wobble = jitter(rng, size, 0.004, 1.0, 0.005)
        track = Track(np.zeros(2), np.asarray(v, float), rng.uniform(0, 360), omega, e * size, k, wobble)
        place(rng, shape, track, times, size, rng.uniform(0, 0.3) * e * size)
        fill, _ = make_fill(rng, sample, 45.0, tries=8)
        objects.append((shape, fill, track.at(times)))
    offsets = None if cam is None else camera_offsets(cam, times)
    layer = None
    if rng.random() < 0.25:  # drifting mist
        lm = int(0.05 * size * steps) + 3
        ln = size + 2 * lm
        mist = smooth_noise(rng, ln, rng.uniform(1.5, 4), 3, 0.8)
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
