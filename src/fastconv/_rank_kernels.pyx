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
from libc.string cimport memmove

from fastconv._interrupt cimport (fc_watch, fc_watch_poll, fc_watch_set_main, fc_watch_start,
                                  track_main_thread, watch_raise)

ctypedef fused rank_t:
    float
    double
    int64_t

ctypedef fused med_t:
    float
    double
    unsigned char


# the types of the windows slid along a row (sorted copies, byte histograms)
ctypedef fused slide_t:
    float
    double
    int64_t
    unsigned char


cdef inline void _window_rows(const slide_t *sp, Py_ssize_t r, Py_ssize_t H, Py_ssize_t W,
                              const Py_ssize_t *rowmap, Py_ssize_t kh,
                              const slide_t **rows) noexcept nogil:
    """rows[k]: the input row k of output row r's window (r = plane * H + i; W
    columns a row), NULL where the boundary table gives cval."""
    cdef Py_ssize_t o = r // H, i = r % H, k, s
    for k in range(kh):
        s = rowmap[i + k]
        rows[k] = sp + (o * H + s) * W if s >= 0 else NULL


cdef inline slide_t _sample(const slide_t *row, const Py_ssize_t *lm, Py_ssize_t e,
                            slide_t cv) noexcept nogil:
    """Extended column e of a window row (lm: the row's boundary table, -1: cv).  As
    its window moves to column x, sample x - 1 leaves and sample x + K - 1 enters
    (assigned in the prange body, so that they stay private to each thread)."""
    cdef Py_ssize_t s = lm[e]
    return row[s] if s >= 0 else cv


cdef extern from "fc_rank.h" nogil:
    void fcr_med9_f(const float *r0, const float *r1, const float *r2, float *out,
                    Py_ssize_t n, float *scratch)
    void fcr_med9_d(const double *r0, const double *r1, const double *r2, double *out,
                    Py_ssize_t n, double *scratch)
    void fcr_med9_u8(const unsigned char *r0, const unsigned char *r1,
                     const unsigned char *r2, unsigned char *out, Py_ssize_t n,
                     unsigned char *scratch)


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
    The work items are segments of rows (a long single row feeds every thread).
    """
    cdef Py_ssize_t R = src.shape[0], W = src.shape[1], T = lastc.shape[0]
    cdef Py_ssize_t nd1 = outer_shape.shape[0]
    if R == 0 or W == 0 or T == 0:
        return
    cdef Py_ssize_t SEG = 1024, nseg = (W + SEG - 1) // SEG
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    cdef int fail[1]
    fail[0] = 0
    cdef Py_ssize_t it, r, x, x0, x1, t, a, rem, i, s, c, row
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
        for it in prange(R * nseg, schedule='dynamic'):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            r = it // nseg
            x0 = (it % nseg) * SEG
            x1 = x0 + SEG if x0 + SEG < W else W
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
            for x in range(x0, x1):
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


def median9_rows(const med_t[:, ::1] src, med_t[:, ::1] dst, Py_ssize_t H,
                 const Py_ssize_t[::1] rowmap, const Py_ssize_t[::1] lastmap,
                 const med_t[::1] cval, int nthreads):
    """The median of each 3x3 window over the last two axes (fc_rank.h; data
    without NaN or -0.0).  src, dst: (R, W), R = outer * H; rowmap (H + 2) and
    lastmap (W + 2) the boundary tables of the two axes (-1: cval)."""
    cdef Py_ssize_t R = src.shape[0], W = src.shape[1]
    if R == 0 or W == 0:
        return
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    cdef int fail[1]
    fail[0] = 0
    cdef Py_ssize_t r, o, i, k, m, s, c, E = W + 2
    cdef med_t *lines
    cdef med_t *scratch
    cdef const med_t *row
    cdef bint ok
    cdef med_t cv = cval[0]
    cdef const med_t *sp = &src[0, 0]
    cdef med_t *dp = &dst[0, 0]
    cdef const Py_ssize_t *lm = &lastmap[0]
    with nogil, parallel(num_threads=nthreads):
        lines = <med_t *>malloc(3 * E * sizeof(med_t))
        scratch = <med_t *>malloc(3 * E * sizeof(med_t))
        ok = lines != NULL and scratch != NULL
        for r in prange(R, schedule='dynamic', chunksize=8):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            o = r // H
            i = r % H
            for k in range(3):
                s = rowmap[i + k]
                if s < 0:
                    for m in range(E):
                        lines[k * E + m] = cv
                else:
                    row = sp + (o * H + s) * W
                    for m in range(E):
                        c = lm[m]
                        lines[k * E + m] = row[c] if c >= 0 else cv
            if med_t is float:
                fcr_med9_f(lines, lines + E, lines + 2 * E, dp + r * W, W, scratch)
            elif med_t is double:
                fcr_med9_d(lines, lines + E, lines + 2 * E, dp + r * W, W, scratch)
            else:
                fcr_med9_u8(lines, lines + E, lines + 2 * E, dp + r * W, W, scratch)
        free(scratch)
        free(lines)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("median filter: no memory for a thread's line buffers")


cdef inline void _sift(rank_t *a, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t root = start, child
    cdef rank_t t
    while 2 * root + 1 < end:
        child = 2 * root + 1
        if child + 1 < end and a[child] < a[child + 1]:
            child += 1
        if a[root] < a[child]:
            t = a[root]
            a[root] = a[child]
            a[child] = t
            root = child
        else:
            return


cdef inline void _heapsort(rank_t *a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    cdef rank_t t
    for k in range(n // 2 - 1, -1, -1):
        _sift(a, k, n)
    for k in range(n - 1, 0, -1):
        t = a[0]
        a[0] = a[k]
        a[k] = t
        _sift(a, 0, k)


cdef inline Py_ssize_t _lower(const rank_t *a, Py_ssize_t n, rank_t v) noexcept nogil:
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t _count_less(const rank_t *a, Py_ssize_t n, rank_t v) noexcept nogil:
    # branch-free (vectorised): short windows, where a binary search mispredicts
    cdef Py_ssize_t i, cnt = 0
    for i in range(n):
        cnt += a[i] < v
    return cnt


cdef inline Py_ssize_t _position(const rank_t *a, Py_ssize_t n, rank_t v) noexcept nogil:
    """The number of elements of the sorted a[0:n] below v."""
    if n <= 128:
        return _count_less(a, n, v)
    return _lower(a, n, v)


cdef inline void _replace(rank_t *win, Py_ssize_t T, rank_t vout, rank_t vin) noexcept nogil:
    """Remove one element equal to vout from the sorted window, insert vin."""
    cdef Py_ssize_t p, q
    if vout == vin:
        return
    p = _position(win, T, vout)          # win[p] == vout
    q = _position(win, T, vin)
    # q counted in the window before the removal
    if q > p:
        q = q - 1
        memmove(win + p, win + p + 1, (q - p) * sizeof(rank_t))
    elif q < p:
        memmove(win + q + 1, win + q, (p - q) * sizeof(rank_t))
    win[q] = vin


def rank_sorted_rows(const rank_t[:, ::1] src, rank_t[:, ::1] dst, Py_ssize_t H,
                     const Py_ssize_t[::1] rowmap, Py_ssize_t K,
                     const Py_ssize_t[::1] lastmap, const rank_t[::1] cval, Py_ssize_t rank,
                     int nthreads):
    """The rank-th of each full kh x K window over the last two axes (kh =
    rowmap's length - H + 1; src, dst: (R, W), R = outer * H; rowmap and lastmap
    (W + K - 1 entries) the boundary tables, -1: cval) from a sorted window slid
    along the row: kh removals and insertions an output.  Data without NaN (the
    order must be total: the value removed is found by its value)."""
    cdef Py_ssize_t R = src.shape[0], W = src.shape[1]
    cdef Py_ssize_t kh = rowmap.shape[0] - H + 1, T = kh * K
    if R == 0 or W == 0:
        return
    cdef Py_ssize_t SEG = 4096, nseg = (W + SEG - 1) // SEG
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    cdef int fail[1]
    fail[0] = 0
    cdef Py_ssize_t it, r, x, x0, x1, k, j, c, s
    cdef rank_t *win
    cdef const rank_t **rows
    cdef const rank_t *row
    cdef rank_t vin, vout
    cdef bint ok
    cdef rank_t cv = cval[0]
    cdef const rank_t *sp = &src[0, 0]
    cdef rank_t *dp = &dst[0, 0]
    cdef const Py_ssize_t *lm = &lastmap[0]
    with nogil, parallel(num_threads=nthreads):
        win = <rank_t *>malloc(T * sizeof(rank_t))
        rows = <const rank_t **>malloc(kh * sizeof(rank_t *))
        ok = win != NULL and rows != NULL
        for it in prange(R * nseg, schedule='dynamic'):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            r = it // nseg
            x0 = (it % nseg) * SEG
            x1 = x0 + SEG if x0 + SEG < W else W
            _window_rows(sp, r, H, W, &rowmap[0], kh, rows)
            j = 0
            for k in range(kh):
                row = rows[k]
                for c in range(K):
                    s = lm[x0 + c]
                    win[j] = row[s] if s >= 0 and row != NULL else cv
                    j = j + 1
            _heapsort(win, T)
            dp[r * W + x0] = win[rank]
            for x in range(x0 + 1, x1):
                for k in range(kh):
                    row = rows[k]
                    if row == NULL:
                        continue          # cval leaves and enters
                    vout = _sample(row, lm, x - 1, cv)
                    vin = _sample(row, lm, x + K - 1, cv)
                    _replace(win, T, vout, vin)
                dp[r * W + x] = win[rank]
        free(<void *>rows)
        free(win)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("rank filter: no memory for a thread's window buffer")


def rank_hist_rows(const unsigned char[:, ::1] src, unsigned char[:, ::1] dst, Py_ssize_t H,
                   const Py_ssize_t[::1] rowmap, Py_ssize_t K,
                   const Py_ssize_t[::1] lastmap, unsigned char cval, Py_ssize_t rank,
                   int nthreads):
    """rank_sorted_rows for bytes: the window kept as a 256-bin histogram (Huang's
    running median), the bin of the rank found from the previous one: kh
    removals and insertions and a short walk an output, whatever the window's
    size.  Exact for any byte data."""
    cdef Py_ssize_t R = src.shape[0], W = src.shape[1]
    cdef Py_ssize_t kh = rowmap.shape[0] - H + 1
    if R == 0 or W == 0:
        return
    cdef Py_ssize_t SEG = 4096, nseg = (W + SEG - 1) // SEG
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    cdef int fail[1]
    fail[0] = 0
    cdef Py_ssize_t it, r, x, x0, x1, k, c, s, m, below
    cdef Py_ssize_t *hist
    cdef const unsigned char **rows
    cdef const unsigned char *row
    cdef unsigned char vin, vout
    cdef bint ok
    cdef const unsigned char *sp = &src[0, 0]
    cdef unsigned char *dp = &dst[0, 0]
    cdef const Py_ssize_t *lm = &lastmap[0]
    with nogil, parallel(num_threads=nthreads):
        hist = <Py_ssize_t *>malloc(256 * sizeof(Py_ssize_t))
        rows = <const unsigned char **>malloc(kh * sizeof(unsigned char *))
        ok = hist != NULL and rows != NULL
        for it in prange(R * nseg, schedule='dynamic'):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            r = it // nseg
            x0 = (it % nseg) * SEG
            x1 = x0 + SEG if x0 + SEG < W else W
            _window_rows(sp, r, H, W, &rowmap[0], kh, rows)
            for m in range(256):
                hist[m] = 0
            for k in range(kh):
                row = rows[k]
                for c in range(K):
                    s = lm[x0 + c]
                    hist[row[s] if s >= 0 and row != NULL else cval] += 1
            # m: the bin of the rank; below: the elements in bins under m
            m = 0
            below = 0
            while below + hist[m] <= rank:
                below = below + hist[m]
                m = m + 1
            dp[r * W + x0] = <unsigned char>m
            for x in range(x0 + 1, x1):
                for k in range(kh):
                    row = rows[k]
                    if row == NULL:
                        continue          # cval leaves and enters
                    vout = _sample(row, lm, x - 1, cval)
                    vin = _sample(row, lm, x + K - 1, cval)
                    hist[vout] -= 1
                    hist[vin] += 1
                    below = below - (vout < m) + (vin < m)
                while below > rank:
                    m = m - 1
                    below = below - hist[m]
                while below + hist[m] <= rank:
                    below = below + hist[m]
                    m = m + 1
                dp[r * W + x] = <unsigned char>m
        free(<void *>rows)
        free(hist)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("rank filter: no memory for a thread's histogram")


def rank_fenwick_rows(const Py_ssize_t[:, ::1] ranks, Py_ssize_t K, Py_ssize_t rank,
                      Py_ssize_t[:, ::1] out, int nthreads):
    """Long windows along rows: ranks[r, m] is the position of extended sample m
    of row r in the row's sorted order (a permutation of 0..E-1, E = n + K - 1);
    out[r, x] = the position in that order of the rank-th smallest of samples
    x..x+K-1.  A Fenwick tree of counts over the positions: an insertion, a
    removal and a descent to the rank an output, O(log E) each, whatever K."""
    cdef Py_ssize_t R = ranks.shape[0], E = ranks.shape[1], n = out.shape[1]
    if R == 0 or n == 0:
        return
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    cdef int fail[1]
    fail[0] = 0
    cdef Py_ssize_t r, x, m, i, top = 1, pos, rem, step, nxt
    while top * 2 <= E:
        top *= 2
    cdef Py_ssize_t *tree
    cdef bint ok
    with nogil, parallel(num_threads=nthreads):
        tree = <Py_ssize_t *>malloc((E + 1) * sizeof(Py_ssize_t))
        ok = tree != NULL
        for r in prange(R, schedule='dynamic'):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            for i in range(E + 1):
                tree[i] = 0
            for m in range(K):
                i = ranks[r, m] + 1
                while i <= E:
                    tree[i] += 1
                    i = i + (i & -i)
            for x in range(n):
                if x > 0:
                    i = ranks[r, x - 1] + 1
                    while i <= E:
                        tree[i] -= 1
                        i = i + (i & -i)
                    i = ranks[r, x + K - 1] + 1
                    while i <= E:
                        tree[i] += 1
                        i = i + (i & -i)
                pos = 0
                rem = rank + 1
                step = top
                while step > 0:
                    nxt = pos + step
                    if nxt <= E and tree[nxt] < rem:
                        pos = nxt
                        rem = rem - tree[nxt]
                    step = step // 2
                out[r, x] = pos
        free(tree)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("rank filter: no memory for a thread's counts")
