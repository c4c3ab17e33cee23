"""Training clips from real footage and from photographs: (T, S, S, 3) uint8, S = the model's side.

- ``video_window``: a random window of a real video in space and time (crop scale, stride as a speed change,
  flips, time reversal).
- ``photo_motion``: a photograph filmed by a moving camera (pan, tilt, zoom, roll), sometimes with a second layer
  (a cut-out of another photograph moving across at its own speed), motion blur, sensor noise and a round trip
  through a lossy codec (JPEG).
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

STRIDES = (1, 2, 3, 4, 4, 4, 5, 6)  # source frames between samples; 4 (VideoMAE's Kinetics sampling) most often


def _resize(frames: np.ndarray, side: int) -> np.ndarray:
    """(T, h, w, 3) uint8 square crops -> (T, side, side, 3) uint8, antialiased bilinear."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()  # (T, 3, h, w)
    x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def video_window(rng: np.random.Generator, video: np.ndarray, num_frames: int, side: int) -> np.ndarray:
    """A random space-time window of video (F, H, W, 3) uint8 -> (num_frames, side, side, 3) uint8."""
    total, height, width = video.shape[:3]
    stride = int(rng.choice(STRIDES))
    while stride > 1 and (num_frames - 1) * stride + 1 > total:
        stride -= 1
    start = int(rng.integers(0, total - (num_frames - 1) * stride))
    frames = video[start: start + (num_frames - 1) * stride + 1: stride]
    crop = int(min(height, width) * rng.uniform(0.55, 1.0))
    y, x = int(rng.integers(0, height - crop + 1)), int(rng.integers(0, width - crop + 1))
    clip = _resize(frames[:, y:y + crop, x:x + crop], side)
    if rng.random() < 0.5:
        clip = clip[:, :, ::-1]
    if rng.random() < 0.3:
        clip = clip[::-1]
    return np.ascontiguousarray(clip)


def _affine_grid(centre: np.ndarray, scale: np.ndarray, angle: np.ndarray, shape: tuple[int, int],
                 side: int) -> torch.Tensor:
    """Sampling grids (T, side, side, 2) for ``F.grid_sample`` of an image (H, W): frame t shows a square of
    ``scale[t]`` pixels around ``centre[t]`` (x, y pixels), turned by ``angle[t]`` radians."""
    h, w = shape
    lin = torch.linspace(-0.5, 0.5, side)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")  # (side, side)
    cos, sin = torch.tensor(np.cos(angle)).float(), torch.tensor(np.sin(angle)).float()
    s = torch.tensor(scale).float()[:, None, None]
    px = torch.tensor(centre[:, 0]).float()[:, None, None] + s * (cos[:, None, None] * gx - sin[:, None, None] * gy)
    py = torch.tensor(centre[:, 1]).float()[:, None, None] + s * (sin[:, None, None] * gx + cos[:, None, None] * gy)
    return torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], dim=-1)  # align_corners=False coordinates


def _trajectory(rng: np.random.Generator, times: np.ndarray, shape: tuple[int, int], side_frac: tuple[float, float],
                speed: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth camera path: centre (T, 2), square size (T,) and roll (T,) at ``times`` (frames)."""
    h, w = shape
    short = min(h, w)
    scale0 = short * rng.uniform(*side_frac)
    zoom = rng.uniform(-0.025, 0.025) if rng.random() < 0.5 else 0.0
    scale = scale0 * np.exp(zoom * (times - times.mean()))
    roll_rate = math.radians(rng.uniform(-1.5, 1.5)) if rng.random() < 0.3 else 0.0
    angle = rng.uniform(-0.1, 0.1) + roll_rate * times
    direction = rng.uniform(0, 2 * math.pi)
    velocity = speed * scale0 * rng.uniform(0.0, 1.0) * np.array([math.cos(direction), math.sin(direction)])
    accel = rng.normal(0, 0.002, 2) * scale0
    offset = velocity[None] * times[:, None] + 0.5 * accel[None] * times[:, None] ** 2
    offset -= offset.mean(axis=0)
    reach = scale.max() * 0.75  # a turned square's half-diagonal stays inside the image
    span = offset.max(axis=0) - offset.min(axis=0)
    low = np.array([reach, reach]) - offset.min(axis=0)
    high = np.array([w - reach, h - reach]) - offset.max(axis=0)
    centre0 = np.where(high > low, rng.uniform(np.minimum(low, high), np.maximum(low, high)),
                       np.array([w / 2, h / 2]) - span / 2 - offset.min(axis=0))
    return centre0[None] + offset, scale, angle


def _render(image: torch.Tensor, centre: np.ndarray, scale: np.ndarray, angle: np.ndarray, side: int) -> torch.Tensor:
    """(C, H, W) float image -> (T, C, side, side) frames along a camera path; sampled at twice the side and
    averaged down, so minified photographs do not alias."""
    grid = _affine_grid(centre, scale, angle, image.shape[1:], 2 * side)
    frames = F.grid_sample(image[None].expand(len(centre), -1, -1, -1), grid, mode="bilinear",
                           padding_mode="reflection", align_corners=False)
    return F.avg_pool2d(frames, 2)


def _cutout_alpha(rng: np.random.Generator, side: int) -> torch.Tensor:
    """(1, side, side) soft mask of a random ellipse-like blob, 1 inside."""
    lin = torch.linspace(-1, 1, side)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    theta = torch.atan2(gy, gx)
    radius = 0.55 + sum(rng.uniform(-0.12, 0.12) * torch.cos(k * theta + rng.uniform(0, 2 * math.pi))
                        for k in (2, 3, 5))
    r = torch.sqrt(gx ** 2 + gy ** 2)
    return torch.sigmoid((radius - r) * side / 3)[None]


def photo_motion(rng: np.random.Generator, photo: np.ndarray, other: np.ndarray | None, num_frames: int,
                 side: int, pace: float = 1.0) -> np.ndarray:
    """A clip of photo (H, W, 3) uint8 filmed by a moving camera -> (num_frames, side, side, 3) uint8; with
    ``other``, sometimes a cut-out of it moving across at another speed. ``pace`` frames show the motion of one
    training frame (4: a clip to be sampled at a stride of 4)."""
    blur = rng.random() < 0.3
    sub = 3 if blur else 1
    times = np.arange(num_frames * sub, dtype=np.float64) / sub / pace  # sub-frame times, in training frames
    image = torch.from_numpy(np.ascontiguousarray(photo)).permute(2, 0, 1).float()  # (3, H, W)
    centre, scale, angle = _trajectory(rng, times, photo.shape[:2], (0.35, 0.95), 0.06)
    frames = _render(image, centre, scale, angle, side)  # (T*sub, 3, S, S)
    if other is not None and rng.random() < 0.4:
        fg = torch.from_numpy(np.ascontiguousarray(other)).permute(2, 0, 1).float()
        size = int(side * rng.uniform(0.3, 0.6))
        c2, s2, a2 = _trajectory(rng, times, other.shape[:2], (0.2, 0.5), 0.04)
        layer = _render(fg, c2, s2, a2, size)  # (T*sub, 3, size, size)
        alpha = _cutout_alpha(rng, size)
        direction = rng.uniform(0, 2 * math.pi)
        travel = rng.uniform(0.0, 0.05) * side * np.array([math.cos(direction), math.sin(direction)])
        start = rng.uniform(0, side - size, 2) - travel * times.mean()
        for i, t in enumerate(times):
            x, y = (start + travel * t).round().astype(int)
            x, y = int(np.clip(x, -size // 2, side - size // 2)), int(np.clip(y, -size // 2, side - size // 2))
            fx0, fy0 = max(0, -x), max(0, -y)
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(side, x + size), min(side, y + size)
            patch = layer[i, :, fy0:fy0 + y1 - y0, fx0:fx0 + x1 - x0]
            a = alpha[:, fy0:fy0 + y1 - y0, fx0:fx0 + x1 - x0]
            frames[i, :, y0:y1, x0:x1] = frames[i, :, y0:y1, x0:x1] * (1 - a) + patch * a
    if blur:
        frames = frames.reshape(num_frames, sub, 3, side, side).mean(dim=1)
    if rng.random() < 0.3:
        frames = frames + torch.from_numpy(rng.normal(0, rng.uniform(1, 6), frames.shape)).float()
    if rng.random() < 0.3:
        gain, offset = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
        frames = frames * gain + offset
    clip = frames.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    if rng.random() < 0.2:
        clip = _jpeg(clip, int(rng.integers(25, 80)))
    if rng.random() < 0.5:
        clip = clip[:, :, ::-1]
    return np.ascontiguousarray(clip)


def _jpeg(clip: np.ndarray, quality: int) -> np.ndarray:
    """Each frame through JPEG at ``quality``: the blocks and ringing of a lossy codec."""
    out = np.empty_like(clip)
    for i, frame in enumerate(clip):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
        out[i] = np.asarray(Image.open(buffer).convert("RGB"))
    return out
