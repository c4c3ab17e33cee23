"""Bad and odd clips through every door: the command line, the Python API and the live app.

A bad clip gets one line a person can act on, the same through each door: ``error: CLIP: reason`` on stderr with exit
status 2 and no traceback (CLI), ``VideoReadError(reason)`` (API), an ``AppError`` carrying the reason (app), and the
app answers a good request right after it. Odd but valid clips are analysed by the embedded pipeline. Only facts that
hold for any weights are checked.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.clips import (
    write_audio,
    write_blanked_payload,
    write_clip,
    write_image,
    write_sparse_clip,
    write_truncated,
    write_unknown_codec,
    write_y4m_header,
)
from tests.server import analyze
from videomae_viz.masking import masked_count
from videomae_viz.pipeline import PRESETS, Settings, VideoMAEPipeline
from videomae_viz.video_io import VideoReadError, read_video

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / "assets" / PRESETS["embedded"].classifier / "config.json").read_text())
RECONSTRUCTOR = json.loads((ROOT / "assets" / PRESETS["embedded"].reconstructor / "config.json").read_text())
LABELS = set(CONFIG["id2label"].values())
GRID = (RECONSTRUCTOR["num_frames"] // RECONSTRUCTOR["tubelet_size"],  # the masking lab's tokens
        RECONSTRUCTOR["image_size"] // RECONSTRUCTOR["patch_size"], RECONSTRUCTOR["image_size"] // RECONSTRUCTOR["patch_size"])
TOKENS = math.prod(GRID)
X265 = {"x265-params": "log-level=none"}


# --- the bad clips ---------------------------------------------------------------------------------------------------

def _sources(folder: Path) -> dict[str, Path]:
    """Two healthy MP4s to damage: the index (moov) at the end, as encoders write it, and at the front."""
    return {
        "end": write_clip(folder / "source-end.mp4", n_frames=100, size=(160, 120)),
        "front": write_clip(folder / "source-front.mp4", n_frames=100, size=(160, 120),
                            container_options={"movflags": "+faststart"}),
    }


def _renamed(made: Path, target: Path) -> Path:
    return made.rename(target)


def _bytes(target: Path, data: bytes) -> Path:
    target.write_bytes(data)
    return target


# name -> (how to make it at the given .mp4 path from the healthy sources, the start of the reason)
BAD: dict[str, tuple[Callable[[Path, dict[str, Path]], Path], str]] = {
    "empty file": (lambda p, s: _bytes(p, b""), "the file is empty"),
    "random bytes": (lambda p, s: _bytes(p, np.random.default_rng(0).bytes(20_000)),
                     "not a video: the file format was not recognised"),
    "PNG renamed .mp4": (lambda p, s: write_image(p, "PNG"), "not a video: it is a PNG image"),
    "text renamed .mp4": (lambda p, s: _bytes(p, b"My lecture notes, not a video.\n" * 40),
                          "not a video: it is a text file"),
    "audio only (AAC in MP4)": (lambda p, s: _renamed(write_audio(p.with_suffix(".m4a"), "aac"), p),
                                "no video stream (audio only)"),
    "MP3 with cover art": (lambda p, s: _renamed(write_audio(p.with_suffix(".mp3"), "mp3", cover=True), p),
                           "no video stream (audio with a cover picture)"),
    "truncated MP4 (index at the end)": (lambda p, s: write_truncated(s["end"], p, 0.5),
                                         "the file is truncated or corrupt"),
    "truncated MP4 (cut inside the index)": (lambda p, s: write_truncated(s["front"], p, 0.05),
                                             "the file is truncated or corrupt"),
    "zero decodable frames": (lambda p, s: write_blanked_payload(s["front"], p),
                              "the file is truncated or corrupt: no frame could be decoded"),
    "header claims 16000x16000": (lambda p, s: write_y4m_header(p, 16000, 16000), "absurd dimensions: 16000x16000"),
    "header claims 20000x8": (lambda p, s: write_y4m_header(p, 20000, 8), "absurd dimensions: 20000x8"),
    "unsupported codec": (lambda p, s: _renamed(write_unknown_codec(p.with_suffix(".avi")), p), "unsupported codec"),
}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


@pytest.fixture(scope="module")
def bad_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    sources = _sources(tmp_path_factory.mktemp("sources"))
    return {name: make(folder / f"{_slug(name)}.mp4", sources) for name, (make, _) in BAD.items()}


@pytest.fixture(scope="module")
def reasons(bad_clips: dict[str, Path]) -> dict[str, str]:
    """What read_video says about each bad clip (checked against the table in test_api_gives_a_clear_reason)."""
    found = {}
    for name, path in bad_clips.items():
        try:
            read_video(path)
        except VideoReadError as err:
            found[name] = str(err)
    return found


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("good") / "good.mp4", n_frames=24, size=(96, 72))


@pytest.fixture(scope="module")
def pipeline() -> VideoMAEPipeline:
    return VideoMAEPipeline.from_preset("embedded")


@pytest.mark.parametrize("name", BAD)
def test_api_gives_a_clear_reason(name, bad_clips, reasons, pipeline):
    assert name in reasons, f"read_video accepted the {name}"
    reason = reasons[name]
    assert reason.startswith(BAD[name][1]), reason
    assert "\n" not in reason and len(reason) < 160
    assert not any(word in reason for word in ("Traceback", "Errno", "av.error", "Exception", " object at "))
    with pytest.raises(VideoReadError) as caught:
        pipeline.analyze(bad_clips[name], Settings())
    assert str(caught.value) == reason


@pytest.fixture(scope="module")
def cli_run(bad_clips: dict[str, Path], good_clip: Path) -> subprocess.CompletedProcess:
    """One CLI run over a good clip, every bad clip, and the good clip again."""
    clips = [good_clip, *bad_clips.values(), good_clip]
    return subprocess.run([sys.executable, "-m", "videomae_viz", "--no-attention", "--top-k", "2", *map(str, clips)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_exit_status_and_good_clips(cli_run, good_clip):
    assert cli_run.returncode == 2
    assert "Traceback" not in cli_run.stderr
    assert len(cli_run.stderr.splitlines()) == len(BAD)  # one line per bad clip, nothing else
    records = [json.loads(line) for line in cli_run.stdout.splitlines()]
    assert [r["clip"] for r in records] == [str(good_clip)] * 2  # the good clip after the bad ones still ran
    assert all(len(r["labels"]) == 2 and {x["label"] for x in r["labels"]} <= LABELS for r in records)


@pytest.mark.parametrize("name", BAD)
def test_cli_prints_one_line(name, cli_run, bad_clips, reasons):
    assert f"error: {bad_clips[name]}: {reasons[name]}" in cli_run.stderr.splitlines()


@pytest.fixture(scope="module")
def client(app_url: str, tmp_path_factory: pytest.TempPathFactory):
    from gradio_client import Client

    return Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.mark.parametrize("name", BAD)
def test_app_refuses_then_answers(name, client, bad_clips, reasons, good_clip):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        analyze(client, bad_clips[name])
    assert str(caught.value) == reasons[name]
    topk, *_, counters = analyze(client, good_clip, ratio=0.5, top_k=2)[:6]
    assert len(topk["confidences"]) == 2 and {c["label"] for c in topk["confidences"]} <= LABELS
    visible = TOKENS - masked_count("tube", GRID, 0.5)
    assert f"visible {visible} " in counters.replace("**", "")


# --- odd but valid clips ---------------------------------------------------------------------------------------------

# name -> (write_clip arguments or a maker, the size as displayed (width, height), a note the clip must carry)
ODD: dict[str, tuple[dict | Callable[[Path], Path], tuple[int, int], str | None]] = {
    "1 frame": ({"n_frames": 1}, (64, 48), "the clip has 1 frame; frames were repeated to make 16"),
    "5 frames": ({"n_frames": 5}, (64, 48), "the clip has 5 frames; frames were repeated to make 16"),
    "portrait 72x128": ({"size": (72, 128)}, (72, 128), None),
    "rotated 90 degrees": ({"rotation": 90}, (48, 64), "rotation metadata applied"),
    "4K UHD": ({"n_frames": 2, "size": (3840, 2160), "options": {"preset": "ultrafast"}}, (3840, 2160),
               "the clip has 2 frames"),
    "10-bit H.264": ({"pix_fmt": "yuv420p10le"}, (64, 48), None),
    "10-bit HEVC": ({"codec": "libx265", "pix_fmt": "yuv420p10le", "options": X265, "suffix": ".mkv"}, (64, 48), None),
    "gray": ({"pix_fmt": "gray"}, (64, 48), None),
    "GIF": ({"codec": "gif", "pix_fmt": "rgb8", "suffix": ".gif"}, (64, 48), None),
    "VP9 WebM": ({"codec": "libvpx-vp9", "suffix": ".webm"}, (64, 48), None),
    "MJPEG AVI": ({"codec": "mjpeg", "pix_fmt": "yuvj420p", "suffix": ".avi"}, (64, 48), None),
    "3 frames over 10 hours": (lambda p: write_sparse_clip(p), (64, 48), "the clip has 3 frames"),
}


@pytest.mark.parametrize("name", ODD)
def test_odd_clip_is_analysed(name, tmp_path, pipeline):
    spec, size, note = ODD[name]
    if callable(spec):
        path = spec(tmp_path / "odd.mp4")
    else:
        spec = dict(spec)
        path = write_clip(tmp_path / f"odd{spec.pop('suffix', '.mp4')}", **spec)
    analysis = pipeline.analyze(path, Settings(top_k=3), time_limit=30)  # TimeLimitError if it hangs
    clip = analysis.clip
    assert clip.source_size == size
    assert clip.frames.shape[0] == CONFIG["num_frames"] and max(clip.frames.shape[1:3]) <= 640
    if note is None:
        assert not any("repeated" in n or "truncated" in n for n in clip.notes), clip.notes
    else:
        assert any(n.startswith(note) for n in clip.notes), clip.notes
    side, rec_side = CONFIG["image_size"], RECONSTRUCTOR["image_size"]
    assert analysis.classifier_frames.shape == (CONFIG["num_frames"], side, side, 3)
    assert analysis.frames.shape == (RECONSTRUCTOR["num_frames"], rec_side, rec_side, 3)
    names = [label for label, _ in analysis.labels]
    scores = [score for _, score in analysis.labels]
    assert len(names) == 3 and set(names) <= LABELS and scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1 + 1e-6
    assert analysis.tokens == TOKENS and analysis.visible_tokens == TOKENS - masked_count("tube", GRID, 0.9)
    assert math.isfinite(analysis.reconstruction.psnr)
    assert analysis.attention is not None and analysis.attention.num_layers == CONFIG["num_hidden_layers"]
