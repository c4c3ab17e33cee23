"""Keep a long-running server's memory flat: large freed blocks go back to the operating system.

glibc keeps freed heap memory for reuse and raises its mmap threshold as large blocks are freed, so a server that
allocates and frees many megabyte-sized tensors per request grows by tens of megabytes a request until the heap is
fragmented enough to stop growing. A fixed threshold makes every block of at least ``MMAP_THRESHOLD`` bytes its own
mapping, returned when freed, at the cost of a page-fault pass over each such block.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024


def return_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Ask glibc to serve blocks of ``threshold`` bytes or more with their own mappings; False (and nothing
    changes) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.info("no glibc mallopt here; the heap keeps its default policy")
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
