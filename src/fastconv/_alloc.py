"""Where big results live: whole huge pages, recycled.

A new result is faulted in page by page the first time a kernel writes it.  Where
glibc maps each big allocation afresh and unmaps it when freed (a process with
``MALLOC_TRIM_THRESHOLD_`` set, as dask's nannies set it for their workers, or one
where another library's allocations ran in between: ../shared/DESIGN.md section 8), a
4 MiB result costs about a thousand 4 KiB faults, as much as a Gaussian filter's
arithmetic on it.  Two measures (docs/performance.md, "Big results"):

* ``empty`` puts a result of ``HUGE_PAGE`` bytes or more in its own mapping, from a
  huge-page boundary, with transparent huge pages asked for (``madvise``), so that the
  kernel backs it with whole huge pages (NumPy asks for them on its big allocations,
  but glibc's block starts just after a boundary and gets one at most where two would
  fit).  The address space before the boundary is never touched, so never resident.
* When such a result is freed, its block goes to a small pool (at most
  ``pool_limit()`` bytes, ``FASTCONV_POOL_MB`` in the environment, 64 MiB by default;
  0 turns it off), from which the next result of the same number of huge pages takes
  it: no faults at all, and no fresh memory from a VM host that reclaimed the freed
  pages.  Blocks bigger than the limit are never kept; the oldest leave first;
  ``fastconv.clear_caches()`` empties the pool.

A result is an ordinary C-contiguous ndarray.  Its ``base`` is a lease that every view
of it keeps alive, so a block goes back to the pool only when nothing refers to any
part of it.
"""

import math
import mmap
import os
import sys
import threading

import numpy as np

from fastconv._caches import on_clear
from fastconv._workspace import mib_from_environment

__all__ = ["empty", "allocator", "HUGE_PAGE", "pool_limit", "pool_bytes", "release"]

HUGE_PAGE = 1 << 21
_LINUX = sys.platform.startswith("linux")


def _limit_from_environment():
    mb = mib_from_environment("FASTCONV_POOL_MB", 64)
    if mb < 0:
        raise ValueError(f"FASTCONV_POOL_MB must be >= 0, got {mb}")
    return mb << 20


class _Pool:
    """Freed blocks by size (whole huge pages), oldest first; bounded in bytes."""

    def __init__(self, limit):
        self.limit = limit
        self.blocks = []                 # (pages, raw uint8 array), oldest first
        self.nbytes = 0
        # reentrant: a collection inside take/give may free a result (a lease's __del__)
        self.lock = threading.RLock()

    def take(self, pages):
        with self.lock:
            for i in range(len(self.blocks) - 1, -1, -1):
                if self.blocks[i][0] == pages:
                    self.nbytes -= pages * HUGE_PAGE
                    return self.blocks.pop(i)[1]
        return None

    def give(self, pages, raw):
        size = pages * HUGE_PAGE
        if size > self.limit:
            return
        with self.lock:
            while self.blocks and self.nbytes + size > self.limit:
                self.nbytes -= self.blocks.pop(0)[0] * HUGE_PAGE
            self.blocks.append((pages, raw))
            self.nbytes += size

    def clear(self):
        with self.lock:
            self.blocks = []
            self.nbytes = 0


_POOL = _Pool(_limit_from_environment())


def _after_fork():
    # the parent's lock may be held by a thread that does not exist in the child
    global _POOL
    _POOL = _Pool(_POOL.limit)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class _Lease:
    """The base of a result in a recycled block: when the last view of the result
    goes, the block goes back to the pool."""

    __slots__ = ("__array_interface__", "_pages", "_raw")

    def __del__(self):
        try:
            _POOL.give(self._pages, self._raw)
        except Exception:   # interpreter shutdown: module globals may be gone
            pass


def empty(shape, dtype):
    """``np.empty(shape, dtype)`` (C order); a numeric one of ``HUGE_PAGE`` bytes or
    more (on Linux) starts on a huge-page boundary, in a recycled block when the pool
    has one.

    Examples
    --------
    >>> from fastconv._alloc import empty, HUGE_PAGE
    >>> a = empty((1024, 1024), "float32")
    >>> a.shape, a.dtype.name, a.flags.c_contiguous, a.flags.writeable
    ((1024, 1024), 'float32', True, True)
    >>> a.ctypes.data % HUGE_PAGE == 0 or not _LINUX
    True
    """
    out = np.empty(shape, dtype)       # small results (most calls) cost no more than this
    nbytes = out.nbytes
    if not _huge(nbytes, out.dtype):
        return out
    # (np.empty has only reserved the address space: nothing was touched)
    shape, dtype = out.shape, out.dtype
    del out
    pages = -(-nbytes // HUGE_PAGE)
    raw = _POOL.take(pages)
    if raw is None:
        raw = _block(pages)
    lease = _Lease()
    lease._pages, lease._raw = pages, raw
    start = raw.ctypes.data + (-raw.ctypes.data % HUGE_PAGE)
    lease.__array_interface__ = {"data": (start, False), "shape": shape,
                                 "typestr": dtype.str, "version": 3}
    return np.asarray(lease)


def allocator(shape, dtype):
    """``empty`` for results of ``shape`` and ``dtype`` where it gives huge pages, else
    ``np.empty``: chosen once by the callers that make many results of one shape (the
    kernel-level call objects of small calls)."""
    dtype = np.dtype(dtype)
    return empty if _huge(math.prod(shape) * dtype.itemsize, dtype) else np.empty


def _huge(nbytes, dtype):
    """Whether a result gets huge pages and the pool: from a huge page up, numeric
    dtypes, on Linux."""
    return _LINUX and nbytes >= HUGE_PAGE and dtype.kind in "biufc"


def _block(pages):
    """A new block for ``pages`` huge pages, as a uint8 array over its own anonymous
    mapping (one huge page more, for the alignment).  Its own mapping, not glibc's heap:
    a block kept in the pool must not pin freed heap memory below it, and an evicted
    one is unmapped at once."""
    size = (pages + 1) * HUGE_PAGE
    try:
        # private, as np.empty's memory is (a forked child must not write into it)
        m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
    except OSError as e:
        raise MemoryError(f"fastconv: unable to allocate {size / 2**20:.0f} MiB for a "
                          f"result ({e})") from None
    raw = np.frombuffer(m, np.uint8)                 # keeps the mapping alive
    start = -raw.ctypes.data % HUGE_PAGE
    if hasattr(m, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            m.madvise(mmap.MADV_HUGEPAGE, start, pages * HUGE_PAGE)
        except OSError:                              # no transparent huge pages here
            pass
    return raw


def pool_limit():
    """The most bytes the pool of freed result blocks keeps."""
    return _POOL.limit


def pool_bytes():
    """The bytes the pool keeps now."""
    return _POOL.nbytes


def release():
    """Free the blocks the pool keeps (``fastconv.clear_caches()`` calls it)."""
    _POOL.clear()


on_clear(release)
