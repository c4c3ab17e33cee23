"""Peak memory growth of an action, measured in a fresh process.

The child process (multiprocessing "spawn": forking a process whose OpenMP threads have run can hang) takes the
app's heap policy (``memory.keep_heap_flat``: freed large blocks go back to the system, so the measured run
cannot reuse heap that the warm-up run left behind unseen), prepares the action, runs it once to warm up, resets its
peak resident set size (writing 5 to /proc/self/clear_refs), notes its resident size, runs the action again and
reports VmHWM minus that baseline. Two such numbers, for an action and its plain counterpart prepared the same way,
differ by the extra peak memory the action needs.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

from ..memory import keep_heap_flat

Action = Callable[[], object]

_STATUS = Path("/proc/self/status")


def _status_kb(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} is not in {_STATUS}")


def _child(prepare: Callable[[], Action], results: multiprocessing.Queue) -> None:
    try:
        keep_heap_flat()
        action = prepare()
        action()
        Path("/proc/self/clear_refs").write_text("5")
        baseline = _status_kb("VmRSS")
        action()
        results.put(("ok", (_status_kb("VmHWM") - baseline) / 1024))
    except Exception as err:  # reported to the parent, which raises it with the child's reason
        results.put(("error", f"{type(err).__name__}: {err}"))


def available() -> bool:
    """Whether this system has the /proc files the measurement reads (Linux)."""
    return _STATUS.is_file()


def peak_growth_mb(prepare: Callable[[], Action]) -> float:
    """Peak RSS growth in MB of the action ``prepare()`` returns, in a fresh process (see the module notes).
    ``prepare`` must be picklable: a module-level function or a functools.partial of one."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child, args=(prepare, results))
    child.start()
    status, value = results.get()
    child.join()
    if status != "ok":
        raise RuntimeError(f"memory measurement failed in the child process: {value}")
    return value
