"""Typed kernel of fastconv.ndimage's rank filters (rank_filter, median_filter,
percentile_filter).

The Python layer (fastconv._ndfilters.rank_filter) has checked every argument,
converted the input to a C-contiguous float32/float64/int64 buffer seen as rows
of the last axis, and built the boundary tables (as fastconv._filter_kernels'
N-d filters take them); the kernel trusts them and never raises.

Each output gathers its window into a buffer, in the order of the footprint's
true elements (C order), with cval for taps outside the array, then selects the
element of the given rank with scipy.ndimage's own partition (Hoare's, the
first element the pivot; NI_Select in SciPy's ni_filters.c, BSD-3-Clause,
Copyright (C) 2003-2005 Peter J. Verveer).  Same buffer, same comparisons: the
same element, NaN and signed zeros included.

Every output is computed by one thread, so results are bit-identical for any
number of threads.
"""

from cython.parallel cimport parallel, prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from fastconv._interrupt cimport (fc_watch, fc_watch_poll, fc_watch_set_main, fc_watch_start,
                                  track_main_thread, watch_raise)

ctypedef fused rank_t:
    float
    double
    int64_t


def _watch_after_fork():
    """In a forked child, the thread that forked is Python's main thread."""
    import threading
    fc_watch_set_main(threading.get_ident())


# Ctrl-C: every output row looks first at the call's watch (fc_interrupt.h)
track_main_thread(_watch_after_fork)


cdef inline rank_t _select(rank_t *b, Py_ssize_t n, Py_ssize_t rank) noexcept nogil:
    """The element of ``rank`` after SciPy's NI_Select partitions b[0:n] (its
    recursion as a loop; rank is relative to the current lower end, as there)."""
    cdef Py_ssize_t lo = 0, hi = n - 1, i, j, k
    cdef rank_t x, t
    while lo < hi:
        x = b[lo]
        i = lo - 1
        j = hi + 1
        while True:
            j -= 1
            while b[j] > x:
                j -= 1
            i += 1
            while b[i] < x:
                i += 1
            if i < j:
                t = b[i]
                b[i] = b[j]
                b[j] = t
            else:
                break
        k = j - lo + 1
        if rank < k:
            hi = j
        else:
            lo = j + 1
            rank -= k
    return b[lo]


def rank_rows(const rank_t[:, ::1] src, rank_t[:, ::1] dst, const Py_ssize_t[:, ::1] coords,
              const Py_ssize_t[::1] lastc, const Py_ssize_t[::1] outer_shape,
              const Py_ssize_t[::1] maps, const Py_ssize_t[::1] offs,
              const Py_ssize_t[::1] lastmap, const rank_t[::1] cval, Py_ssize_t rank,
              int nthreads):
    """dst[r, x] = the rank-th of the window of output (r, x).

    src, dst: (R, W), R the product of the leading axes (outer_shape, C order).
    Tap t sits at coords[t, a] along leading axis a and lastc[t] along the last
    one; maps[offs[a] + i + coords[t, a]] is the source index along axis a of
    output index i (-1: cval), lastmap[x + lastc[t]] the same along the last axis.
    """
    cdef Py_ssize_t R = src.shape[0], W = src.shape[1], T = lastc.shape[0]
    cdef Py_ssize_t nd1 = outer_shape.shape[0]
    if R == 0 or W == 0 or T == 0:
        return
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    cdef int fail[1]
    fail[0] = 0
    cdef Py_ssize_t r, x, t, a, rem, i, s, c, row
    cdef Py_ssize_t *rowoff
    cdef rank_t *buf
    cdef bint ok
    cdef rank_t cv = cval[0]
    cdef const rank_t *sp = &src[0, 0]
    cdef rank_t *dp = &dst[0, 0]
    cdef const Py_ssize_t *lm = &lastmap[0]
    cdef const Py_ssize_t *lc = &lastc[0]
    with nogil, parallel(num_threads=nthreads):
        rowoff = <Py_ssize_t *>malloc(T * sizeof(Py_ssize_t))
        buf = <rank_t *>malloc(T * sizeof(rank_t))
        ok = rowoff != NULL and buf != NULL
        for r in prange(R, schedule='dynamic', chunksize=4):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            # the source row of each tap for this output row (-1: a row of cval)
            for t in range(T):
                row = 0
                rem = r
                for a in range(nd1 - 1, -1, -1):
                    i = rem % outer_shape[a]
                    rem = rem // outer_shape[a]
                    s = maps[offs[a] + i + coords[t, a]]
                    if s < 0 or row < 0:
                        row = -1
                    else:
                        # row-major index: the leading axes' strides in rows
                        row = row + s * _stride(outer_shape, a, nd1)
                rowoff[t] = row * W if row >= 0 else -1
            for x in range(W):
                for t in range(T):
                    c = lm[x + lc[t]]
                    if c < 0 or rowoff[t] < 0:
                        buf[t] = cv
                    else:
                        buf[t] = sp[rowoff[t] + c]
                dp[r * W + x] = _select(buf, T, rank)
        free(buf)
        free(rowoff)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("rank filter: no memory for a thread's window buffer")


cdef inline Py_ssize_t _stride(const Py_ssize_t[::1] shape, Py_ssize_t a,
                               Py_ssize_t nd1) noexcept nogil:
    cdef Py_ssize_t s = 1, b
    for b in range(a + 1, nd1):
        s *= shape[b]
    return s
