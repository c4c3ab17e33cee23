"""The real app (``python app.py``) in a subprocess on a free port of 127.0.0.1, for the tests that talk to it.

``tests/conftest.py`` starts one per test session and hands it out as the ``app_server`` fixture.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 90
# The limits the test server runs with (see videomae_viz/ui/limits.py): small uploads and a short keep time, so that
# the tests can reach them cheaply.
SETTINGS = {
    "VIDEOMAE_VIZ_MAX_FILE_SIZE": "2mb",
    "VIDEOMAE_VIZ_KEEP_SECONDS": "60",
    "VIDEOMAE_VIZ_PRESET": "embedded",
}


class ServerError(RuntimeError):
    """The app exited or did not answer in time; the message ends with the tail of its log."""


@dataclass(frozen=True)
class AppServer:
    """A running app: where it answers, its process id and its temporary folder (its TMPDIR)."""

    url: str
    pid: int
    tmp: Path
    log: Path

    @property
    def output_root(self) -> Path:
        """Where the app writes its per-request folders (ui.limits.OUTPUT_ROOT under the server's TMPDIR)."""
        return self.tmp / "videomae-viz"

    def rss_bytes(self) -> int:
        """The server process's resident memory, from /proc/PID/status."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                value, unit = line.split()[1:3]
                assert unit == "kB", line
                return int(value) * 1024
        raise ServerError(f"no VmRSS line for process {self.pid}")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(folder: Path) -> tuple[subprocess.Popen, AppServer]:
    """Start the app with ``folder`` as its TMPDIR (uploads and outputs stay there) and wait until its page loads."""
    tmp = folder / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, **SETTINGS, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TMPDIR": str(tmp)}
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(proc, url, log_path)
    except BaseException:
        stop(proc)
        raise
    return proc, AppServer(url=url, pid=proc.pid, tmp=tmp, log=log_path)


def _wait_until_up(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if proc.poll() is not None:
            raise ServerError(f"the app exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"the app did not answer within {STARTUP_SECONDS} s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and anything it started (it runs in its own process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def analyze(client, video: str | Path, *, preset: str = "embedded", ratio: float = 0.9, top_k: int = 3,
            compare_backwards: bool = False) -> tuple:
    """One ``/analyze`` call through a gradio_client ``Client`` with the settings by name (the rest at their defaults:
    tube masking, seed 0, the whole clip, leak-free statistics) -> the 8 public outputs."""
    from gradio_client import handle_file

    return client.predict(handle_file(str(video)), preset=preset, mask_ratio=ratio, top_k=top_k,
                          compare_backwards=compare_backwards, api_name="/analyze")
