"""Where big results live: on huge-page boundaries.

A new result is faulted in page by page the first time a kernel writes it.  Where
glibc maps each big allocation afresh (a process with ``MALLOC_TRIM_THRESHOLD_`` set,
as dask's nannies set it for their workers), a 4 MiB result costs 1,024 faults of
4 KiB; NumPy asks for transparent huge pages on its big allocations, but a block that
does not start on a 2 MiB boundary gets one at most where two would fit.  ``empty``
starts big results on a boundary, so the kernel maps whole huge pages (measured in
docs/performance.md: a 1024^2 float32 Gaussian 2.66 -> 1.5 ms in such a process).
The few MiB of address space above it are reserved, not touched: they cost no memory.
"""

import math
import sys

import numpy as np

__all__ = ["empty", "HUGE_PAGE"]

HUGE_PAGE = 1 << 21
_LINUX = sys.platform.startswith("linux")


def empty(shape, dtype):
    """``np.empty(shape, dtype)`` (C order) whose data starts on a ``HUGE_PAGE``
    boundary when it is at least ``HUGE_PAGE`` bytes (on Linux; elsewhere np.empty).

    Examples
    --------
    >>> from fastconv._alloc import empty, HUGE_PAGE
    >>> a = empty((1024, 1024), "float32")
    >>> a.shape, a.dtype.name, a.flags.c_contiguous
    ((1024, 1024), 'float32', True)
    >>> a.ctypes.data % HUGE_PAGE == 0 or not _LINUX
    True
    """
    dtype = np.dtype(dtype)
    shape = tuple(shape) if np.iterable(shape) else (shape,)
    nbytes = math.prod(shape) * dtype.itemsize
    if not _LINUX or nbytes < HUGE_PAGE or dtype.hasobject:
        return np.empty(shape, dtype)
    raw = np.empty(nbytes + HUGE_PAGE, np.uint8)
    start = -raw.ctypes.data % HUGE_PAGE
    return raw[start:start + nbytes].view(dtype).reshape(shape)
