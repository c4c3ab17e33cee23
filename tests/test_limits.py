"""The app's limits are in force: upload size, time per analysis, and the bounded queue with two model workers.

The live checks run against the shared test server (tests/server.py), which sets a 2 MB upload limit.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.clips import write_clip
from tests.server import SETTINGS, analyze
from videomae_viz.pipeline import Settings, TimeLimitError, VideoMAEPipeline

MB = 1024 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory):
    return write_clip(tmp_path_factory.mktemp("limits") / "clip.mp4", n_frames=32, size=(96, 72))


@pytest.fixture(scope="module")
def pipeline() -> VideoMAEPipeline:
    return VideoMAEPipeline.from_preset("embedded")


# --- upload size -----------------------------------------------------------------------------------------------------

def _upload(url: str, size: int) -> httpx.Response:
    files = {"files": ("clip.mp4", b"\0" * size, "video/mp4")}
    return httpx.post(f"{url}gradio_api/upload", files=files, timeout=60)


def test_upload_over_the_limit_is_refused(app_server):
    assert SETTINGS["VIDEOMAE_VIZ_MAX_FILE_SIZE"] == "2mb"
    limit = httpx.get(f"{app_server.url}config", timeout=30).json()["max_file_size"]
    assert limit == 2 * MB  # the environment variable reached launch()

    refused = _upload(app_server.url, limit + 1)
    assert refused.status_code == 413, refused.text
    assert "maximum allowed size" in refused.text

    accepted = _upload(app_server.url, limit - 64 * 1024)
    assert accepted.status_code == 200, accepted.text
    (stored,) = accepted.json()
    assert stored.startswith(str(app_server.tmp)) and stored.endswith("clip.mp4")


# --- time per analysis -----------------------------------------------------------------------------------------------

def _slow_classify(pipeline: VideoMAEPipeline, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    classify = pipeline.classify

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return classify(*args, **kwargs)

    monkeypatch.setattr(pipeline, "classify", slow)


def test_time_limit_is_checked_between_stages(pipeline, clip, monkeypatch):
    assert pipeline.analyze(clip, Settings(), time_limit=60).labels  # well within the limit
    _slow_classify(pipeline, monkeypatch, 0.6)
    with pytest.raises(TimeLimitError) as caught:
        pipeline.analyze(clip, Settings(), time_limit=0.5)
    assert str(caught.value) == ("the analysis took longer than the 0.5 s limit (stopped before reconstructing); "
                                 "try a shorter segment")


def test_time_limit_cuts_decoding_short(pipeline, long_clip):
    with pytest.raises(TimeLimitError, match=r"longer than the 0.05 s limit \(stopped while decoding\)"):
        pipeline.analyze(long_clip, Settings(), time_limit=0.05)


def test_bad_time_limit_is_a_value_error(pipeline, clip):
    with pytest.raises(ValueError, match="time limit must be positive"):
        pipeline.analyze(clip, Settings(), time_limit=0)


@pytest.mark.slow  # imports the app afresh
def test_app_reads_its_time_limit_from_the_environment(clip, monkeypatch):
    import gradio as gr

    from videomae_viz import ui

    monkeypatch.setenv("VIDEOMAE_VIZ_REQUEST_SECONDS", "0.4")
    _slow_classify(ui.get_pipeline("embedded"), monkeypatch, 0.5)
    with pytest.raises(gr.Error) as caught:
        ui.analyze(str(clip), "embedded", 0.9, "tube", 0, None, None, None, 3, "leak-free", False)
    assert caught.value.message.startswith("the analysis took longer than the 0.4 s limit (stopped before ")


@pytest.mark.parametrize("name, value, expected", [
    ("VIDEOMAE_VIZ_REQUEST_SECONDS", "45", 45.0),
    ("VIDEOMAE_VIZ_REQUEST_SECONDS", "-3", 120.0),
    ("VIDEOMAE_VIZ_REQUEST_SECONDS", "soon", 120.0),
    ("VIDEOMAE_VIZ_KEEP_SECONDS", "90", 90.0),
    ("VIDEOMAE_VIZ_KEEP_SECONDS", "inf", 1800.0),
    ("VIDEOMAE_VIZ_MAX_FILE_SIZE", "5MB", "5mb"),
    ("VIDEOMAE_VIZ_MAX_FILE_SIZE", "5", "100mb"),
    ("VIDEOMAE_VIZ_MAX_FILE_SIZE", "lots", "100mb"),
])
def test_limits_from_the_environment(name, value, expected, monkeypatch):
    from videomae_viz import ui

    monkeypatch.setenv(name, value)
    read = {"VIDEOMAE_VIZ_REQUEST_SECONDS": ui.request_seconds, "VIDEOMAE_VIZ_KEEP_SECONDS": ui.keep_seconds,
            "VIDEOMAE_VIZ_MAX_FILE_SIZE": ui.max_file_size}[name]
    assert read() == expected


# --- queue and workers -----------------------------------------------------------------------------------------------

def test_queue_is_bounded_and_model_events_share_two_workers(monkeypatch):
    import gradio as gr

    from videomae_viz import ui

    queued = []
    queue = gr.Blocks.queue
    monkeypatch.setattr(gr.Blocks, "queue", lambda self, **kwargs: queued.append(kwargs) or queue(self, **kwargs))
    demo = ui.build_demo()
    assert queued[-1] == {"max_size": 64, "default_concurrency_limit": 2}  # the layout's own call, after gradio's
    model_events = {fn.name: fn for fn in demo.fns.values() if fn.concurrency_id == "model"}
    from videomae_viz.ui.lesson import STEPS

    assert set(model_events) == {"analyze", "analyze_json", "compare_masking", "compare_strategies",
                                 "download_all", "sweep", "reconstruct_drawn",
                                 *(f"reveal_{step.__name__}" for step in STEPS)}
    assert all(fn.concurrency_limit == 2 for fn in model_events.values())


def test_live_server_runs_at_most_two_analyses_at_once(app_url, clip, tmp_path):
    """Four requests at once: two of them wait in the queue, so exactly two run."""
    from gradio_client import Client

    jobs = 4
    client = Client(app_url, verbose=False, download_files=str(tmp_path))
    waiting: list[int] = []
    with ThreadPoolExecutor(jobs) as pool, httpx.Client(timeout=10) as http:
        futures = [pool.submit(analyze, client, clip) for _ in range(jobs)]
        while not all(f.done() for f in futures):
            waiting.append(http.get(f"{app_url}gradio_api/queue/status").json()["queue_size"])
            time.sleep(0.02)
        results = [f.result() for f in futures]
    assert len(results) == jobs and all(len(r[0]["confidences"]) == 3 for r in results)
    assert max(waiting) == jobs - 2, waiting


def test_zerogpu_decorates_the_handlers_that_run_a_model(monkeypatch):
    """With a stand-in ``spaces`` module, exactly the handlers doing model work run under @spaces.GPU; without it
    the app registers the plain functions."""
    import functools
    import sys
    import types

    from videomae_viz import ui

    def gpu(duration):
        def decorate(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                return fn(*args, **kwargs)
            wrapper.gpu_seconds = duration
            return wrapper
        return decorate

    def handlers(demo) -> dict[str, object]:
        return {fn.name: fn.fn for fn in demo.fns.values() if fn.fn is not None}

    plain = handlers(ui.build_demo())
    assert not any(hasattr(fn, "gpu_seconds") for fn in plain.values())
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    on_gpu = handlers(ui.build_demo())
    decorated = {name for name, fn in on_gpu.items() if getattr(fn, "gpu_seconds", None)}
    from videomae_viz.ui.lesson import STEPS

    assert decorated == {"analyze", "analyze_json", "compare_masking", "compare_strategies", "download_all", "sweep",
                         "rerender", "pick_query", "restore_view", "reconstruct_drawn",
                         *(f"reveal_{step.__name__}" for step in STEPS)}, decorated
    assert set(on_gpu) == set(plain)
    for name in decorated:
        assert on_gpu[name].__wrapped__ is plain[name]  # the same handler, only wrapped
