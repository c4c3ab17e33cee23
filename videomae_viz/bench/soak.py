"""``python -m videomae_viz.bench.soak``: many sequential ``/analyze_json`` requests against a local app.

    python -m videomae_viz.bench.soak                    # 1000 requests on the embedded default, at most an hour
    python -m videomae_viz.bench.soak --requests 20      # a short run
    python -m videomae_viz.bench.soak --report docs/benchmarks.md   # and record it there

It starts ``python app.py`` on a free port of 127.0.0.1 (loopback only), sends the requests one after another with
the example clips in turn, and reports the failures, the median and 95th-percentile latency and the server's
resident memory after 100, 500 and 1000 requests (and at the end). It stops after ``--requests`` requests or
``--max-seconds``, whichever comes first, and always stops the server. Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..checkpoints import ASSETS
from .machine import cpu_model
from .report import SOAK_JSON, with_soak

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = (100, 500, 1000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no resident size for process {pid}")


def _start(log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(180):
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited: {log.read_text()[-2000:]}") from None
            time.sleep(1)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("the app did not answer within 180 s")


def soak(requests: int, max_seconds: float, log: Path) -> dict:
    """Run the soak -> its report (failures, latencies, resident memory by request count)."""
    from gradio_client import Client, handle_file

    index = json.loads((ASSETS / "examples" / "index.json").read_text())
    clips = [str(ASSETS / "examples" / item["file"]) for item in index]
    proc, url = _start(log)
    latencies, failures, memory = [], [], {}
    began = time.monotonic()
    try:
        client = Client(url, verbose=False)
        for i in range(requests):
            if time.monotonic() - began > max_seconds:
                break
            start = time.perf_counter()
            try:
                client.predict(handle_file(clips[i % len(clips)]), seed=i, api_name="/analyze_json")
                latencies.append(time.perf_counter() - start)
            except Exception as err:  # every failure is counted and reported, none stops the soak
                failures.append(f"request {i + 1}: {type(err).__name__}: {err}")
            if i + 1 in CHECKPOINTS:
                memory[i + 1] = round(_rss_mb(proc.pid), 1)
        done = len(latencies) + len(failures)
        memory.setdefault(done, round(_rss_mb(proc.pid), 1))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    ordered = sorted(latencies)
    return {"requests": done, "failures": len(failures), "failure_messages": failures[:10],
            "latency_p50_s": round(statistics.median(ordered), 3) if ordered else None,
            "latency_p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None,
            "rss_mb_after": memory, "seconds": round(time.monotonic() - began, 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m videomae_viz.bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--log", type=Path, default=Path("soak-server.log"), help="the app's log")
    parser.add_argument("--report", type=Path, default=None,
                        help="also record the run in this benchmark report (e.g. docs/benchmarks.md): its soak "
                             "section and soak.json beside it")
    args = parser.parse_args(argv)
    report = soak(args.requests, args.max_seconds, args.log)
    print(json.dumps(report, indent=2))
    if args.report is not None:
        record = {**report, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "machine": f"{cpu_model()}, {os.cpu_count()} cores"}
        (args.report.parent / SOAK_JSON).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        args.report.write_text(with_soak(args.report.read_text(encoding="utf-8"), args.report.parent),
                               encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
