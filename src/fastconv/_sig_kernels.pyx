"""Typed direct FIR kernels of fastconv.signal: 1-D and 2-D correlations of
single planes with a constant (``fill``) boundary.

``fir(x, v, tab, out, lo_h, lo_w, fill, chunk, level, blocked)`` computes, for every plane b,

    out[b, i, j] = sum_{r, t} xp[b, i + r, j + t] * v[r, t]

where ``xp`` is ``x`` extended by ``lo_h`` rows / ``lo_w`` columns of ``fill``
before (and as many as the output needs after).  The Python layer
(fastconv._sigdirect) has checked the shapes, made the buffers C-contiguous in
float32/float64 and cropped negative padding away; the kernel trusts them.

Work items are (plane, block of ``blk_rows()`` output rows, chunk of ``chunk``
outputs), handed to the threads dynamically, a whole block of rows (all its
chunks) at a time where there are 64 blocks or more, so that each thread writes
(and first touches) bands of whole rows and a busy core holds back no more than
one block; fewer blocks (a few long rows) go chunk by chunk.  (Guided and static
orders measured no faster on 2048x2048 planes: docs/performance.md.)  A chunk whose
window lies inside its input rows reads them in place, one that reaches the
boundary reads a padded copy of a vector of outputs' window there (so no padded copy of the
input is ever made).  The row kernels (fc_sigfir.h) sum every output in one
fixed order whichever form and block computes it, so the bits do not depend on
the thread count.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from fastconv._interrupt cimport (fc_watch, fc_watch_poll, fc_watch_set_main, fc_watch_start,
                                  track_main_thread, watch_raise)


cdef extern from "fc_sigfir.h" nogil:
    int fcsf_simd_levels()
    void fcsf_row_f(int level, const float **rows, int kh, const float *v, int kw,
                    float *out, Py_ssize_t n)
    void fcsf_row_d(int level, const double **rows, int kh, const double *v, int kw,
                    double *out, Py_ssize_t n)
    void fcsf_rowb_f(int level, const float **rows, int kh, const float *v, const float *tab,
                     int kw, float *out, Py_ssize_t n)
    void fcsf_rowb_d(int level, const double **rows, int kh, const double *v,
                     const double *tab, int kw, double *out, Py_ssize_t n)
    int fcsf_finite_f(int level, const float *x, Py_ssize_t n)
    int fcsf_finite_d(int level, const double *x, Py_ssize_t n)
    int fcsf_lanes(int level, int itemsize)
    int FCSF_R
    int fcsf_blk_pays(int level, int itemsize)
    void fcsf_rows_f(int level, const float **rows, int kh, const float *v, int kw,
                     float *out, Py_ssize_t os, Py_ssize_t n)
    void fcsf_rows_d(int level, const double **rows, int kh, const double *v, int kw,
                     double *out, Py_ssize_t os, Py_ssize_t n)


def _watch_after_fork():
    """In a forked child, the thread that forked is Python's main thread."""
    import threading
    fc_watch_set_main(threading.get_ident())


# Ctrl-C: every work item (plane, output row, chunk) looks first at the call's
# watch (fc_interrupt.h)
track_main_thread(_watch_after_fork)


def simd_levels():
    """2 if the AVX-512/AVX2 copies of the row kernel were compiled in, else 0."""
    return fcsf_simd_levels()


def lanes(int level, int itemsize):
    """Elements of one vector of the row kernel at ``level`` (the band table's width)."""
    return fcsf_lanes(level, itemsize)


cdef inline void _rowb(int level, const floating **rows, int kh, const floating *v,
                       const floating *tab, int kw, floating *out, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fcsf_rowb_f(level, rows, kh, v, tab, kw, out, n)
    else:
        fcsf_rowb_d(level, rows, kh, v, tab, kw, out, n)


cdef inline void _rows(int level, const floating **rows, int kh, const floating *v, int kw,
                       floating *out, Py_ssize_t os, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fcsf_rows_f(level, rows, kh, v, kw, out, os, n)
    else:
        fcsf_rows_d(level, rows, kh, v, kw, out, os, n)


def blk_rows():
    """Output rows of one pass of the kernel's blocked form."""
    return FCSF_R


def blk_pays(int level, int itemsize):
    """Whether planes run in the blocked form at ``level`` by default."""
    return bool(fcsf_blk_pays(level, itemsize))


cdef inline bint _finite(int level, const floating *x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return fcsf_finite_f(level, x, n)
    else:
        return fcsf_finite_d(level, x, n)


cdef inline void _row(int level, const floating **rows, int kh, const floating *v, int kw,
                      floating *out, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fcsf_row_f(level, rows, kh, v, kw, out, n)
    else:
        fcsf_row_d(level, rows, kh, v, kw, out, n)


cdef void _segment(int level, const floating *xp, Py_ssize_t H, Py_ssize_t W, Py_ssize_t i,
                   Py_ssize_t nr, Py_ssize_t lo_h, int kh, int kw, Py_ssize_t c0, Py_ssize_t n,
                   const floating *fillrow, floating fv, floating *scratch, Py_ssize_t span,
                   const floating **rows, const floating *vb, const floating *tb, int R,
                   floating *o, Py_ssize_t Wo) noexcept nogil:
    """Outputs [0, n) of output rows i .. i + nr - 1 of plane ``xp``, whose windows
    start at input column c0: the row pointers (in place where the window lies in
    the row, a padded copy in ``scratch`` else), then the kernel's form."""
    cdef int r
    cdef Py_ssize_t m, a, e, q
    cdef const floating *xrow
    cdef floating *s
    cdef bint band
    for r in range(<int>nr + kh - 1):
        m = i + r - lo_h
        if m < 0 or m >= H:
            rows[r] = fillrow
            continue
        xrow = xp + m * W
        if c0 >= 0 and c0 + n + kw - 1 <= W:
            rows[r] = xrow + c0
            continue
        s = scratch + r * span
        # [fill before | x[a:e] | fill after] for input columns c0 .. c0 + n + kw - 2
        a = c0 if c0 > 0 else 0
        e = c0 + n + kw - 1 if c0 + n + kw - 1 < W else W
        for q in range(a - c0 if a - c0 < n + kw - 1 else n + kw - 1):
            s[q] = fv
        if e > a:
            memcpy(s + (a - c0), xrow + a, (e - a) * sizeof(floating))
        for q in range((e - c0 if e > a else a - c0), n + kw - 1):
            s[q] = fv
        rows[r] = s
    if nr == R and R > 1:
        # the blocked form (faster than the banded one at every width measured)
        _rows(level, rows, kh, vb, kw, o, Wo, n)
        return
    band = tb != NULL
    if band:
        for r in range(<int>nr + kh - 1):
            if not _finite(level, rows[r], n + kw - 1):
                band = False
                break
    for r in range(<int>nr):
        if band:
            _rowb(level, rows + r, kh, vb, tb, kw, o + r * Wo, n)
        else:
            _row(level, rows + r, kh, vb, kw, o + r * Wo, n)


def fir(const floating[:, :, ::1] x, const floating[:, ::1] v, const floating[:, :, ::1] tab,
        floating[:, :, ::1] out, Py_ssize_t lo_h, Py_ssize_t lo_w, double fill,
        Py_ssize_t chunk, int level, int blocked=-1, int nthreads=1):
    """out[b, i, j] = sum_{r, t} pad(x)[b, i + r, j + t] * v[r, t] (see the module).

    ``tab``: None, or the band table of ``v`` for this level (shape (kh, kw + L - 1,
    L), L = lanes(level, itemsize)): chunks whose samples are all finite then run
    in the banded form (the same values, faster for longer kernels).  ``blocked``
    (1; 0: no; -1: where ``blk_pays``): work items of ``blk_rows()`` output rows, which
    run in the blocked form (the same
    values again; each input vector loaded once for all the rows of the block that
    read it); the items of fewer rows (the last rows of a plane) run row by row.
    ``nthreads``: the team (the values do not depend on it)."""
    cdef Py_ssize_t B = x.shape[0], H = x.shape[1], W = x.shape[2]
    cdef int kh = <int>v.shape[0], kw = <int>v.shape[1]
    cdef Py_ssize_t Ho = out.shape[1], Wo = out.shape[2]
    if B == 0 or Ho == 0 or Wo == 0:
        return
    if chunk < 1:
        chunk = 1
    if blocked < 0:
        blocked = fcsf_blk_pays(level, sizeof(floating))
    cdef int R = FCSF_R if blocked else 1
    cdef int nin = R + kh - 1           # input rows of a work item
    cdef Py_ssize_t nch = (Wo + chunk - 1) // chunk
    cdef Py_ssize_t nrb = (Ho + R - 1) // R
    cdef Py_ssize_t items = B * nrb * nch
    # a thread takes a whole block of rows at a time (every chunk of it) where there
    # are enough blocks to balance the threads, else chunk by chunk (a few long rows)
    cdef Py_ssize_t grab = nch if B * nrb >= 64 else 1
    cdef Py_ssize_t span = chunk + kw - 1
    cdef floating fv = <floating>fill
    cdef const floating *xb = &x[0, 0, 0]
    cdef const floating *vb = &v[0, 0]
    cdef floating *ob = &out[0, 0, 0]
    cdef const floating *tb = NULL
    if tab is not None:
        tb = &tab[0, 0, 0]
    cdef floating *fillrow = <floating *>malloc(span * sizeof(floating))
    if fillrow == NULL:
        raise MemoryError("fastconv.signal: no memory for a row of the fill value")
    cdef Py_ssize_t q
    for q in range(span):
        fillrow[q] = fv
    cdef Py_ssize_t it, b, i, c, j0, n, c0, nr, jl, jr
    cdef floating *o
    cdef bint ok
    cdef int fail[1]
    fail[0] = 0
    cdef const floating **rows
    cdef floating *scratch
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        rows = <const floating **>malloc(nin * sizeof(floating *))
        scratch = <floating *>malloc(nin * span * sizeof(floating))
        ok = rows != NULL and scratch != NULL
        for it in prange(items, schedule='dynamic', chunksize=grab):
            if not ok:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            c = it % nch
            i = ((it // nch) % nrb) * R       # first output row of the item
            b = it // (nch * nrb)
            nr = Ho - i if Ho - i < R else R
            j0 = c * chunk
            n = Wo - j0 if Wo - j0 < chunk else chunk
            c0 = j0 - lo_w               # first input column this chunk reads
            o = ob + (b * Ho + i) * Wo + j0
            # outputs [jl, jr) read inside the input rows; a chunk at an end runs its
            # outputs before jl and from jr on (at least a vector of them each, so
            # they stay in the vector loops) from a padded copy, the rest in place
            jl = -c0 if c0 < 0 else 0
            jr = W - kw + 1 - c0 if W - kw + 1 - c0 < n else n
            if jl >= jr:
                _segment(level, xb + b * H * W, H, W, i, nr, lo_h, kh, kw, c0, n, fillrow, fv,
                         scratch, span, rows, vb, tb, R, o, Wo)
                continue
            if jl > 0:
                jl = jl if jl > 16 else 16
                jl = jl if jl < n else n
            if jr < n:
                jr = jr if jr < n - 16 else n - 16
            if jr < jl:
                jr = jl
            if jl > 0:
                _segment(level, xb + b * H * W, H, W, i, nr, lo_h, kh, kw, c0, jl, fillrow,
                         fv, scratch, span, rows, vb, tb, R, o, Wo)
            if jr > jl:
                _segment(level, xb + b * H * W, H, W, i, nr, lo_h, kh, kw, c0 + jl, jr - jl,
                         fillrow, fv, scratch, span, rows, vb, tb, R, o + jl, Wo)
            if n > jr:
                _segment(level, xb + b * H * W, H, W, i, nr, lo_h, kh, kw, c0 + jr, n - jr,
                         fillrow, fv, scratch, span, rows, vb, tb, R, o + jr, Wo)
        free(scratch)
        free(<void *>rows)
    free(fillrow)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("fastconv.signal: no memory for a thread's row buffers")
