"""Keep a long-running server's memory flat: large freed blocks go back to the operating system, and the heap is
split over few arenas.

glibc keeps freed heap memory for reuse and raises its mmap threshold as large blocks are freed, so a server that
allocates and frees many megabyte-sized tensors per request grows by tens of megabytes a request until the heap is
fragmented enough to stop growing. A fixed threshold makes every block of at least ``MMAP_THRESHOLD`` bytes its own
mapping, returned when freed, at the cost of a page-fault pass over each such block.

glibc also gives threads their own arenas, up to 8 per core, each keeping its own high-water mark. The app's
requests run on a pool of worker threads, so resident memory crept up as more threads touched new arenas (8 users,
24 requests: 9-67 MB in 14 runs); with ``ARENA_MAX`` arenas it grew by 27-38 MB in 5 runs, at the same latency.

The page faults cost large models most: a ViT-B forward (fp32, 16 x 224, batch 1) faults 206-208k pages and
takes 1.85-1.99 s under this policy, against 20-40k faults and 1.69-1.80 s with glibc's default (5 processes each).
Tried instead (12-04): the default threshold with malloc_trim after every request, which keeps the heap's reuse of
freed blocks within a request and hands the free pages back at its end. A ViT-B forward ran as fast as with the
default (1.70-1.77 s in 3 processes) and the load test's requests about 10% faster (median latency 2.9-3.4 s
against 3.2-3.8 s), but resident memory grew by 9-60 MB over 24 requests in 10 runs (this policy, in 4 runs
alternating with the first 4 of those: 19-31 MB), the worst of them at the test's 60 MB limit: fragmented pages with
live blocks in them cannot be handed back. Not adopted.
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
