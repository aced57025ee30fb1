"""Typed kernels of fastconv.ndimage: 1-D passes along an axis and N-d filters.

The Python layer (fastconv._ndfilters) has checked every argument, converted
the input to a C-contiguous float32/float64 buffer and built the boundary
tables; the kernels trust them and never raise.

A 1-D pass sees the array as (outer, n, inner) with the filtered axis in the
middle.  ``emap`` maps each index m of the extended line (n + K - 1 entries,
``lo`` of them before the first element) to a source index, or -1 for cval.

* inner == 1 (the filtered axis is the contiguous one): each line is copied
  into a padded buffer and the row kernels read it at K shifts; uniform_filter1d
  instead transposes groups of lines into a panel so that its running sum (a
  recurrence along the line) runs vectorised across lines.
* inner > 1: output row i combines the input rows emap[i..i+K-1] directly
  (a row of cval where emap is -1), vectorised across the contiguous axis, in
  column blocks sized so that the K rows of a block stay in the L1 cache.

An N-d filter pads the last axis once (a copy with a row of cval appended);
each output row then combines one shifted row of that copy per nonzero tap,
the rows of the leading axes found through their boundary tables.

Every output element is computed by one thread in a fixed order, so results
are bit-identical for any number of threads.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from fastconv._interrupt cimport (fc_watch, fc_watch_poll, fc_watch_set_main, fc_watch_start,
                                  track_main_thread, watch_raise)


cdef extern from "fc_ndfilter.h" nogil:
    int fcnd_simd_levels()
    void fcnd_corr_f(int level, const float **rows, const float *w, int K, int sym,
                     float *out, Py_ssize_t n)
    void fcnd_corr_d(int level, const double **rows, const double *w, int K, int sym,
                     double *out, Py_ssize_t n)
    void fcnd_corr_rows_f(int level, const float **rows, const float *w, int K, int sym,
                          float **outs, int R, Py_ssize_t n)
    void fcnd_corr_rows_d(int level, const double **rows, const double *w, int K, int sym,
                          double **outs, int R, Py_ssize_t n)
    void *fcnd_align64(void *p)
    int fcnd_corr_rows16_f(int level, const float *t, Py_ssize_t pt, const float *w, int K,
                           int sym, float *out, Py_ssize_t os, Py_ssize_t n, float *scratch)
    size_t fcnd_corr_rows16_scratch(Py_ssize_t n, int K)
    void fcnd_minmax_f(int level, const float **rows, int K, int flags, float *out,
                       Py_ssize_t n)
    void fcnd_minmax_d(int level, const double **rows, int K, int flags, double *out,
                       Py_ssize_t n)
    void fcnd_vh_f(int level, const float **rows, Py_ssize_t n, int K, int is_min, float *out,
                   Py_ssize_t ostride, Py_ssize_t ncols, float *gh)
    void fcnd_vh_d(int level, const double **rows, Py_ssize_t n, int K, int is_min,
                   double *out, Py_ssize_t ostride, Py_ssize_t ncols, double *gh)
    void fcnd_uniform_f(int level, const float **rows, Py_ssize_t n, int size, float *out,
                        Py_ssize_t ostride, Py_ssize_t ncols)
    void fcnd_uniform_d(int level, const double **rows, Py_ssize_t n, int size, double *out,
                        Py_ssize_t ostride, Py_ssize_t ncols)


# operations of the row kernels
cdef enum:
    OP_CORR = 0
    OP_MIN = 1
    OP_MAX = 2
    OP_UNIFORM = 3
    OP_VHMIN = 4
    OP_VHMAX = 5
    # lines of one uniform_filter1d panel along the contiguous axis
    PANEL = 16


def _watch_after_fork():
    """In a forked child, the thread that forked is Python's main thread."""
    import threading
    fc_watch_set_main(threading.get_ident())


# Ctrl-C: every work item (a line, a panel, a block of rows, a strip, an output
# row) looks first at the call's watch (fc_interrupt.h)
track_main_thread(_watch_after_fork)


def simd_levels():
    """2 if the AVX-512/AVX2 copies of the row kernels were compiled in, else 0."""
    return fcnd_simd_levels()


cdef inline void _rows_op(int level, int op, const floating **rows, const floating *w, int K,
                          int sym, floating *out, Py_ssize_t n) noexcept nogil:
    if op == OP_CORR:
        if floating is float:
            fcnd_corr_f(level, rows, w, K, sym, out, n)
        else:
            fcnd_corr_d(level, rows, w, K, sym, out, n)
    else:
        # sym 2 (N-d filters): the first of equal values, else (1-D passes) the last
        if floating is float:
            fcnd_minmax_f(level, rows, K, (op == OP_MIN) | (0 if sym == 2 else 2), out, n)
        else:
            fcnd_minmax_d(level, rows, K, (op == OP_MIN) | (0 if sym == 2 else 2), out, n)


cdef inline void _corr_rows(int level, const floating **rows, const floating *w, int K,
                            int sym, floating **outs, int R, Py_ssize_t n) noexcept nogil:
    """R output rows of a correlation across rows: outs[q] from rows[q .. q + K - 1]."""
    if floating is float:
        fcnd_corr_rows_f(level, rows, w, K, sym, outs, R, n)
    else:
        fcnd_corr_rows_d(level, rows, w, K, sym, outs, R, n)


cdef inline size_t _rows16_scratch(floating *kind, Py_ssize_t n, int K) noexcept nogil:
    """Elements of _corr_rows16's scratch (none for double: it has no such form)."""
    if floating is float:
        return fcnd_corr_rows16_scratch(n, K)
    return 0


cdef inline bint _corr_rows16(int level, const floating *t, Py_ssize_t pt, const floating *w,
                              int K, int sym, floating *out, Py_ssize_t n,
                              floating *scratch) noexcept nogil:
    """The correlation along the 16 rows t + q * pt into out + q * n (transposed,
    fc_ndfilter_f32.h), or False: run them row by row (the same bits)."""
    if floating is float:
        return fcnd_corr_rows16_f(level, t, pt, w, K, sym, out, n, n, scratch)
    return False


cdef inline void _uniform(int level, int op, const floating **rows, Py_ssize_t n, int size,
                          floating *out, Py_ssize_t ostride, Py_ssize_t ncols,
                          floating *gh) noexcept nogil:
    """The running operations down the rows: uniform (running sum) or van Herk min/max."""
    if op == OP_UNIFORM:
        if floating is float:
            fcnd_uniform_f(level, rows, n, size, out, ostride, ncols)
        else:
            fcnd_uniform_d(level, rows, n, size, out, ostride, ncols)
    elif floating is float:
        fcnd_vh_f(level, rows, n, size, op == OP_VHMIN, out, ostride, ncols, gh)
    else:
        fcnd_vh_d(level, rows, n, size, op == OP_VHMIN, out, ostride, ncols, gh)


cdef inline void _pad_line(const floating *src, floating *buf, const Py_ssize_t *emap,
                           Py_ssize_t E, Py_ssize_t lo, Py_ssize_t n,
                           floating cv) noexcept nogil:
    cdef Py_ssize_t m, s
    for m in range(lo):
        s = emap[m]
        buf[m] = cv if s < 0 else src[s]
    memcpy(buf + lo, src, n * sizeof(floating))
    for m in range(lo + n, E):
        s = emap[m]
        buf[m] = cv if s < 0 else src[s]


cdef inline void _pad_window(const floating *src, floating *buf, const Py_ssize_t *emap,
                             Py_ssize_t e0, Py_ssize_t e1, Py_ssize_t lo, Py_ssize_t n,
                             floating cv) noexcept nogil:
    """buf[m] = entry e0 + m of the extended line (_pad_line's buf), e0 <= e < e1."""
    cdef Py_ssize_t e, s, a = max(e0, lo), b = min(e1, lo + n)
    for e in range(e0, min(e1, lo)):
        s = emap[e]
        buf[e - e0] = cv if s < 0 else src[s]
    if a < b:
        memcpy(buf + a - e0, src + a - lo, (b - a) * sizeof(floating))
    for e in range(max(e0, lo + n), e1):
        s = emap[e]
        buf[e - e0] = cv if s < 0 else src[s]


cdef inline Py_ssize_t _pitch(Py_ssize_t n) noexcept nogil:
    """A row pitch for n elements: a multiple of 16, off a multiple of 4 KiB by at
    least 64 bytes (rows a multiple of 4 KiB apart share their L1 sets, and a store
    to one stalls loads from the others: 1008-wide rows at a 4 KiB pitch took 2x the
    time of 1040-wide ones)."""
    cdef Py_ssize_t p = ((n + 15) // 16) * 16 + 16
    if p % 1024 == 0:
        p = p + 16
    return p


cdef inline void _ring_fill(floating *slot, const floating *base, Py_ssize_t s,
                            Py_ssize_t inner, Py_ssize_t nb, floating cv) noexcept nogil:
    cdef Py_ssize_t j
    if s < 0:
        for j in range(nb):
            slot[j] = cv
    else:
        memcpy(slot, base + s * inner, nb * sizeof(floating))


cdef inline Py_ssize_t _ring_rows(floating *ring, Py_ssize_t P, Py_ssize_t S, Py_ssize_t top,
                                  Py_ssize_t filled, Py_ssize_t i, Py_ssize_t count,
                                  const floating *base, const Py_ssize_t *emap,
                                  Py_ssize_t inner, Py_ssize_t nb, floating cv,
                                  const floating **rows) noexcept nogil:
    """Point rows[0 .. count) at the extended rows i .. i + count - 1 held in a ring of
    S slots of pitch P (row r in slot (r - top) % S), copying in those from ``filled``
    on (the rows before it are there already); returns the new ``filled``."""
    while filled < i + count:
        _ring_fill(ring + ((filled - top) % S) * P, base, emap[filled], inner, nb, cv)
        filled = filled + 1
    _ring_slots(ring, P, S, top, i, count, rows)
    return filled


cdef inline void _ring_slots(floating *ring, Py_ssize_t P, Py_ssize_t S, Py_ssize_t top,
                             Py_ssize_t i, Py_ssize_t count,
                             const floating **rows) noexcept nogil:
    """rows[0 .. count) -> the ring's slots of the extended rows i .. i + count - 1."""
    cdef Py_ssize_t k
    for k in range(count):
        rows[k] = ring + ((i - top + k) % S) * P


cdef inline Py_ssize_t _ring_rows_of(floating *ring, Py_ssize_t P, Py_ssize_t S,
                                     Py_ssize_t top, Py_ssize_t filled, Py_ssize_t i,
                                     Py_ssize_t count, const floating **src, Py_ssize_t nb,
                                     const floating **rows) noexcept nogil:
    """_ring_rows for rows found through a table of row pointers (``src[r]``: row r)."""
    while filled < i + count:
        memcpy(ring + ((filled - top) % S) * P, src[filled], nb * sizeof(floating))
        filled = filled + 1
    _ring_slots(ring, P, S, top, i, count, rows)
    return filled


def pass1d(const floating[:, :, ::1] x, floating[:, :, ::1] out, const floating[::1] w, int sym,
           const Py_ssize_t[::1] emap, Py_ssize_t lo, double cval, int op, int size, int level,
           int nthreads):
    """One 1-D pass along the middle axis of x (outer, n, inner) into out.

    op: 0 correlation with weights ``w`` (``sym``: 0 general, 1 symmetric,
    -1 antisymmetric), 1 minimum, 2 maximum, 3 uniform (running sum), 4/5
    minimum/maximum by van Herk / Gil-Werman; ``size`` is the window length
    (len(w) for a correlation).
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t E = emap.shape[0]
    cdef int K = size
    cdef floating cv = <floating>cval
    cdef const floating *wp = &w[0] if w.shape[0] > 0 else NULL
    cdef const floating *xb = &x[0, 0, 0]
    cdef floating *ob = &out[0, 0, 0]
    cdef Py_ssize_t it, o, i, j0, nb, k, m, s, g, ng, CB, P, nblk, items, ngroups, k0, m0
    cdef Py_ssize_t i0, i1, STRIP, nstrip, b0, b1, filled, q, R, S, ROWS = 8
    cdef floating **outs
    cdef void *raw
    cdef void *hmem
    cdef floating *hscr
    cdef floating *buf
    cdef floating *obuf
    cdef floating *cvrow
    cdef floating *ring
    cdef floating *gh
    cdef bint ok
    cdef int fail[1]
    fail[0] = 0
    cdef const floating **rows
    cdef const floating *base
    if outer == 0 or n == 0 or inner == 0:
        return
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    cdef bint running = op >= OP_UNIFORM
    # outputs of a line per segment: ~2^20 taps (well under a millisecond); a
    # multiple of 64 outputs, so that the row kernels' vectors and scalar tail
    # cover the same outputs as in one run over the line (the same bits)
    cdef Py_ssize_t SEG = max(64, ((1 << 20) // max(K, 1)) // 64 * 64), nseg
    if inner == 1 and not running and SEG < n:
        # long lines (a long kernel): the work items are segments of lines, each
        # padding just the window its outputs read, so that a single line feeds
        # every thread and the calling thread (which looks at the signals, see
        # fc_interrupt.h) always has segments of its own
        nseg = (n + SEG - 1) // SEG
        with nogil, parallel(num_threads=nthreads):
            buf = <floating *>malloc((SEG + K - 1) * sizeof(floating))
            rows = <const floating **>malloc(K * sizeof(floating *))
            ok = buf != NULL and rows != NULL
            if ok:
                for k0 in range(K):
                    rows[k0] = buf + k0
            for it in prange(outer * nseg, schedule='dynamic'):
                if not ok:
                    fail[0] = 1
                    continue
                if fc_watch_poll(wp_):
                    continue
                o = it // nseg
                j0 = (it % nseg) * SEG
                nb = SEG if n - j0 > SEG else n - j0
                _pad_window(xb + o * n, buf, &emap[0], j0, j0 + nb + K - 1, lo, n, cv)
                _rows_op(level, op, rows, wp, K, sym, ob + o * n + j0, nb)
            free(<void *>rows)
            free(buf)
    elif inner == 1 and not running:
        # groups of 16 lines: a correlation runs them transposed where the level
        # has that form (fcnd_corr_rows16_f), else (and for the last lines) line
        # by line, with the same bits
        P = _pitch(E)
        ngroups = (outer + 15) // 16
        with nogil, parallel(num_threads=nthreads):
            raw = malloc((16 * P + 16) * sizeof(floating))
            buf = <floating *>fcnd_align64(raw)
            hmem = malloc((_rows16_scratch(<floating *>NULL, n, K) + 16) * sizeof(floating))
            hscr = <floating *>fcnd_align64(hmem)
            rows = <const floating **>malloc(K * sizeof(floating *))
            ok = raw != NULL and hmem != NULL and rows != NULL
            for g in prange(ngroups, schedule='dynamic'):
                if not ok:
                    fail[0] = 1
                    continue
                if fc_watch_poll(wp_):
                    continue
                o = g * 16
                ng = outer - o if outer - o < 16 else 16
                for m in range(ng):
                    _pad_line(xb + (o + m) * n, buf + m * P, &emap[0], E, lo, n, cv)
                if not (ng == 16 and op == OP_CORR
                        and _corr_rows16(level, buf, P, wp, K, sym, ob + o * n, n, hscr)):
                    for m in range(ng):
                        for k in range(K):
                            rows[k] = buf + m * P + k
                        _rows_op(level, op, rows, wp, K, sym, ob + (o + m) * n, n)
            free(<void *>rows)
            free(hmem)
            free(raw)
    elif inner == 1:
        # running filters along the contiguous axis: PANEL lines side by side
        ngroups = (outer + PANEL - 1) // PANEL
        with nogil, parallel(num_threads=nthreads):
            gh = <floating *>malloc(2 * E * 16 * sizeof(floating))
            buf = <floating *>malloc(E * PANEL * sizeof(floating))
            obuf = <floating *>malloc(n * PANEL * sizeof(floating))
            rows = <const floating **>malloc(E * sizeof(floating *))
            ok = gh != NULL and buf != NULL and obuf != NULL and rows != NULL
            if ok:
                for m0 in range(E):
                    rows[m0] = buf + m0 * PANEL
            for it in prange(ngroups, schedule='dynamic'):
                if not ok:
                    fail[0] = 1
                    continue
                if fc_watch_poll(wp_):
                    continue
                o = it * PANEL
                ng = PANEL if outer - o > PANEL else outer - o
                # transposes in blocks of 64 positions, so that the block of the
                # panel stays in L1 while the lines are read (written) in runs
                for b0 in range(0, E, 64):
                    b1 = b0 + 64 if b0 + 64 < E else E
                    for g in range(ng):
                        base = xb + (o + g) * n
                        for m in range(b0, b1):
                            s = emap[m]
                            buf[m * PANEL + g] = cv if s < 0 else base[s]
                _uniform(level, op, rows, n, K, obuf, PANEL, ng, gh)
                for b0 in range(0, n, 64):
                    b1 = b0 + 64 if b0 + 64 < n else n
                    for g in range(ng):
                        for i in range(b0, b1):
                            ob[(o + g) * n + i] = obuf[i * PANEL + g]
            free(<void *>rows)
            free(obuf)
            free(buf)
            free(gh)
    else:
        # column blocks: whole rows (long contiguous runs for the prefetchers and
        # the TLB) unless they are very wide; uniform: blocks of its running sums
        CB = inner if inner <= 8192 else 4096
        if running:
            CB = 128 if inner > 128 else inner
        # ring pitch: rows 4 KiB apart would share their L1 sets
        P = _pitch(CB)
        S = K + ROWS - 1
        nblk = (inner + CB - 1) // CB
        # strips of output rows: work for every thread when there is one plane
        STRIP = n if running else 64
        nstrip = (n + STRIP - 1) // STRIP
        items = outer * nblk * nstrip
        cvrow = <floating *>malloc(CB * sizeof(floating))
        if cvrow == NULL:
            raise MemoryError("fastconv.ndimage: no memory for a row of cval")
        for k in range(CB):
            cvrow[k] = cv
        with nogil, parallel(num_threads=nthreads):
            rows = <const floating **>malloc(E * sizeof(floating *))
            # the input rows of a group of outputs, copied into a ring of
            # K + ROWS - 1 slots: source rows lie a multiple of 4 KiB apart in wide
            # images, which would put them all in the same L1 sets
            ring = <floating *>malloc(S * P * sizeof(floating))
            outs = <floating **>malloc(ROWS * sizeof(floating *))
            gh = <floating *>malloc(2 * E * 16 * sizeof(floating)) if running else NULL
            ok = (rows != NULL and ring != NULL and outs != NULL
                  and (gh != NULL or not running))
            for it in prange(items, schedule='dynamic'):
                if not ok:
                    fail[0] = 1
                    continue
                if fc_watch_poll(wp_):
                    continue
                o = it // (nblk * nstrip)
                j0 = ((it // nstrip) % nblk) * CB
                i0 = (it % nstrip) * STRIP
                i1 = n if running or i0 + STRIP > n else i0 + STRIP
                nb = CB if inner - j0 > CB else inner - j0
                base = xb + o * n * inner + j0
                if running:
                    for m in range(E):
                        s = emap[m]
                        if s < 0:
                            rows[m] = cvrow
                        else:
                            rows[m] = base + s * inner
                    _uniform(level, op, rows, n, K, ob + o * n * inner + j0, inner, nb, gh)
                elif K <= 8:
                    # a few rows share the L1 sets without evicting each other
                    for i in range(i0, i1):
                        if fc_watch_poll(wp_):
                            break
                        for k in range(K):
                            s = emap[i + k]
                            if s < 0:
                                rows[k] = cvrow
                            else:
                                rows[k] = base + s * inner
                        _rows_op(level, op, rows, wp, K, sym, ob + (o * n + i) * inner + j0, nb)
                else:
                    # ROWS output rows at a time (a correlation's share their input
                    # rows, fcnd_corr_rows); the ring holds the extended rows
                    # [i0, filled) in slot (row - i0) % S
                    filled = i0
                    i = i0
                    while i < i1 and not fc_watch_poll(wp_):
                        R = ROWS if i1 - i >= ROWS and op == OP_CORR else 1
                        filled = _ring_rows(ring, P, S, i0, filled, i, K + R - 1, base,
                                            &emap[0], inner, nb, cv, rows)
                        for q in range(R):
                            outs[q] = ob + (o * n + i + q) * inner + j0
                        if op == OP_CORR:
                            _corr_rows(level, rows, wp, K, sym, outs, <int>R, nb)
                        else:
                            _rows_op(level, op, rows, wp, K, sym, outs[0], nb)
                        i = i + R
            free(ring)
            free(outs)
            free(gh)
            free(<void *>rows)
        free(cvrow)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("fastconv.ndimage: no memory for a thread's line buffers")


cdef inline void _first_pass(int level, int op, const floating **rows, const floating *w,
                             int K, int sym, floating **outs, Py_ssize_t R,
                             Py_ssize_t n) noexcept nogil:
    """sep2d's pass down the rows: outs[q][0 .. n) from rows[q .. q + K - 1]."""
    cdef Py_ssize_t q
    if op == OP_CORR:
        _corr_rows(level, rows, w, K, sym, outs, <int>R, n)
    else:
        for q in range(R):
            _rows_op(level, op, rows + q, w, K, sym, outs[q], n)


cdef inline void _second_pass(int level, int op, floating *tbuf, Py_ssize_t PT,
                              const floating *w, int K, int sym, Py_ssize_t R, floating *out,
                              Py_ssize_t W, floating *hscr,
                              const floating **rows) noexcept nogil:
    """sep2d's pass along the R padded intermediate rows tbuf + q * PT (W + K - 1
    entries each) into the output rows out + q * W."""
    cdef Py_ssize_t q, k
    cdef floating *tb
    if R == 16 and op == OP_CORR and _corr_rows16(level, tbuf, PT, w, K, sym, out, W, hscr):
        return
    for q in range(R):
        tb = tbuf + q * PT
        for k in range(K):
            rows[k] = tb + k
        _rows_op(level, op, rows, w, K, sym, out + q * W, W)


cdef struct _Scratch:
    # one thread's buffers of sep2d/sep2d_halo (void *: a struct has no fused types)
    void *tmem
    void *tbuf
    void *touts
    void *hmem
    void *hscr
    void *rows0
    void *rows1
    void *ring
    bint ok


cdef inline _Scratch _sep2d_scratch(floating *kind, Py_ssize_t ROWS, Py_ssize_t PT,
                                    Py_ssize_t W, int K1, Py_ssize_t S, Py_ssize_t P,
                                    bint use_ring) noexcept nogil:
    """A thread's buffers: ROWS intermediate rows of pitch PT, 64-byte aligned (the
    second pass loads them at every offset, and an aligned start halves the loads
    that cross a cache line), their pointers, the transposed pass's scratch, the row
    pointers of both passes and the ring of S rows of pitch P (``use_ring``); ``ok``
    false if one is missing (the caller frees them all with _sep2d_free)."""
    cdef _Scratch sc
    sc.tmem = malloc((ROWS * PT + 16) * sizeof(floating))
    sc.tbuf = fcnd_align64(sc.tmem)
    sc.touts = malloc(ROWS * sizeof(floating *))
    sc.hmem = malloc((_rows16_scratch(kind, W, K1) + 16) * sizeof(floating))
    sc.hscr = fcnd_align64(sc.hmem)
    sc.rows0 = malloc(S * sizeof(floating *))
    sc.rows1 = malloc(K1 * sizeof(floating *))
    sc.ring = malloc(S * P * sizeof(floating)) if use_ring else NULL
    sc.ok = (sc.tmem != NULL and sc.touts != NULL and sc.rows0 != NULL and sc.rows1 != NULL
             and sc.hmem != NULL and (sc.ring != NULL or not use_ring))
    return sc


cdef inline void _sep2d_free(_Scratch sc) noexcept nogil:
    free(sc.ring)
    free(sc.rows1)
    free(sc.rows0)
    free(sc.touts)
    free(sc.hmem)
    free(sc.tmem)


def sep2d(const floating[:, :, ::1] x, floating[:, :, ::1] out,
          int op0, const floating[::1] w0, int sym0, const Py_ssize_t[::1] emap0, int K0,
          int op1, const floating[::1] w1, int sym1, const Py_ssize_t[::1] emap1,
          Py_ssize_t lo1, int K1, double cval, int level, int nthreads):
    """Two 1-D passes fused: op0 along axis 1 then op1 along axis 2 of x (outer, H, W).

    Each output row is made from its intermediate row (op0 over K0 rows of x,
    full width) held in a padded buffer, so the intermediate image never goes
    to memory (nor its pages get faulted in).  Same operations as two pass1d
    calls whose intermediate is kept in x's dtype.  op0/op1: 0 correlation,
    1 minimum, 2 maximum.  The rows go ROWS at a time: a correlation's first
    pass computes their intermediate rows together (fcnd_corr_rows: they share
    their input rows), and on AVX-512 its second pass runs along the 16 rows
    transposed (fcnd_corr_rows16_f).  From 9 rows on, the rows of op0 are copied
    into a ring whose pitch is off 4 KiB (rows 4 KiB apart would share their L1
    sets).
    """
    cdef Py_ssize_t outer = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t We = emap1.shape[0]
    cdef floating cv = <floating>cval
    cdef const floating *wp0 = &w0[0] if w0.shape[0] > 0 else NULL
    cdef const floating *wp1 = &w1[0] if w1.shape[0] > 0 else NULL
    cdef const floating *xb
    cdef floating *ob
    cdef Py_ssize_t STRIP = 64, ROWS = 16, nstrips, items, it, o, i, i1, i_top, k, m, s, q, R
    cdef Py_ssize_t filled
    cdef Py_ssize_t P = _pitch(W)                            # ring pitch
    cdef Py_ssize_t PT = _pitch(We)                          # intermediate rows' pitch
    cdef Py_ssize_t S = K0 + ROWS - 1                        # ring slots
    cdef bint use_ring = K0 > 8
    cdef floating *ring
    cdef floating *cvrow
    cdef _Scratch sc
    cdef floating *tbuf
    cdef floating **touts
    cdef floating *tb
    cdef floating *hscr
    cdef const floating **rows0
    cdef const floating **rows1
    cdef const floating *base
    cdef bint ok
    cdef int fail[1]
    if outer == 0 or H == 0 or W == 0:
        return
    xb = &x[0, 0, 0]
    ob = &out[0, 0, 0]
    nstrips = (H + STRIP - 1) // STRIP
    items = outer * nstrips
    cvrow = <floating *>malloc(W * sizeof(floating))
    if cvrow == NULL:
        raise MemoryError("fastconv.ndimage: no memory for a row of cval")
    fail[0] = 0
    for k in range(W):
        cvrow[k] = cv
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        sc = _sep2d_scratch(<floating *>NULL, ROWS, PT, W, K1, S, P, use_ring)
        tbuf = <floating *>sc.tbuf
        touts = <floating **>sc.touts
        hscr = <floating *>sc.hscr
        rows0 = <const floating **>sc.rows0
        rows1 = <const floating **>sc.rows1
        ring = <floating *>sc.ring
        ok = sc.ok
        for it in prange(items, schedule='dynamic'):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            o = it // nstrips
            i = (it % nstrips) * STRIP
            i_top = i
            i1 = i + STRIP if i + STRIP < H else H
            base = xb + o * H * W
            filled = i    # the ring holds the extended rows [i_top, filled)
            while i < i1 and not fc_watch_poll(wp_):
                R = ROWS if i1 - i >= ROWS else i1 - i
                if use_ring:
                    filled = _ring_rows(ring, P, S, i_top, filled, i, K0 + R - 1, base,
                                        &emap0[0], W, W, cv, rows0)
                else:
                    for k in range(K0 + R - 1):
                        s = emap0[i + k]
                        if s < 0:
                            rows0[k] = cvrow
                        else:
                            rows0[k] = base + s * W
                for q in range(R):
                    touts[q] = tbuf + q * PT + lo1
                _first_pass(level, op0, rows0, wp0, K0, sym0, touts, R, W)
                for q in range(R):
                    tb = tbuf + q * PT
                    for m in range(lo1):
                        s = emap1[m]
                        tb[m] = cv if s < 0 else tb[lo1 + s]
                    for m in range(lo1 + W, We):
                        s = emap1[m]
                        tb[m] = cv if s < 0 else tb[lo1 + s]
                _second_pass(level, op1, tbuf, PT, wp1, K1, sym1, R, ob + (o * H + i) * W, W,
                             hscr, rows1)
                i = i + R
        _sep2d_free(sc)
    free(cvrow)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("fastconv.ndimage: no memory for a thread's row buffers")


cdef inline const floating *_first(const floating[:, ::1] a) noexcept nogil:
    """The first element of a C-contiguous 2-D view, or NULL when it has none."""
    if a.shape[0] == 0 or a.shape[1] == 0:
        return NULL
    return &a[0, 0]


def sep2d_halo(const floating[:, ::1] main, const floating[:, ::1] top,
               const floating[:, ::1] bottom, const floating[:, ::1] left,
               const floating[:, ::1] right, floating[:, ::1] out,
               int op0, const floating[::1] w0, int sym0, int K0,
               int op1, const floating[::1] w1, int sym1, int K1, int level, int nthreads):
    """sep2d on a block given as its H x W interior ``main`` and the halo around it.

    The block's input is the (H + K0 - 1) x (W + K1 - 1) array whose rows are
    ``top`` (lo0 x W), ``main`` and ``bottom`` (hi0 x W) between the columns of
    ``left`` ((H + K0 - 1) x lo1) and ``right`` ((H + K0 - 1) x hi1); ``out``
    (H x W) gets op1 along the rows of op0 down the columns over it, with no
    boundary rule: the halo holds what the whole array's padding gives.  The
    sums are sep2d's, in its order (the same bits): a dask chunk's output
    without copying the chunk into a padded block (fastconv._dask._halo).
    """
    cdef Py_ssize_t H = main.shape[0], W = main.shape[1]
    cdef Py_ssize_t lo0 = top.shape[0], lo1 = left.shape[1], hi1 = right.shape[1]
    cdef Py_ssize_t V = H + K0 - 1, We = W + K1 - 1
    cdef const floating *wp0 = &w0[0] if w0.shape[0] > 0 else NULL
    cdef const floating *wp1 = &w1[0] if w1.shape[0] > 0 else NULL
    cdef const floating *mp = _first(main)
    cdef const floating *tp = _first(top)
    cdef const floating *bp = _first(bottom)
    cdef const floating *lp = _first(left)
    cdef const floating *rp = _first(right)
    cdef floating *ob
    cdef Py_ssize_t STRIP = 64, ROWS = 16, nstrips, it, i, i1, i_top, v, q, R, filled
    cdef Py_ssize_t P = _pitch(W)
    cdef Py_ssize_t PT = _pitch(We)
    cdef Py_ssize_t S = K0 + ROWS - 1
    cdef bint use_ring = K0 > 8
    cdef const floating **vrows
    cdef const floating **lrows
    cdef const floating **rrows
    cdef floating *ring
    cdef _Scratch sc
    cdef floating *tbuf
    cdef floating **touts
    cdef floating *hscr
    cdef const floating **rows0
    cdef const floating **rows1
    cdef bint ok
    cdef int fail[1]
    if (bottom.shape[0] != K0 - 1 - lo0 or lo1 + hi1 != K1 - 1 or left.shape[0] != V
            or right.shape[0] != V or top.shape[1] != W or bottom.shape[1] != W
            or out.shape[0] != H or out.shape[1] != W):
        raise ValueError("sep2d_halo: the halo's shapes do not fit the block and the kernels")
    if H == 0 or W == 0:
        return
    ob = &out[0, 0]
    nstrips = (H + STRIP - 1) // STRIP
    # the block's rows (and its side columns' rows), found once for every thread
    vrows = <const floating **>malloc(3 * V * sizeof(floating *))
    if vrows == NULL:
        raise MemoryError("fastconv.ndimage: no memory for a block's row table")
    lrows = vrows + V
    rrows = vrows + 2 * V
    for v in range(V):
        if v < lo0:
            vrows[v] = tp + v * W
        elif v < lo0 + H:
            vrows[v] = mp + (v - lo0) * W
        else:
            vrows[v] = bp + (v - lo0 - H) * W
        lrows[v] = lp + v * lo1 if lo1 > 0 else NULL
        rrows[v] = rp + v * hi1 if hi1 > 0 else NULL
    fail[0] = 0
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        sc = _sep2d_scratch(<floating *>NULL, ROWS, PT, W, K1, S, P, use_ring)
        tbuf = <floating *>sc.tbuf
        touts = <floating **>sc.touts
        hscr = <floating *>sc.hscr
        rows0 = <const floating **>sc.rows0
        rows1 = <const floating **>sc.rows1
        ring = <floating *>sc.ring
        ok = sc.ok
        for it in prange(nstrips, schedule='dynamic'):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            i = it * STRIP
            i_top = i
            i1 = i + STRIP if i + STRIP < H else H
            filled = i
            while i < i1 and not fc_watch_poll(wp_):
                R = ROWS if i1 - i >= ROWS else i1 - i
                if use_ring:
                    filled = _ring_rows_of(ring, P, S, i_top, filled, i, K0 + R - 1, vrows, W,
                                           rows0)
                else:
                    for v in range(K0 + R - 1):
                        rows0[v] = vrows[i + v]
                # the intermediate rows [left | main | right], each part from its own rows
                for q in range(R):
                    touts[q] = tbuf + q * PT + lo1
                _first_pass(level, op0, rows0, wp0, K0, sym0, touts, R, W)
                if lo1 > 0:
                    for q in range(R):
                        touts[q] = tbuf + q * PT
                    _first_pass(level, op0, lrows + i, wp0, K0, sym0, touts, R, lo1)
                if hi1 > 0:
                    for q in range(R):
                        touts[q] = tbuf + q * PT + lo1 + W
                    _first_pass(level, op0, rrows + i, wp0, K0, sym0, touts, R, hi1)
                _second_pass(level, op1, tbuf, PT, wp1, K1, sym1, R, ob + i * W, W, hscr,
                             rows1)
                i = i + R
        _sep2d_free(sc)
    free(<void *>vrows)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("fastconv.ndimage: no memory for a thread's row buffers")


cdef inline void _edge_cols(const floating *xb, const Py_ssize_t *srow, Py_ssize_t R,
                            Py_ssize_t W, const Py_ssize_t *tapl, Py_ssize_t T,
                            const Py_ssize_t *lastmap, Py_ssize_t c0, Py_ssize_t c1,
                            Py_ssize_t Kw, floating cv, floating *ebuf, const floating **rows,
                            int level, int op, const floating *wp, floating *orow) noexcept nogil:
    """Output columns [c0, c1) of one row from padded copies of their taps' inputs."""
    cdef Py_ssize_t t, m, s, EW = c1 - c0 + Kw - 1
    cdef const floating *xr
    for t in range(T):
        if srow[t] >= R:
            for m in range(EW):
                ebuf[t * EW + m] = cv
        else:
            xr = xb + srow[t] * W
            for m in range(EW):
                s = lastmap[c0 + m]
                ebuf[t * EW + m] = cv if s < 0 else xr[s]
        rows[t] = ebuf + t * EW + tapl[t]
    _rows_op(level, op, rows, wp, <int>T, 2, orow + c0, c1 - c0)


def filternd(const floating[:, ::1] x, floating[:, ::1] out, const floating[::1] w,
             const Py_ssize_t[:, ::1] tapc, const Py_ssize_t[::1] tapl,
             const Py_ssize_t[::1] dims, const Py_ssize_t[::1] maps,
             const Py_ssize_t[::1] mapoff, const Py_ssize_t[::1] lastmap, Py_ssize_t lo,
             double cval, int op, int level, int nthreads):
    """N-d correlation (op 0) or minimum/maximum (op 1/2) over a footprint.

    x, out: (R, W), R the product of ``dims`` (the leading axes). Tap t sits at
    leading coordinates tapc[t] and last coordinate tapl[t]; maps[mapoff[a]:]
    is the boundary table of leading axis a, ``lastmap`` that of the last axis
    (``lo`` of its entries lie before the first element).  Output columns whose
    window lies inside the row read x in place; the few at each end read small
    padded copies (no padded image is made).
    """
    cdef Py_ssize_t R = x.shape[0], W = x.shape[1], T = tapl.shape[0]
    cdef int nd = dims.shape[0]
    cdef Py_ssize_t Kw = lastmap.shape[0] - W + 1
    cdef Py_ssize_t ja = lo, jb = W - (Kw - 1 - lo), EWmax
    cdef floating cv = <floating>cval
    cdef const floating *wp = &w[0] if w.shape[0] > 0 else NULL
    cdef const floating *xb
    cdef floating *ob
    cdef floating *ebuf
    cdef floating *cvrow
    cdef Py_ssize_t r, t, a, q, srow, mm
    cdef Py_ssize_t *coord
    cdef Py_ssize_t *srows
    cdef Py_ssize_t *rstride
    cdef const floating **rows
    cdef bint ok
    cdef int fail[1]
    if R == 0 or W == 0 or T == 0:
        return
    if jb <= ja:
        ja = 0
        jb = 0
    EWmax = (ja if ja > W - jb else W - jb) + Kw - 1
    if jb == 0:
        EWmax = W + Kw - 1
    xb = &x[0, 0]
    ob = &out[0, 0]
    rstride = <Py_ssize_t *>malloc((nd + 1) * sizeof(Py_ssize_t))
    cvrow = <floating *>malloc(W * sizeof(floating))
    if rstride == NULL or cvrow == NULL:
        free(rstride)
        free(cvrow)
        raise MemoryError("fastconv.ndimage: no memory for the filter tables")
    fail[0] = 0
    rstride[nd] = 1
    for a in range(nd - 1, -1, -1):
        rstride[a] = rstride[a + 1] * dims[a]
    for a in range(W):
        cvrow[a] = cv
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        rows = <const floating **>malloc(T * sizeof(floating *))
        srows = <Py_ssize_t *>malloc(T * sizeof(Py_ssize_t))
        coord = <Py_ssize_t *>malloc((nd + 1) * sizeof(Py_ssize_t))
        ebuf = <floating *>malloc(T * EWmax * sizeof(floating))
        ok = rows != NULL and srows != NULL and coord != NULL and ebuf != NULL
        for r in prange(R, schedule='dynamic', chunksize=4):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            q = r
            for a in range(nd - 1, -1, -1):
                coord[a] = q % dims[a]
                q = q // dims[a]
            for t in range(T):
                srow = 0
                for a in range(nd):
                    mm = maps[mapoff[a] + coord[a] + tapc[t, a]]
                    if mm < 0:
                        srow = R
                        break
                    srow = srow + mm * rstride[a + 1]
                srows[t] = srow
            if jb > ja:
                if ja > 0:
                    _edge_cols(xb, srows, R, W, &tapl[0], T, &lastmap[0], 0, ja, Kw, cv,
                               ebuf, rows, level, op, wp, ob + r * W)
                if jb < W:
                    _edge_cols(xb, srows, R, W, &tapl[0], T, &lastmap[0], jb, W, Kw, cv,
                               ebuf, rows, level, op, wp, ob + r * W)
                # interior: every tap reads x in place, or the row of cval
                for t in range(T):
                    if srows[t] >= R:
                        rows[t] = cvrow
                    else:
                        rows[t] = xb + srows[t] * W + ja + tapl[t] - lo
                _rows_op(level, op, rows, wp, <int>T, 2, ob + r * W + ja, jb - ja)
            else:
                _edge_cols(xb, srows, R, W, &tapl[0], T, &lastmap[0], 0, W, Kw, cv,
                           ebuf, rows, level, op, wp, ob + r * W)
        free(ebuf)
        free(coord)
        free(srows)
        free(<void *>rows)
    free(cvrow)
    free(rstride)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("fastconv.ndimage: no memory for a thread's row buffers")


def filter2d(const floating[:, ::1] x, floating[:, ::1] out, const floating[::1] w,
             const Py_ssize_t[::1] tapr, const Py_ssize_t[::1] tapl,
             const Py_ssize_t[::1] rowmap, const Py_ssize_t[::1] lastmap, Py_ssize_t lo,
             double cval, int op, int level, int nthreads):
    """filternd for 2-D x (H, W): tap t reads extended row i + tapr[t] and column
    j + tapl[t] of output (i, j).

    The K0 extended rows an output row needs are kept padded in a ring (pitch off
    4 KiB: rows of a wide image 4 KiB apart would share their L1 sets); output
    rows go in strips of 64, each priming its own ring.
    """
    cdef Py_ssize_t H = x.shape[0], W = x.shape[1], T = tapl.shape[0]
    cdef Py_ssize_t We = lastmap.shape[0], K0 = rowmap.shape[0] - H + 1
    cdef Py_ssize_t P = _pitch(We)
    cdef Py_ssize_t STRIP = 64, nstrip = (H + STRIP - 1) // STRIP
    cdef floating cv = <floating>cval
    cdef const floating *wp = &w[0] if w.shape[0] > 0 else NULL
    cdef const floating *xb
    cdef floating *ob
    cdef floating *ring
    cdef const floating **rows
    cdef Py_ssize_t it, i, i0, i1, t, m, g, sl
    cdef bint ok
    cdef int fail[1]
    fail[0] = 0
    if H == 0 or W == 0 or T == 0:
        return
    xb = &x[0, 0]
    ob = &out[0, 0]
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        ring = <floating *>malloc(K0 * P * sizeof(floating))
        rows = <const floating **>malloc(T * sizeof(floating *))
        ok = ring != NULL and rows != NULL
        for it in prange(nstrip, schedule='dynamic'):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            i0 = it * STRIP
            i1 = i0 + STRIP if i0 + STRIP < H else H
            for m in range(K0 - 1):
                _fill_row(ring + m * P, xb, rowmap[i0 + m], W, &lastmap[0], We, lo, cv)
            g = 0  # slot of extended row i: (i - i0) % K0
            for i in range(i0, i1):
                if fc_watch_poll(wp_):
                    break
                sl = g - 1 if g > 0 else K0 - 1
                _fill_row(ring + sl * P, xb, rowmap[i + K0 - 1], W, &lastmap[0], We, lo, cv)
                for t in range(T):
                    sl = g + tapr[t]
                    if sl >= K0:
                        sl = sl - K0
                    rows[t] = ring + sl * P + tapl[t]
                _rows_op(level, op, rows, wp, <int>T, 2, ob + i * W, W)
                g = g + 1
                if g == K0:
                    g = 0
        free(<void *>rows)
        free(ring)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("fastconv.ndimage: no memory for a thread's row ring")


cdef inline void _fill_row(floating *dst, const floating *xb, Py_ssize_t s, Py_ssize_t W,
                           const Py_ssize_t *lastmap, Py_ssize_t We, Py_ssize_t lo,
                           floating cv) noexcept nogil:
    cdef Py_ssize_t m
    if s < 0:
        for m in range(We):
            dst[m] = cv
    else:
        _pad_line(xb + s * W, dst, lastmap, We, lo, W, cv)
