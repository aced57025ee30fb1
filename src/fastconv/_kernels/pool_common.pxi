# Pooling drivers' shared parts: the plan's geometry as an fc_geom and the
# one-tap row loops of the scalar paths.  Included by _conv_kernels.pyx before
# pool_max.pxi and pool_avg.pxi (one extension: the float32 row kernels are the
# instruction-set table's, fc_active.pool_*_row_f32, so set_isa switches them too).
#
# Every array is a flat C-contiguous buffer of ``planes`` (n, c) planes; the
# spatial axes are promoted to three (D, H, W) with leading size-1 axes.  The
# public layer (pool.py) has checked every argument and computed the per-axis
# window tables; the drivers trust them and never raise.
#
# One OpenMP loop over planes per call (dynamic schedule, so that a thread that
# the OS does not run at once holds no share back).  A plane is processed by one
# thread in a fixed order, so results are bit-identical for any number of threads
# and any schedule.  Within a plane the work goes row by row: for each output row
# the valid input rows are visited in order and, for each tap ``j`` of the window
# along W, one tight loop over the output columns folds that tap in.  Each output
# therefore sees its taps in row-major window order, exactly like PyTorch's
# scalar loops (same first-maximum / NaN rules, same float summation order).
#
# Float32 planes with unit dilation and stride 1 or 2 along W go instead, one
# output row per call, to the table's row kernels (fc_pool_template.h, one
# vector-extension template compiled per instruction set), which keep the window
# order per output and so give the same bits, with the window's running maximum
# / sum held in registers.

# rows of one window that the row kernels take at most (k_D * k_H)
cdef enum:
    MAX_ROWS = 64


ctypedef fused accum:
    float
    double


cdef inline bint _pool_rows() noexcept nogil:
    """Whether float32 rows go to the table's row kernels: for vectors of 8 lanes
    or more (AVX2, AVX-512).  The generic table's (4 lanes) were measured slower
    than the auto-vectorised loops below on most shapes (docs/performance.md), so
    it keeps them."""
    return fc_active.vl_f32 >= 8


cdef fc_geom _pool_geom(tuple geo):
    """Pooling's geo = (in, out, kernel, stride, padding, dilation), each a 3-tuple,
    as the conv drivers' fc_geom (lo = the padding before each axis, one channel)."""
    return _geom(1, (geo[0], geo[2], geo[1], (geo[3], geo[5], geo[4]), 0))


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
