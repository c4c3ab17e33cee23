"""Keep a long-running server's memory flat: large freed blocks go back to the operating system, and the heap is
split over few arenas.

glibc keeps freed heap memory for reuse and raises its mmap threshold as large blocks are freed, so a server that
allocates and frees many megabyte-sized tensors per request grows by tens of megabytes a request until the heap is
fragmented enough to stop growing. A fixed threshold makes every block of at least ``MMAP_THRESHOLD`` bytes its own
mapping, returned when freed, at the cost of a page-fault pass over each such block.

glibc also gives threads their own arenas, up to 8 per core, each keeping its own high-water mark. The app's
requests run on a pool of worker threads, so resident memory crept up as more threads touched new arenas; with
``ARENA_MAX`` arenas there are fewer high-water marks to creep up, at the same latency.

The page faults cost large models most: a ViT-B forward is slower under this policy than with glibc's default.
Trimming the heap (malloc_trim) after every request under the default threshold instead keeps the default's speed,
but fragmented pages with live blocks in them cannot be handed back, so resident memory still grew as far as the
load test's limit. Not adopted. The measurements: docs/runtime-experiments.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # mallopt parameter numbers in glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024
ARENA_MAX = 2  # one per core of the machine the app is sized for; more only adds high-water marks


def keep_heap_flat(threshold: int = MMAP_THRESHOLD, arenas: int = ARENA_MAX) -> bool:
    """Ask glibc to serve blocks of ``threshold`` bytes or more with their own mappings and to use at most
    ``arenas`` arenas; False (and nothing changes) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.info("no glibc mallopt here; the heap keeps its default policy")
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1 and mallopt(M_ARENA_MAX, arenas) == 1
