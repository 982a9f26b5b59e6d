"""Giving freed memory back to the system.

A call's setup and teardown (DTLS, SRTP, sockets, per-call buffers) allocate and free a few
megabytes through glibc's malloc, which keeps freed memory in its heaps for reuse. The server's
own Python objects do not grow from call to call (the soak, README "Measuring performance"), but
its resident size did, by what the heaps keep. `malloc_trim(0)` returns the free pages of every
heap to the system; the sweeper calls it every round. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    found: Callable[[int], int] = trim
    return found


_TRIM = _load_trim()


def trim() -> bool:
    """Returns glibc's free heap pages to the system; whether any were."""
    return bool(_TRIM(0)) if _TRIM is not None else False
