"""What the live app refuses: presets other than the known ones, files it did not serve (traversal, absolute paths,
the repository, the virtual environment), and server paths or URLs passed as the video input; and what it does
serve: the files of an analysis. Weights that run code when unpickled: tests/test_checkpoints.py.
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.parse
from pathlib import Path

import gradio_client
import httpx
import pytest

from tests.clips import write_clip
from tests.server import ROOT, AppServer, analyze

VENV = Path(sys.prefix)
CLIENT_PACKAGE = Path(gradio_client.__file__)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("security") / "clip.mp4", n_frames=24, size=(96, 72))


@pytest.fixture(scope="module")
def client(app_url: str):
    """A client that leaves the app's files on the server and returns their URLs."""
    from gradio_client import Client

    return Client(app_url, verbose=False, download_files=False)


# --- presets ---------------------------------------------------------------------------------------------------------

HOSTILE_PRESETS = ["/etc", "../assets/motion-tiny", "https://evil.example/x", "MCG-NJU/../../etc", "motion-tiny",
                   "MCG-NJU/videomae-base"]


@pytest.mark.parametrize("preset", HOSTILE_PRESETS)
def test_live_app_refuses_unknown_presets(preset, client, clip):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        analyze(client, clip, preset=preset)
    # Gradio's input check refuses it before the handler (and so any loading) runs.
    assert str(caught.value).startswith(f"Value: {preset} is not in the list of choices: ['embedded', ")


@pytest.mark.parametrize("preset", HOSTILE_PRESETS)
def test_unknown_presets_load_nothing(preset, monkeypatch):
    import gradio as gr

    from videomae_viz import pipeline, ui

    loaded: list[str] = []
    monkeypatch.setattr(pipeline, "load_model", lambda source, **kwargs: loaded.append(str(source)))
    monkeypatch.setattr(pipeline, "load_processor", lambda source, **kwargs: loaded.append(str(source)))
    with pytest.raises(gr.Error) as caught:
        ui.get_pipeline(preset)
    assert caught.value.message == f"Unknown model preset {preset!r}."
    assert loaded == []


# --- files -----------------------------------------------------------------------------------------------------------

# request path -> the file it aims at ({root}: the repository, {venv}: the virtual environment, {client_package}: a
# file of it, {tmp}: the server's temporary folder, which holds Gradio's cache and the app's own request folders)
FILE_REQUESTS = {
    "/gradio_api/file=/etc/passwd": "/etc/passwd",
    "/file=/etc/passwd": "/etc/passwd",
    "/gradio_api/file/etc/passwd": "/etc/passwd",
    "/gradio_api/file=../../../../../../etc/passwd": "/etc/passwd",
    "/gradio_api/file=..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd": "/etc/passwd",
    "/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd": "/etc/passwd",
    "/gradio_api/file=%2fetc%2fpasswd": "/etc/passwd",
    "/gradio_api/file=//etc/passwd": "/etc/passwd",
    "/gradio_api/file=file:///etc/passwd": "/etc/passwd",
    "/gradio_api/file={tmp}/gradio/../../../../../../etc/passwd": "/etc/passwd",
    "/static/../../../../../../etc/passwd": "/etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd": "/etc/passwd",
    "/assets/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd": "/etc/passwd",
    "/gradio_api/file={root}/app.py": "{root}/app.py",
    "/gradio_api/file=app.py": "{root}/app.py",
    "/gradio_api/file={root}/README.md": "{root}/README.md",
    "/gradio_api/file={root}/assets/motion-tiny/model.safetensors": "{root}/assets/motion-tiny/model.safetensors",
    "/gradio_api/file=assets/motion-tiny/config.json": "{root}/assets/motion-tiny/config.json",
    "/gradio_api/file={venv}/pyvenv.cfg": "{venv}/pyvenv.cfg",
    "/gradio_api/file={client_package}": "{client_package}",
    "/gradio_api/file=/proc/self/environ": None,
    "/gradio_api/file={tmp}/../server.log": "{tmp}/../server.log",
}


def _fill(template: str, app: AppServer) -> str:
    return template.format(root=ROOT, venv=VENV, tmp=app.tmp, client_package=CLIENT_PACKAGE, url=app.url)


def _raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (no client-side normalisation of '..' or percent escapes)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("request_path", FILE_REQUESTS)
def test_files_outside_the_app_are_not_served(request_path, app_server):
    status, body = _raw_get(app_server.url, _fill(request_path, app_server))
    assert status in (400, 403, 404), (status, body[:200])
    assert b"root:" not in body and b"PATH=" not in body and b"HOME=" not in body
    target = FILE_REQUESTS[request_path]
    if target is not None:
        head = Path(_fill(target, app_server)).read_bytes()[:64]
        assert head and head not in body


def test_the_apps_request_folders_are_not_served(app_server, client, clip):
    analyze(client, clip)
    served = sorted(app_server.output_root.glob("*/lab.png"))
    assert served, "the analysis wrote no lab.png"
    status, body = _raw_get(app_server.url, f"/gradio_api/file={served[-1]}")
    assert status == 403 and not body.startswith(b"\x89PNG")


def test_files_of_an_analysis_are_served(app_server, client, clip):
    out = analyze(client, clip)
    lab, side = out[2], out[3]
    for item, is_expected_kind in ((lab, lambda data: data[:8] == b"\x89PNG\r\n\x1a\n"),
                                   (side, lambda data: data[4:8] == b"ftyp")):
        assert item["url"].startswith(f"{app_server.url}gradio_api/file=")
        assert Path(item["path"]).is_relative_to(app_server.tmp / "gradio")  # a copy in Gradio's cache
        response = httpx.get(item["url"], timeout=30)
        assert response.status_code == 200
        assert response.content == Path(item["path"]).read_bytes()
        assert is_expected_kind(response.content)


def test_proxy_refuses_local_addresses(app_server):
    status, body = _raw_get(app_server.url, f"/gradio_api/proxy={app_server.url}config")
    assert status in (400, 403) and b"max_file_size" not in body


# --- inputs ----------------------------------------------------------------------------------------------------------

def _call_raw(url: str, video: dict) -> str:
    """The /analyze API without gradio_client, with ``video`` as the FileData: the event stream's text."""
    data = [video, "embedded", 0.9, "tube", 0, None, None, None, 3, "leak-free", False]
    with httpx.Client(base_url=url, timeout=60) as http:
        joined = http.post("gradio_api/call/analyze", json={"data": data})
        joined.raise_for_status()
        return http.get(f"gradio_api/call/analyze/{joined.json()['event_id']}").text


@pytest.mark.parametrize("target", ["{root}/assets/motion-tiny/config.json", "{root}/tests/server.py", "/etc/passwd",
                                    "url:{url}config", "url:http://169.254.169.254/latest/meta-data/",
                                    "url:file:///etc/passwd"])
def test_server_paths_and_urls_are_not_accepted_as_the_video(target, app_server, clip):
    path = _fill(target, app_server)
    video = {"path": path.removeprefix("url:"), "meta": {"_type": "gradio.FileData"}}
    if path.startswith("url:"):
        video["url"] = video["path"]
    events = _call_raw(app_server.url, video)
    assert events.startswith("event: error"), events[:300]
    assert "event: complete" not in events
    # The good path through the same raw API works, so the refusal is about the input.
    uploaded = httpx.post(f"{app_server.url}gradio_api/upload", timeout=60,
                          files={"files": ("clip.mp4", clip.read_bytes(), "video/mp4")}).json()[0]
    events = _call_raw(app_server.url, {"path": uploaded, "meta": {"_type": "gradio.FileData"}})
    assert events.startswith("event: complete"), events[:300]
    assert json.loads(events.split("data: ", 1)[1].splitlines()[0])[0]["label"]
