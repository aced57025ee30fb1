"""Typed Cython kernels of max and mean pooling, forward and backward.

Every array is a flat C-contiguous buffer of ``planes`` (n, c) planes; the
spatial axes are promoted to three (D, H, W) with leading size-1 axes.  The
public layer (pool.py) has checked every argument and computed the per-axis
window tables; the kernels trust them and never raise.

One OpenMP loop over planes per call (dynamic schedule, so that a thread that
the OS does not run at once holds no share back).  A plane is processed by one
thread in a fixed order, so results are bit-identical for any number of threads
and any schedule.  Within a plane the work goes row by row: for each output row the
valid input rows are visited in order and, for each tap ``j`` of the window
along W, one tight loop over the output columns folds that tap in.  Each output
therefore sees its taps in row-major window order, exactly like PyTorch's
scalar loops (same first-maximum / NaN rules, same float summation order).

Float32 planes with unit dilation and stride 1 or 2 along W go instead, one
output row per call, to the AVX-512 / AVX2 row kernels of fc_pool_simd.h
(``level`` argument), which keep the window order per output and so give the
same bits, with the window's running maximum / sum held in registers.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport int32_t, int64_t
from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from fastconv._fc cimport fc_geom

cdef extern from "fc_pool_simd.h" nogil:
    int fc_pool_simd_levels()
    void fc_pool_max_row_f32(int level, const float **rows, const int64_t *rbase, int nrows,
                             float *y, int64_t *ind, Py_ssize_t W, Py_ssize_t oW, int k, int s,
                             int p)
    void fc_pool_avg_row_f32(int level, const float **rows, int nrows, float *y,
                             const float *div, Py_ssize_t W, Py_ssize_t oW, int k, int s, int p)

# rows of one window that the SIMD row kernels take at most (k_D * k_H)
cdef enum:
    MAX_ROWS = 64


def simd_levels():
    """2 if the AVX-512 and AVX2 row kernels were compiled in, else 0."""
    return fc_pool_simd_levels()


ctypedef fused accum:
    float
    double


cdef fc_geom _geom(tuple geo):
    """geo = (in, out, kernel, stride, padding, dilation), each a 3-tuple, into the
    conv kernels' fc_geom (lo = the padding before each axis; fields that pooling
    does not read are zero)."""
    cdef fc_geom g
    memset(&g, 0, sizeof(g))
    cdef int a
    g.C = 1
    for a in range(3):
        g.in_[a] = geo[0][a]
        g.out[a] = geo[1][a]
        g.k[a] = geo[2][a]
        g.stride[a] = geo[3][a]
        g.lo[a] = geo[4][a]
        g.dilation[a] = geo[5][a]
    return g


# ---------------------------------------------------------------- one row, one tap
# ``xr`` is an input row, ``off = j * dW - pW`` the tap's shift; the loops run over
# the output columns [lo, hi) for which the tap lies inside the row.

cdef inline void _max_tap(const floating *xr, floating *acc, Py_ssize_t s, Py_ssize_t off,
                          Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating v, a
    cdef bint take
    if s == 1:
        for i in range(lo, hi):
            v = xr[i + off]
            a = acc[i]
            take = (v > a) | (v != v)
            acc[i] = v if take else a
    elif s == 2:
        for i in range(lo, hi):
            v = xr[2 * i + off]
            a = acc[i]
            take = (v > a) | (v != v)
            acc[i] = v if take else a
    else:
        for i in range(lo, hi):
            v = xr[s * i + off]
            a = acc[i]
            take = (v > a) | (v != v)
            acc[i] = v if take else a


cdef inline void _max_tap_idx(const floating *xr, floating *acc, int64_t *mi, int64_t base,
                              Py_ssize_t s, Py_ssize_t off, Py_ssize_t lo,
                              Py_ssize_t hi) noexcept nogil:
    """As _max_tap, also recording the flat in-plane index ``base + s * i + off``."""
    cdef Py_ssize_t i
    cdef floating v, a
    cdef bint take
    cdef int64_t t
    for i in range(lo, hi):
        v = xr[s * i + off]
        a = acc[i]
        t = mi[i]
        take = (v > a) | (v != v)
        acc[i] = v if take else a
        mi[i] = (base + s * i + off) if take else t


cdef inline void _sum_tap(const floating *xr, accum *acc, Py_ssize_t s, Py_ssize_t off,
                          Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i
    if s == 1:
        for i in range(lo, hi):
            acc[i] += xr[i + off]
    elif s == 2:
        for i in range(lo, hi):
            acc[i] += xr[2 * i + off]
    else:
        for i in range(lo, hi):
            acc[i] += xr[s * i + off]


cdef inline void _scatter_tap(floating *gr, const floating *g, Py_ssize_t s, Py_ssize_t off,
                              Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i
    if s == 1:
        for i in range(lo, hi):
            gr[i + off] += g[i]
    else:
        for i in range(lo, hi):
            gr[s * i + off] += g[i]


# The kernels, one file per job (textual includes of this one extension).
include "_kernels/pool_max.pxi"
include "_kernels/pool_avg.pxi"
