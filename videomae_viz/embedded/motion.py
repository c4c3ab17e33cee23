"""Motion of the generated clips: pose tracks with drift and jitter, placement in the frame, the track of each
label, and the camera pan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .shapes import Shape

# Motion per model frame for the labelled motion (fractions of the frame side, degrees, relative size change).
TRANSLATION_RANGE = (0.015, 0.04)
ROTATION_RANGE = (4.0, 12.0)
SCALE_RANGE = (0.03, 0.06)
SIZE_RANGE = (0.15, 0.45)  # object size (largest side of its upright bounding box) / frame side
CAMERA_MAX = 0.01  # camera pan, fraction of the frame side per model frame
# Largest non-labelled motion mixed in (drift + jitter), well below the labelled ranges above.
_DRIFT_SHIFT, _JITTER_SHIFT = 0.0025, 0.002  # fraction of the side per frame
_DRIFT_TURN, _JITTER_TURN = 0.8, 0.3  # degrees per frame
_DRIFT_SCALE, _JITTER_SCALE = 0.004, 0.002  # relative size change per frame
DIRECTIONS = {"moving left": (-1.0, 0.0), "moving right": (1.0, 0.0), "moving up": (0.0, -1.0),
              "moving down": (0.0, 1.0)}


@dataclass
class Track:
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


def jitter(rng: np.random.Generator, size: int, shift: float, turn: float, scale: float) -> list:
    """Smooth wobble whose speed stays below shift (fraction of the side), turn (deg) and scale per frame."""
    out = []
    if rng.random() < 0.5:
        freq = rng.uniform(0.5, 1.5)
        ang = rng.uniform(0, 2 * np.pi)
        amp = np.array([math.cos(ang) * shift * size, math.sin(ang) * shift * size, turn * rng.choice([-1, 1]),
                        scale * rng.choice([-1, 1])]) * rng.uniform(0.3, 1.0) / freq
        out.append((amp, freq, rng.uniform(0, 2 * np.pi)))
    return out


def extent(shape: Shape, track: Track, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box (lo, hi) of the shape over ``times``, relative to track.c0."""
    pose = track.at(times)
    th = np.radians(pose[:, 2])
    co, si = np.cos(th)[:, None], np.sin(th)[:, None]
    bx, by = shape.boundary[:, 0][None], shape.boundary[:, 1][None]
    s = pose[:, 3:4]
    x = (co * bx - si * by) * s + (pose[:, 0:1] - track.c0[0])
    y = (si * bx + co * by) * s + (pose[:, 1:2] - track.c0[1])
    return np.array([x.min(), y.min()]), np.array([x.max(), y.max()])


def place(rng: np.random.Generator, shape: Shape, track: Track, times: np.ndarray, size: int,
          overflow: float) -> None:
    """Choose track.c0 so the object stays in the frame (up to ``overflow`` pixels out) over ``times``."""
    lo, hi = extent(shape, track, times)
    c0 = np.empty(2)
    for i in range(2):
        a, b = -lo[i] - overflow, size - hi[i] + overflow
        c0[i] = rng.uniform(a, b) if b > a else (a + b) / 2
    track.c0 = c0


def label_track(rng: np.random.Generator, label: str, shape: Shape, num_frames: int, size: int) -> Track:
    """The track of ``shape`` doing ``label`` over ``num_frames``, with small drift and jitter, placed so it
    stays in a ``size`` frame."""
    steps = max(1, num_frames - 1)
    v, omega, k = np.zeros(2), 0.0, 0.0
    theta0 = rng.uniform(0, 360)
    drift_dir = rng.uniform(0, 2 * np.pi)
    drift_v = np.array([math.cos(drift_dir), math.sin(drift_dir)]) * rng.uniform(0, _DRIFT_SHIFT) * size
    drift_turn = rng.uniform(-_DRIFT_TURN, _DRIFT_TURN) if rng.random() < 0.3 else 0.0
    drift_k = math.log1p(rng.uniform(-_DRIFT_SCALE, _DRIFT_SCALE)) if rng.random() < 0.3 else 0.0
    wobble = jitter(rng, size, _JITTER_SHIFT, _JITTER_TURN, _JITTER_SCALE)
    if label in DIRECTIONS:
        d = np.array(DIRECTIONS[label])
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
    track = Track(np.zeros(2), np.asarray(v, float), theta0, omega, e * size, k, wobble)
    place(rng, shape, track, np.arange(num_frames, dtype=float), size,
          rng.uniform(0, 0.08) * e * size if label in DIRECTIONS else rng.uniform(0, 0.04) * e * size)
    return track


def camera(rng: np.random.Generator, max_speed: float) -> tuple[np.ndarray, float, np.ndarray, float, float]:
    """A smooth pan: offset(t) = v t + a (sin(w t + p) - sin p), speed <= max_speed pixels per model frame."""
    ang = rng.uniform(0, 2 * np.pi)
    budget = max_speed * rng.uniform(0.3, 1.0)
    wobble = rng.uniform(0, 0.3) * budget
    freq = rng.uniform(0.2, 0.8)
    v = np.array([math.cos(ang), math.sin(ang)]) * (budget - wobble)
    b = rng.uniform(0, 2 * np.pi)
    a = np.array([math.cos(b), math.sin(b)]) * wobble / freq
    return v, freq, a, rng.uniform(0, 2 * np.pi), budget


def camera_offsets(cam: tuple[np.ndarray, float, np.ndarray, float, float], times: np.ndarray) -> np.ndarray:
    """(N, 2) pixel offsets of the pan ``cam`` (from ``camera``) at ``times``."""
    v, freq, a, phase, _ = cam
    return v[None] * times[:, None] + a[None] * (np.sin(freq * times + phase) - math.sin(phase))[:, None]
