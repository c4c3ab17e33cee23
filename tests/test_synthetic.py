"""The procedural motion clips: API shapes, determinism, and that the motion in the pixels is what the label says."""

from __future__ import annotations

import json
import math
import sys
import types

import numpy as np
import pytest
from PIL import Image, ImageDraw

from videomae_viz.embedded import synthetic
from videomae_viz.embedded.synthetic import (
    LABELS,
    OPPOSITE,
    make_clip,
    make_dataset,
    make_pretrain_clip,
    write_examples,
)

EXPECTED_LABELS = ("moving left", "moving right", "moving up", "moving down", "rotating clockwise",
                   "rotating counterclockwise", "growing", "shrinking")


# ------------------------------------------------------------------------------------------ measuring motion
def object_alpha(clip: np.ndarray) -> np.ndarray:
    """Coverage of the single solid object of a plain clip: (T, H, W) in [0, 1]. The background colour is the median
    of the first frame's border; a pixel's coverage is its colour distance from it over the object's own."""
    f = clip.astype(np.float32)
    border = np.concatenate([f[0, 0], f[0, -1], f[0, :, 0], f[0, :, -1]])
    dist = np.linalg.norm(f - np.median(border, axis=0), axis=-1)
    return np.clip(dist / dist.max(), 0, 1)


def centroids(alpha: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[0:alpha.shape[1], 0:alpha.shape[2]] + 0.5
    area = alpha.sum((1, 2))
    return np.stack([(alpha * xs).sum((1, 2)) / area, (alpha * ys).sum((1, 2)) / area], 1)


def turn(a: np.ndarray, b: np.ndarray, ca: np.ndarray, cb: np.ndarray) -> float:
    """Degrees (positive = clockwise on screen) that best map coverage ``a`` (centroid ca) onto ``b`` (centroid cb)."""
    ys, xs = np.nonzero(a > 0.05)
    reach = int(np.hypot(xs + 0.5 - ca[0], ys + 0.5 - ca[1]).max() + np.abs(cb - ca).max() + 3)
    x0, y0 = int(ca[0]) - reach, int(ca[1]) - reach
    pad = reach + 2  # work on a padded window so the object never leaves it
    big_a, big_b = (np.pad(m, pad) for m in (a, b))
    win = (slice(y0 + pad, y0 + pad + 2 * reach), slice(x0 + pad, x0 + pad + 2 * reach))
    img_a, target = Image.fromarray(big_a[win].astype(np.float32)), big_b[win]
    centre = (ca[0] - x0, ca[1] - y0)

    def error(deg: float) -> float:
        # PIL rotates counterclockwise for positive angles, so a clockwise turn of `deg` is rotate(-deg).
        moved = img_a.rotate(-deg, resample=Image.BILINEAR, center=centre, translate=tuple(cb - ca))
        return float(np.abs(np.asarray(moved) - target).sum())

    best = min(np.arange(-18, 18.1, 2.0), key=error)
    return float(min(np.arange(best - 1.5, best + 1.6, 0.5), key=error))


def measure(clip: np.ndarray) -> dict:
    """Median per-frame motion of the object of a plain clip: shift (fraction of the side, x right / y down), turn
    (degrees, clockwise positive) and relative size change (square root of the area ratio)."""
    alpha = object_alpha(clip)
    size = clip.shape[2]
    c = centroids(alpha)
    area = alpha.sum((1, 2))
    shift = np.median(np.diff(c, axis=0), axis=0) / size
    scale = float(np.median(np.sqrt(area[1:] / area[:-1])) - 1)
    turns = [turn(alpha[t], alpha[t + 1], c[t], c[t + 1]) for t in range(0, len(clip) - 1, 2)]  # every other pair
    return {"dx": float(shift[0]), "dy": float(shift[1]), "turn": float(np.median(turns)), "scale": scale}


def classify(m: dict) -> str:
    """The label whose motion dominates, each measured in units of its smallest labelled amount."""
    scores = {"translation": math.hypot(m["dx"], m["dy"]) / 0.015, "rotation": abs(m["turn"]) / 4.0,
              "scaling": abs(m["scale"]) / 0.03}
    kind = max(scores, key=scores.get)
    if kind == "translation":
        if abs(m["dx"]) > abs(m["dy"]):
            return "moving right" if m["dx"] > 0 else "moving left"
        return "moving down" if m["dy"] > 0 else "moving up"
    if kind == "rotation":
        return "rotating clockwise" if m["turn"] > 0 else "rotating counterclockwise"
    return "growing" if m["scale"] > 0 else "shrinking"


def test_measure_sees_the_top_moving_right_as_clockwise():
    """The measuring tool itself, on a hand-drawn bar whose upper end moves right (clockwise, y down)."""
    frames = []
    for k in range(6):
        th = math.radians(8 * k)
        tip = np.array([math.sin(th), -math.cos(th)]) * 25  # the upper end moves right as th grows
        side = np.array([math.cos(th), math.sin(th)]) * 5
        c = np.array([40.0, 40.0])
        img = Image.new("RGB", (80, 80), (20, 20, 20))
        ImageDraw.Draw(img).polygon([tuple(c + tip + side), tuple(c + tip - side), tuple(c - 0.4 * tip - side),
                                     tuple(c - 0.4 * tip + side)], fill=(230, 230, 230))
        frames.append(np.asarray(img))
    m = measure(np.stack(frames))
    assert 6 < m["turn"] < 10
    assert classify(m) == "rotating clockwise"
    assert classify(measure(np.stack(frames)[::-1])) == "rotating counterclockwise"


# --------------------------------------------------------------------------------------------------- API
def test_labels_and_opposites():
    assert LABELS == EXPECTED_LABELS
    assert set(OPPOSITE) == set(LABELS)
    for label in LABELS:
        assert OPPOSITE[label] != label
        assert OPPOSITE[OPPOSITE[label]] == label
    assert OPPOSITE["moving left"] == "moving right" and OPPOSITE["moving up"] == "moving down"
    assert OPPOSITE["rotating clockwise"] == "rotating counterclockwise" and OPPOSITE["growing"] == "shrinking"


@pytest.mark.parametrize("label", LABELS)
def test_clip_shape_dtype_and_determinism(label):
    a = make_clip(np.random.default_rng(7), label)
    assert a.shape == (16, 112, 112, 3) and a.dtype == np.uint8
    assert np.array_equal(a, make_clip(np.random.default_rng(7), label))
    assert not np.array_equal(a, make_clip(np.random.default_rng(8), label))
    assert a.std() > 3  # not a blank clip
    small = make_clip(np.random.default_rng(7), label, num_frames=8, size=64)
    assert small.shape == (8, 64, 64, 3) and small.dtype == np.uint8


def test_unknown_label_and_bad_sizes_are_rejected():
    with pytest.raises(ValueError):
        make_clip(np.random.default_rng(0), "jumping")
    with pytest.raises(ValueError):
        make_clip(np.random.default_rng(0), "growing", substeps=0)


@pytest.mark.parametrize("label", ["moving up", "rotating clockwise", "shrinking"])
def test_substeps_interpolate_the_model_frames(label):
    for seed in range(3):
        plain = make_clip(np.random.default_rng(seed), label, num_frames=6, size=64)
        smooth = make_clip(np.random.default_rng(seed), label, num_frames=6, size=64, substeps=3)
        assert smooth.shape == ((6 - 1) * 3 + 1, 64, 64, 3)
        assert np.array_equal(smooth[::3], plain)
        # each rendered frame carries about a third of its model frame's motion
        info = synthetic.labelled_clip(np.random.default_rng(seed), label, 6, 64, 3)["poses"]
        model_step = np.diff(info[::3], axis=0)[:, None, :]  # (5, 1, 4)
        sub_step = np.diff(info, axis=0).reshape(5, 3, 4)
        assert np.all(np.abs(sub_step - model_step / 3) <= 0.2 * np.abs(model_step / 3) + 0.05)


def test_dataset_is_balanced_and_deterministic():
    clips, labels = make_dataset(20, seed=3, num_frames=4, size=48)
    assert clips.shape == (20, 4, 48, 48, 3) and clips.dtype == np.uint8
    assert labels.shape == (20,) and labels.dtype == np.int64
    counts = np.bincount(labels, minlength=len(LABELS))
    assert counts.min() >= 2 and counts.max() <= 3 and counts.sum() == 20
    again, labels_again = make_dataset(20, seed=3, num_frames=4, size=48)
    assert np.array_equal(clips, again) and np.array_equal(labels, labels_again)
    other, _ = make_dataset(20, seed=4, num_frames=4, size=48)
    assert not np.array_equal(clips, other)
    _, labels16 = make_dataset(16, seed=5, num_frames=2, size=32)
    assert np.array_equal(np.bincount(labels16), [2] * 8)


def test_pretrain_clips():
    a = make_pretrain_clip(np.random.default_rng(11))
    assert a.shape == (16, 112, 112, 3) and a.dtype == np.uint8
    assert np.array_equal(a, make_pretrain_clip(np.random.default_rng(11)))
    moving = 0
    for seed in range(8):
        clip = make_pretrain_clip(np.random.default_rng(seed), num_frames=8, size=64).astype(np.float32)
        assert clip.shape == (8, 64, 64, 3)
        moving += np.abs(clip[-1] - clip[0]).mean() > 2
    assert moving >= 6


# ----------------------------------------------------------------------------------- the motion is the label
@pytest.mark.parametrize("label", LABELS)
def test_measured_motion_matches_the_label_and_reverses(label):
    for seed in range(4):
        clip = make_clip(np.random.default_rng(100 + seed), label, plain=True)
        m = measure(clip)
        assert classify(m) == label, (seed, m)
        shift, turned, scaled = math.hypot(m["dx"], m["dy"]), abs(m["turn"]), abs(m["scale"])
        if label.startswith("moving"):
            assert 0.012 < shift < 0.045, m
            assert turned < 2 and scaled < 0.012, m
        elif label.startswith("rotating"):
            assert 3 < turned < 13.5, m
            assert shift < 0.006 and scaled < 0.012, m
        else:
            assert 0.025 < scaled < 0.07, m
            assert shift < 0.006 and turned < 2, m
        assert classify(measure(clip[::-1])) == OPPOSITE[label], seed


@pytest.mark.parametrize("label", LABELS)
def test_full_variety_clips_follow_the_spec(label):
    """Ground truth of the full generator (backgrounds, camera, textures, augmentations): per-frame motion in the
    labelled range, everything else well below it, the object mostly in the frame and 15-45 % of its side."""
    for seed in range(10):
        info = synthetic.labelled_clip(np.random.default_rng(seed), label, with_alpha=True)
        poses, alpha = info["poses"], info["alpha"]
        step = np.diff(poses, axis=0)
        shift = step[:, :2] / 112
        turn_ = step[:, 2]
        scale = poses[1:, 3] / poses[:-1, 3] - 1
        speed = np.hypot(shift[:, 0], shift[:, 1])
        if label.startswith("moving"):
            axis = {"moving left": (-1, 0), "moving right": (1, 0), "moving up": (0, -1), "moving down": (0, 1)}[label]
            along = shift @ np.array(axis, float)
            assert np.all(along > 0.013) and np.all(along < 0.043), along
            assert np.all(np.abs(shift @ np.array([axis[1], axis[0]], float)) < 0.4 * along)
            assert np.all(np.abs(turn_) < 1.2) and np.all(np.abs(scale) < 0.007)
        elif label.startswith("rotating"):
            sign = 1 if label == "rotating clockwise" else -1
            assert np.all(sign * turn_ > 3.6) and np.all(sign * turn_ < 12.5), turn_
            assert np.all(speed < 0.005) and np.all(np.abs(scale) < 0.007)
        else:
            sign = 1 if label == "growing" else -1
            assert np.all(sign * scale > 0.027) and np.all(sign * scale < 0.063), scale
            assert np.all(speed < 0.005) and np.all(np.abs(turn_) < 1.2)
            assert 0.14 <= poses[:, 3].min() and poses[:, 3].max() <= 0.46
        # mostly inside the frame: the drawn coverage keeps most of the object's area (the largest frame's)
        area = alpha.sum((1, 2)) / (poses[:, 3] / poses[:, 3].max()) ** 2
        assert area.min() > 0.8 * area.max()
        assert info["frames"].shape == (16, 112, 112, 3)


def test_objects_stand_out_from_their_background():
    """The object's colour differs from most of the background right around it, even after augmentation."""
    good = 0
    total = 0
    for seed in range(24):
        label = LABELS[seed % 8]
        info = synthetic.labelled_clip(np.random.default_rng(seed), label, with_alpha=True)
        frame, alpha = info["frames"][0].astype(np.float32), info["alpha"][0]
        inside = alpha > 0.99
        ys, xs = np.nonzero(alpha > 0.01)
        ring = np.zeros_like(inside)
        ring[max(0, ys.min() - 6):ys.max() + 7, max(0, xs.min() - 6):xs.max() + 7] = True
        ring &= alpha == 0
        if inside.sum() < 20 or ring.sum() < 20:
            continue
        obj = np.median(frame[inside], axis=0)
        dist = np.linalg.norm(frame[ring] - obj, axis=1)
        total += 1
        good += np.mean(dist > 30) > 0.75
    assert total >= 20 and good >= total - 1


def test_write_examples_writes_one_video_per_label(tmp_path, monkeypatch):
    written = {}

    def fake_write_mp4(frames, path, fps):
        written[str(path)] = (frames.shape, frames.dtype, fps)
        path.write_bytes(b"mp4")
        return path

    fake = types.ModuleType("videomae_viz.video_io")
    fake.write_mp4 = fake_write_mp4
    monkeypatch.setitem(sys.modules, "videomae_viz.video_io", fake)
    index = write_examples(tmp_path / "examples", seed=9, size=48, substeps=2, fps=10.0)
    assert [entry["label"] for entry in index] == list(LABELS)
    assert json.loads((tmp_path / "examples" / "index.json").read_text()) == index
    for entry in index:
        assert set(entry) == {"file", "label", "seed"} and entry["seed"] == 9
        path = tmp_path / "examples" / entry["file"]
        assert path.exists() and path.suffix == ".mp4"
        shape, dtype, fps = written[str(path)]
        assert shape == ((16 - 1) * 2 + 1, 48, 48, 3) and dtype == np.uint8 and fps == 10.0
