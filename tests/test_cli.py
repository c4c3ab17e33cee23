"""The CLI contract on tiny random checkpoints: one JSON line per clip, bad clips reported and skipped, exit 2."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.tiny import TINY, save_tiny_pair
from videomae_viz.cli import build_parser
from videomae_viz.masking import masked_count
from videomae_viz.video_io import read_video, write_mp4

pytestmark = pytest.mark.slow  # the CLI in subprocesses

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"clip", "classifier", "reconstructor", "labels", "mask_ratio", "masking", "tokens", "visible_tokens",
        "reconstruction", "timings", "outputs"}
STAGES = {"decode", "preprocess", "classify", "reconstruct", "attention", "render", "total"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    classifier, reconstructor = save_tiny_pair(folder / "models")
    frames = np.zeros((24, 72, 96, 3), np.uint8)
    for i in range(24):
        frames[i, 20:44, 4 + 3 * i: 28 + 3 * i] = (220, 60, 40)
    good = write_mp4(frames, folder / "moving.mp4", fps=12)
    bad = folder / "broken.mp4"
    bad.write_bytes(b"\x00\x01 not a video at all" * 10)
    return folder, classifier, reconstructor, good, bad


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videomae_viz", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_batch_with_a_bad_clip_in_the_middle(setup):
    folder, classifier, reconstructor, good, bad = setup
    out = folder / "out"
    result = run("--classifier", classifier, "--reconstructor", reconstructor, "--mask-ratio", "0.5", "--top-k", "2",
                 "--out", str(out), str(good), str(bad), str(good))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}: ")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert KEYS <= set(first) and STAGES == set(first["timings"])
    assert first["clip"] == str(good) and first["classifier"] == classifier and first["reconstructor"] == reconstructor
    assert len(first["labels"]) == 2 and first["labels"][0]["score"] >= first["labels"][1]["score"]
    assert 0 < sum(item["score"] for item in first["labels"]) <= 1 + 1e-6
    assert {item["label"] for item in first["labels"]} <= {"zero", "one", "two"}
    assert first["tokens"] == TINY.num_patches
    assert first["visible_tokens"] == TINY.num_patches - masked_count("tube", TINY.grid, 0.5)
    assert first["mask_ratio"] == 0.5 and first["masking"] == "tube"
    for key in ("psnr", "baseline_psnr", "interpolation_psnr"):
        assert math.isfinite(first["reconstruction"][key]) and first["reconstruction"][key] > 0
    assert first["reconstruction"]["copy_psnr"] is None  # tube masking leaves nothing to copy
    assert first["reconstruction"]["views"] == 1  # the tiny checkpoint declares no views: one pass
    assert all(value >= 0 for value in first["timings"].values())
    assert first["timings"]["attention"] > 0
    assert set(first["outputs"]) == {"original", "masked", "prediction", "reconstruction", "interpolation", "side_by_side",
                                     "attention", "relevance"}
    for path in first["outputs"].values():
        assert Path(path).is_file() and Path(path).stat().st_size > 0
    # two clips with one name get two folders
    assert Path(lines[1]["outputs"]["original"]).parent.name == "moving-2"
    grid = np.asarray(Image.open(first["outputs"]["original"]))
    assert grid.ndim == 3 and grid.shape[2] == 3
    video = read_video(first["outputs"]["side_by_side"], num_frames=4)
    assert video.frames.shape[2] > video.frames.shape[1]  # four panels side by side


def test_same_seed_same_result_and_no_attention(setup):
    _, classifier, reconstructor, good, _ = setup
    args = ("--classifier", classifier, "--reconstructor", reconstructor, "--masking", "random", "--seed", "3",
            "--no-attention", str(good))
    first, second = run(*args), run(*args)
    assert first.returncode == second.returncode == 0, first.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["reconstruction"] == b["reconstruction"] and a["labels"] == b["labels"]
    assert a["timings"]["attention"] == 0 and a["outputs"] == {}


def test_bad_settings_and_sources_are_one_line_errors(setup):
    _, classifier, reconstructor, good, _ = setup
    result = run("--classifier", classifier, "--reconstructor", reconstructor, "--mask-ratio", "1.5", str(good))
    assert result.returncode == 2 and result.stderr.strip() == "error: mask ratio must be in [0, 1), got 1.5"
    result = run("--classifier", reconstructor, "--reconstructor", reconstructor, str(good))
    assert result.returncode == 2 and "is not a video classifier" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("--classifier", "/no/such/folder", str(good))
    assert result.returncode == 2 and result.stderr.startswith("error: /no/such/folder: not an embedded model")


def test_play_backwards_and_its_former_name_reverse(setup):
    _, classifier, reconstructor, good, _ = setup
    assert build_parser().parse_args(["--reverse", "clip.mp4"]).play_backwards
    assert not build_parser().parse_args(["clip.mp4"]).play_backwards
    args = ("--classifier", classifier, "--reconstructor", reconstructor, "--no-attention", str(good))
    forward, backward = run(*args), run("--play-backwards", *args)
    assert forward.returncode == backward.returncode == 0, backward.stderr
    a, b = json.loads(forward.stdout), json.loads(backward.stdout)
    assert set(a) == set(b)  # the JSON keys stay as they are
    assert b["frames"] == a["frames"][::-1] and b["notes"] == [*a["notes"], "frames are played in reverse"]


def test_views_average_the_decoder_and_leave_the_fills_alone(setup):
    folder, classifier, reconstructor, good, _ = setup
    records = {}
    for views in ("1", "8"):
        result = run("--classifier", classifier, "--reconstructor", reconstructor, "--no-attention", "--views", views,
                     str(good))
        assert result.returncode == 0, result.stderr
        records[views] = json.loads(result.stdout)["reconstruction"]
    assert records["1"]["views"] == 1 and records["8"]["views"] == 8
    assert records["1"]["psnr"] != records["8"]["psnr"]  # a random decoder guesses differently in each view
    for key in ("baseline_psnr", "interpolation_psnr"):
        assert records["1"][key] == records["8"][key]
    bad = run("--classifier", classifier, "--reconstructor", reconstructor, "--views", "3", str(good))
    assert bad.returncode == 2 and "--views" in bad.stderr
