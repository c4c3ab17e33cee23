"""Load on the live app (the shared test server): eight users at once, each with their own clip and settings, then
the server's memory and its temporary folders.

Every answer must come back to the user who asked (its visible-token count, frame rate and top-k length are that
user's), every user gets the same classes for the same clip each time, and the server's resident memory grows by at
most 60 MB over 24 requests after a warm-up round. The numbers are printed (``pytest -s``) and written to
tests/artifacts/load.json.
"""

from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clips import write_clip
from tests.server import ROOT, SETTINGS, analyze
from videomae_viz.masking import masked_count
from videomae_viz.pipeline import PRESETS

ARTIFACT = ROOT / "tests" / "artifacts" / "load.json"
CONFIG = json.loads((ROOT / "assets" / PRESETS["embedded"].reconstructor / "config.json").read_text())  # the lab's grid
GRID = (CONFIG["num_frames"] // CONFIG["tubelet_size"], CONFIG["image_size"] // CONFIG["patch_size"],
        CONFIG["image_size"] // CONFIG["patch_size"])
USERS = 8
ROUNDS = 3  # requests per user after the warm-up request
MAX_GROWTH = 60 * 1024 * 1024
MB = 1024 * 1024


@dataclass
class User:
    """One simulated person: a clip of their own and settings no other user has."""

    index: int
    clip: Path
    ratio: float
    top_k: int
    fps: int
    client: object = None

    @property
    def visible(self) -> int:
        return math.prod(GRID) - masked_count("tube", GRID, self.ratio)


@dataclass
class Outcome:
    user: int
    seconds: float
    error: str | None
    labels: list[tuple[str, float]]


def _request(user: User) -> Outcome:
    """One /analyze call; an answer that is not this user's counts as an error."""
    began = time.perf_counter()
    try:
        out = analyze(user.client, user.clip, ratio=user.ratio, top_k=user.top_k)
    except Exception as err:  # recorded, and asserted on once every user has finished
        return Outcome(user.index, time.perf_counter() - began, f"{type(err).__name__}: {err}", [])
    seconds = time.perf_counter() - began
    counters = out[5].replace("**", "")
    labels = [(c["label"], c["confidence"]) for c in out[0]["confidences"]]
    problems = []
    if f"visible {user.visible} " not in counters:
        problems.append(f"expected visible {user.visible}")
    if f"at {user.fps:.1f} fps" not in counters:
        problems.append(f"expected a {user.fps} fps clip")
    if len(labels) != user.top_k:
        problems.append(f"expected top-{user.top_k}, got {len(labels)}")
    error = f"mixed up ({'; '.join(problems)}): {counters[:200]}" if problems else None
    return Outcome(user.index, seconds, error, labels)


def _rounds(user: User) -> list[Outcome]:
    return [_request(user) for _ in range(ROUNDS)]


def _connect(user: User, url: str, downloads: Path) -> Outcome:
    from gradio_client import Client

    user.client = Client(url, verbose=False, download_files=str(downloads / f"user{user.index}"))
    return _request(user)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> list[User]:
    folder = tmp_path_factory.mktemp("users")
    made = []
    for i in range(USERS):
        fps = 10 + i
        clip = write_clip(folder / f"user{i}.mp4", n_frames=20 + 3 * i, size=(96 + 16 * i, 72), fps=fps)
        made.append(User(index=i, clip=clip, ratio=round(0.1 * (i + 1), 2), top_k=i + 1, fps=fps))
    assert len({u.visible for u in made}) == USERS  # each answer names its user
    return made


def test_eight_users_at_once(app_server, users, tmp_path):
    downloads = tmp_path / "downloads"
    began = time.perf_counter()
    with ThreadPoolExecutor(USERS) as pool:
        warm_up = list(pool.map(lambda u: _connect(u, app_server.url, downloads), users))
        rss_before = app_server.rss_bytes()
        measured = [o for outcomes in pool.map(_rounds, users) for o in outcomes]
        rss_after = app_server.rss_bytes()
    elapsed = time.perf_counter() - began
    outcomes = warm_up + measured
    latencies = [o.seconds for o in measured if o.error is None]
    report = {
        "users": USERS,
        "requests_per_user": 1 + ROUNDS,
        "successes": sum(o.error is None for o in outcomes),
        "total": len(outcomes),
        "latency_p50_s": round(_percentile(latencies, 0.50), 3) if latencies else None,
        "latency_p95_s": round(_percentile(latencies, 0.95), 3) if latencies else None,
        "latency_max_s": round(max(latencies), 3) if latencies else None,
        "rss_after_warm_up_mb": round(rss_before / MB, 1),
        "rss_after_24_more_mb": round(rss_after / MB, 1),
        "rss_growth_mb": round((rss_after - rss_before) / MB, 1),
        "elapsed_s": round(elapsed, 1),
        "errors": [f"user {o.user}: {o.error}" for o in outcomes if o.error],
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(report, indent=2) + "\n")
    print("\nload:", json.dumps(report))

    assert report["errors"] == [] and report["successes"] == USERS * (1 + ROUNDS)
    assert rss_after - rss_before <= MAX_GROWTH, report
    for user in users:  # same clip and settings, same answer: nobody got another user's classes
        answers = [o.labels for o in outcomes if o.user == user.index]
        first = answers[0]
        for labels in answers[1:]:
            assert [name for name, _ in labels] == [name for name, _ in first]
            assert all(abs(a - b) < 1e-4 for (_, a), (_, b) in zip(labels, first))


def test_old_request_folders_are_removed(app_server, users):
    """Folders last written more than VIDEOMAE_VIZ_KEEP_SECONDS ago go when the next request arrives (the default
    of 30 minutes would keep them all), so the count stays bounded by the requests of the last keep time."""
    from gradio_client import Client

    keep = float(SETTINGS["VIDEOMAE_VIZ_KEEP_SECONDS"])
    root = app_server.output_root
    client = Client(app_server.url, verbose=False, download_files=False)
    analyze(client, users[1].clip)  # at least one folder, also when this test runs alone
    before = [p for p in root.iterdir() if p.is_dir()]
    now = time.time()
    stale, fresh = now - keep - 30, now - keep / 2
    for folder in before:  # every earlier request now counts as old
        os.utime(folder, (stale, stale))
    recent = root / "recent-request"
    recent.mkdir()
    os.utime(recent, (fresh, fresh))

    analyze(client, users[0].clip)
    after = {p.name for p in root.iterdir()}
    assert not after & {p.name for p in before}
    assert "recent-request" in after and len(after) == 2  # the recent folder and the new request's
    print(f"\nrequest folders: {len(before)} before the cleanup, {len(after)} after")


def test_heap_settings_reach_glibc(monkeypatch):
    """The app's launch() sets glibc's mmap threshold and arena count (videomae_viz.memory); without them the load
    test above grows by hundreds of megabytes. Where there is no C library to ask, nothing changes and the answer
    says so."""
    import ctypes.util

    from videomae_viz import memory

    assert memory.keep_heap_flat() is True  # this is a glibc system
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert memory.keep_heap_flat() is False
