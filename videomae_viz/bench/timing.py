"""Alternating timed runs and the machine's measured matmul peak."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def rounds(runs: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Call every run ``warmup`` times, then ``repeats`` rounds of one call each in turn, the order reversed every
    other round (A B C, C B A, ...), so that neither drifting machine load nor the place in a round favours one run.
    Returns the seconds of every round, per run name."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs.items())
    for _ in range(repeats):
        for name, run in order:
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
        order.reverse()
    return seconds


def alternate(runs: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """The median seconds per run name over ``rounds``."""
    return {name: statistics.median(values) for name, values in rounds(runs, repeats, warmup).items()}


def matmul_run(size: int, dtype: torch.dtype) -> tuple[Callable[[], object], int]:
    """A square ``size`` torch.matmul in ``dtype`` to time beside other runs, and its floating-point operations:
    GFLOP/s = flops / seconds / 1e9."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(dtype)
    b = torch.randn(size, size, generator=gen).to(dtype)
    return lambda: torch.matmul(a, b), 2 * size**3
