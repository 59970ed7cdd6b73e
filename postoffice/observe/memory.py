"""Memory the process gives back (issue 15): glibc malloc tuning, applied once per process.

glibc serves a request above its mmap threshold with its own mapping, returned to the
system on free; below it, from a heap arena that keeps freed memory. The threshold is
dynamic by default: each time a mapped block is freed it rises to that block's size (up
to 32 MiB), so after the first argon2 password check (19 MiB of working memory) every
later one is served from the arena of the thread that ran it, and with dozens of
executor threads the server kept hundreds of MiB after a burst of logins
(bench/idle_10k.py: 1,457 KiB per IDLE connection, 23 KiB with the threshold fixed).
Setting the threshold (M_MMAP_THRESHOLD) turns the rising off. Elsewhere than glibc,
nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["MMAP_THRESHOLD", "fix_mmap_threshold"]

log = logging.getLogger("postoffice.memory")

MMAP_THRESHOLD = 256 * 1024  # octets: larger blocks get their own mapping, returned at free
_M_MMAP_THRESHOLD = -3  # mallopt(3) parameter number, from glibc's malloc.h


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold``; False where there is no mallopt."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, threshold) != 1:
        log.warning("mallopt(M_MMAP_THRESHOLD, %d) failed", threshold)
        return False
    return True
