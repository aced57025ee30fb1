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


cdef extern from "fc_ndfilter.h" nogil:
    int fcnd_simd_levels()
    void fcnd_corr_f(int level, const float **rows, const float *w, int K, int sym,
                     float *out, Py_ssize_t n)
    void fcnd_corr_d(int level, const double **rows, const double *w, int K, int sym,
                     double *out, Py_ssize_t n)
    void fcnd_minmax_f(int level, const float **rows, int K, int is_min, float *out,
                       Py_ssize_t n)
    void fcnd_minmax_d(int level, const double **rows, int K, int is_min, double *out,
                       Py_ssize_t n)
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
    # lines of one uniform_filter1d panel along the contiguous axis
    PANEL = 16


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
        if floating is float:
            fcnd_minmax_f(level, rows, K, op == OP_MIN, out, n)
        else:
            fcnd_minmax_d(level, rows, K, op == OP_MIN, out, n)


cdef inline void _uniform(int level, const floating **rows, Py_ssize_t n, int size,
                          floating *out, Py_ssize_t ostride, Py_ssize_t ncols) noexcept nogil:
    if floating is float:
        fcnd_uniform_f(level, rows, n, size, out, ostride, ncols)
    else:
        fcnd_uniform_d(level, rows, n, size, out, ostride, ncols)


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


cdef inline void _ring_fill(floating *slot, const floating *base, Py_ssize_t s,
                           Py_ssize_t inner, Py_ssize_t nb, floating cv) noexcept nogil:
    cdef Py_ssize_t j
    if s < 0:
        for j in range(nb):
            slot[j] = cv
    else:
        memcpy(slot, base + s * inner, nb * sizeof(floating))


def pass1d(const floating[:, :, ::1] x, floating[:, :, ::1] out, floating[::1] w, int sym,
           const Py_ssize_t[::1] emap, Py_ssize_t lo, double cval, int op, int size, int level):
    """One 1-D pass along the middle axis of x (outer, n, inner) into out.

    op: 0 correlation with weights ``w`` (``sym``: 0 general, 1 symmetric,
    -1 antisymmetric), 1 minimum, 2 maximum, 3 uniform (running sum); ``size``
    is the window length (len(w) for a correlation).
    """
    cdef Py_ssize_t outer = x.shape[0], n = x.shape[1], inner = x.shape[2]
    cdef Py_ssize_t E = emap.shape[0]
    cdef int K = size
    cdef floating cv = <floating>cval
    cdef const floating *wp = &w[0] if w.shape[0] > 0 else NULL
    cdef const floating *xb = &x[0, 0, 0]
    cdef floating *ob = &out[0, 0, 0]
    cdef Py_ssize_t it, o, i, j0, nb, k, m, s, g, ng, CB, nblk, items, ngroups, k0, m0
    cdef floating *buf
    cdef floating *obuf
    cdef floating *cvrow
    cdef floating *ring
    cdef const floating **rows
    cdef const floating *base
    if outer == 0 or n == 0 or inner == 0:
        return
    if inner == 1 and op != OP_UNIFORM:
        with nogil, parallel():
            buf = <floating *>malloc(E * sizeof(floating))
            rows = <const floating **>malloc(K * sizeof(floating *))
            for k0 in range(K):
                rows[k0] = buf + k0
            for o in prange(outer, schedule='dynamic', chunksize=16):
                _pad_line(xb + o * n, buf, &emap[0], E, lo, n, cv)
                _rows_op(level, op, rows, wp, K, sym, ob + o * n, n)
            free(<void *>rows)
            free(buf)
    elif inner == 1:
        # uniform along the contiguous axis: PANEL lines side by side
        ngroups = (outer + PANEL - 1) // PANEL
        with nogil, parallel():
            buf = <floating *>malloc(E * PANEL * sizeof(floating))
            obuf = <floating *>malloc(n * PANEL * sizeof(floating))
            rows = <const floating **>malloc(E * sizeof(floating *))
            for m0 in range(E):
                rows[m0] = buf + m0 * PANEL
            for it in prange(ngroups, schedule='dynamic'):
                o = it * PANEL
                ng = PANEL if outer - o > PANEL else outer - o
                for g in range(ng):
                    base = xb + (o + g) * n
                    for m in range(E):
                        s = emap[m]
                        buf[m * PANEL + g] = cv if s < 0 else base[s]
                _uniform(level, rows, n, K, obuf, PANEL, ng)
                for g in range(ng):
                    for i in range(n):
                        ob[(o + g) * n + i] = obuf[i * PANEL + g]
            free(<void *>rows)
            free(obuf)
            free(buf)
    else:
        # rows of a column block: K of them must fit the L1 cache together
        CB = 16384 // (sizeof(floating) * (K if K < 256 else 256))
        CB = (CB // 64) * 64
        if CB < 64:
            CB = 64
        if op == OP_UNIFORM:
            CB = 64
        if CB > inner:
            CB = inner
        nblk = (inner + CB - 1) // CB
        items = outer * nblk
        cvrow = <floating *>malloc(CB * sizeof(floating))
        for k in range(CB):
            cvrow[k] = cv
        with nogil, parallel():
            rows = <const floating **>malloc(E * sizeof(floating *))
            # the K rows of one output, copied into a ring of K slots: source rows
            # lie a multiple of 4 KiB apart in wide images, which would put them
            # all in the same L1 sets
            ring = <floating *>malloc(K * CB * sizeof(floating))
            for it in prange(items, schedule='dynamic'):
                o = it // nblk
                j0 = (it % nblk) * CB
                nb = CB if inner - j0 > CB else inner - j0
                base = xb + o * n * inner + j0
                if op == OP_UNIFORM:
                    for m in range(E):
                        s = emap[m]
                        if s < 0:
                            rows[m] = cvrow
                        else:
                            rows[m] = base + s * inner
                    _uniform(level, rows, n, K, ob + o * n * inner + j0, inner, nb)
                else:
                    for m in range(K - 1):
                        _ring_fill(ring + (m % K) * CB, base, emap[m], inner, nb, cv)
                    for i in range(n):
                        m = i + K - 1
                        _ring_fill(ring + (m % K) * CB, base, emap[m], inner, nb, cv)
                        for k in range(K):
                            rows[k] = ring + ((i + k) % K) * CB
                        _rows_op(level, op, rows, wp, K, sym, ob + (o * n + i) * inner + j0, nb)
            free(ring)
            free(<void *>rows)
        free(cvrow)


def filternd(const floating[:, ::1] x, floating[:, ::1] out, floating[::1] w,
             const Py_ssize_t[:, ::1] tapc, const Py_ssize_t[::1] tapl,
             const Py_ssize_t[::1] dims, const Py_ssize_t[::1] maps,
             const Py_ssize_t[::1] mapoff, const Py_ssize_t[::1] lastmap, Py_ssize_t lo,
             double cval, int op, int level):
    """N-d correlation (op 0) or minimum/maximum (op 1/2) over a footprint.

    x, out: (R, W), R the product of ``dims`` (the leading axes). Tap t sits at
    leading coordinates tapc[t] and last coordinate tapl[t]; maps[mapoff[a]:]
    is the boundary table of leading axis a, ``lastmap`` that of the last axis
    (``lo`` of its entries lie before the first element).
    """
    cdef Py_ssize_t R = x.shape[0], W = x.shape[1], T = tapl.shape[0]
    cdef int nd = dims.shape[0]
    cdef Py_ssize_t We = lastmap.shape[0]
    cdef floating cv = <floating>cval
    cdef const floating *wp = &w[0] if w.shape[0] > 0 else NULL
    cdef const floating *xb
    cdef floating *ob
    cdef floating *ext
    cdef Py_ssize_t r, m, t, a, q, srow, mm
    cdef Py_ssize_t *coord
    cdef Py_ssize_t *rstride
    cdef const floating **rows
    if R == 0 or W == 0 or T == 0:
        return
    xb = &x[0, 0]
    ob = &out[0, 0]
    rstride = <Py_ssize_t *>malloc((nd + 1) * sizeof(Py_ssize_t))
    ext = <floating *>malloc((R + 1) * We * sizeof(floating))
    rstride[nd] = 1
    for a in range(nd - 1, -1, -1):
        rstride[a] = rstride[a + 1] * dims[a]
    for m in range(We):
        ext[R * We + m] = cv
    with nogil:
        for r in prange(R, schedule='dynamic', chunksize=16):
            _pad_line(xb + r * W, ext + r * We, &lastmap[0], We, lo, W, cv)
        with parallel():
            rows = <const floating **>malloc(T * sizeof(floating *))
            coord = <Py_ssize_t *>malloc((nd + 1) * sizeof(Py_ssize_t))
            for r in prange(R, schedule='dynamic', chunksize=4):
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
                    rows[t] = ext + srow * We + tapl[t]
                _rows_op(level, op, rows, wp, <int>T, 2, ob + r * W, W)
            free(coord)
            free(<void *>rows)
    free(ext)
    free(rstride)
