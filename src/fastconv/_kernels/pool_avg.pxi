# Mean pooling: forward and backward.
# Included by _conv_kernels.pyx after pool_common.pxi and pool_max.pxi (_window_rows).

# ---------------------------------------------------------------- mean forward

cdef void _avg_plane(const floating *xp, floating *yp, accum *acc, accum *div, const fc_geom *g,
                     const Py_ssize_t *tlo, const Py_ssize_t *thi, const int64_t *fd,
                     const int64_t *fh, const int64_t *fw, int64_t divisor) noexcept nogil:
    """``acc`` and ``div``: scratch rows of oW (acc unused when accum is floating:
    the sum goes straight into the output row)."""
    cdef Py_ssize_t od, oh, a, b, j, i, iz, ih, W = g.in_[2], oW = g.out[2]
    cdef int64_t f, last = -1
    cdef floating *yr
    cdef accum *ar
    cdef const floating *xr
    for od in range(g.out[0]):
        for oh in range(g.out[1]):
            yr = yp + (od * g.out[1] + oh) * oW
            if accum is floating:
                ar = <accum *>yr
            else:
                ar = acc
            for i in range(oW):
                ar[i] = 0
            for a in range(g.k[0]):
                iz = od * g.stride[0] - g.lo[0] + a
                if iz < 0 or iz >= g.in_[0]:
                    continue
                for b in range(g.k[1]):
                    ih = oh * g.stride[1] - g.lo[1] + b
                    if ih < 0 or ih >= g.in_[1]:
                        continue
                    xr = xp + (iz * g.in_[1] + ih) * W
                    for j in range(g.k[2]):
                        _sum_tap(xr, ar, g.stride[2], j - g.lo[2], tlo[j], thi[j])
            if divisor > 0:
                for i in range(oW):
                    yr[i] = <floating>(ar[i] / <accum>divisor)
            else:
                f = fd[od] * fh[oh]
                if f != last:
                    for i in range(oW):
                        div[i] = <accum>(f * fw[i])
                    last = f
                for i in range(oW):
                    yr[i] = <floating>(ar[i] / div[i])


cdef void _avg_plane_rows(const float *xp, float *yp, float *div, const fc_geom *g,
                          const int64_t *fd, const int64_t *fh, const int64_t *fw,
                          int64_t divisor) noexcept nogil:
    """float32 sums in float32 (small windows), stride 1 or 2 along W: one call of
    the table's row kernel per output row; ``div``: scratch row of oW divisors."""
    cdef const float *rows[MAX_ROWS]
    cdef int64_t rbase[MAX_ROWS]
    cdef Py_ssize_t od, oh, i, oW = g.out[2]
    cdef int64_t f, last = -1
    cdef int nr
    if divisor > 0:
        for i in range(oW):
            div[i] = <float>divisor
    for od in range(g.out[0]):
        for oh in range(g.out[1]):
            if divisor <= 0:
                f = fd[od] * fh[oh]
                if f != last:
                    for i in range(oW):
                        div[i] = <float>(f * fw[i])
                    last = f
            nr = _window_rows(xp, g, od, oh, rows, rbase)
            fc_active.pool_avg_row_f32(rows, nr, yp + (od * g.out[1] + oh) * oW, div,
                                       g.in_[2], oW, <int>g.k[2], <int>g.stride[2],
                                       <int>g.lo[2])


cdef inline void _avg_one(const floating *xp, floating *yp, double *dbuf, const fc_geom *g,
                          const Py_ssize_t *tlo, const Py_ssize_t *thi, const int64_t *fd,
                          const int64_t *fh, const int64_t *fw, int64_t divisor, bint simd,
                          bint wide) noexcept nogil:
    """One plane; ``dbuf``: scratch of 2 oW doubles."""
    cdef Py_ssize_t oW = g.out[2]
    cdef floating *fbuf = <floating *>dbuf
    if simd:
        if floating is float:
            _avg_plane_rows(xp, yp, <float *>dbuf, g, fd, fh, fw, divisor)
    elif wide:
        _avg_plane(xp, yp, dbuf, dbuf + oW, g, tlo, thi, fd, fh, fw, divisor)
    else:
        _avg_plane(xp, yp, fbuf, fbuf + oW, g, tlo, thi, fd, fh, fw, divisor)


cdef int _avg_planes_serial(const floating *x, floating *y, Py_ssize_t planes,
                            const fc_geom *g, const Py_ssize_t *tlo, const Py_ssize_t *thi,
                            const int64_t *fd, const int64_t *fh, const int64_t *fw,
                            int64_t divisor, bint simd, bint wide) noexcept nogil:
    """_avg_planes on the calling thread; a short output row's scratch on the stack
    (a tiny call saves the malloc)."""
    cdef Py_ssize_t pin = g.in_[0] * g.in_[1] * g.in_[2]
    cdef Py_ssize_t pout = g.out[0] * g.out[1] * g.out[2]
    cdef Py_ssize_t c, oW = g.out[2]
    cdef double small[512]
    cdef double *dbuf = &small[0] if oW <= 256 else <double *>malloc(2 * oW * sizeof(double))
    if dbuf == NULL:
        return -1
    for c in range(planes):
        _avg_one(x + c * pin, y + c * pout, dbuf, g, tlo, thi, fd, fh, fw, divisor, simd, wide)
    if dbuf != &small[0]:
        free(dbuf)
    return 0


cdef int _avg_planes(const floating *x, floating *y, Py_ssize_t planes, const fc_geom *g,
                     const Py_ssize_t *tlo, const Py_ssize_t *thi, const int64_t *fd,
                     const int64_t *fh, const int64_t *fw, int64_t divisor, bint wide,
                     int num_threads) noexcept nogil:
    """Mean pooling of ``planes`` planes; ``wide``: accumulate float32 in double.
    Returns 0, or -1 if scratch memory could not be allocated.  One thread runs
    the planes in a plain loop (no OpenMP region: see _max_planes)."""
    cdef Py_ssize_t pin = g.in_[0] * g.in_[1] * g.in_[2]
    cdef Py_ssize_t pout = g.out[0] * g.out[1] * g.out[2]
    cdef Py_ssize_t c, oW = g.out[2]
    cdef int failed = 0
    cdef double *dbuf
    cdef bint simd
    if planes == 0 or pout == 0:
        return 0
    wide = wide or floating is double
    simd = not wide and _row_kernel_geometry(g)
    if num_threads <= 1:
        return _avg_planes_serial(x, y, planes, g, tlo, thi, fd, fh, fw, divisor, simd, wide)
    with parallel(num_threads=num_threads):
        dbuf = <double *>malloc(2 * oW * sizeof(double))
        for c in prange(planes, schedule="dynamic", chunksize=4):
            if dbuf == NULL:
                failed += 1
            else:
                _avg_one(x + c * pin, y + c * pout, dbuf, g, tlo, thi, fd, fh, fw, divisor,
                         simd, wide)
        free(dbuf)
    return -1 if failed else 0


# ---------------------------------------------------------------- mean backward

cdef void _avg_grad_plane(const floating *gyp, floating *gp, floating *gbuf, const fc_geom *g,
                          const Py_ssize_t *tlo, const Py_ssize_t *thi, const int64_t *fd,
                          const int64_t *fh, const int64_t *fw,
                          int64_t divisor) noexcept nogil:
    cdef Py_ssize_t od, oh, a, b, j, i, iz, ih, W = g.in_[2], oW = g.out[2]
    cdef int64_t f
    cdef const floating *gyr
    cdef floating *gr
    memset(gp, 0, g.in_[0] * g.in_[1] * W * sizeof(floating))
    for od in range(g.out[0]):
        for oh in range(g.out[1]):
            gyr = gyp + (od * g.out[1] + oh) * oW
            if divisor > 0:
                for i in range(oW):
                    gbuf[i] = gyr[i] / <floating>divisor
            else:
                f = fd[od] * fh[oh]
                for i in range(oW):
                    gbuf[i] = gyr[i] / <floating>(f * fw[i])
            for a in range(g.k[0]):
                iz = od * g.stride[0] - g.lo[0] + a
                if iz < 0 or iz >= g.in_[0]:
                    continue
                for b in range(g.k[1]):
                    ih = oh * g.stride[1] - g.lo[1] + b
                    if ih < 0 or ih >= g.in_[1]:
                        continue
                    gr = gp + (iz * g.in_[1] + ih) * W
                    for j in range(g.k[2]):
                        _scatter_tap(gr, gbuf, g.stride[2], j - g.lo[2], tlo[j], thi[j])


def avg_pool_backward(const floating[::1] gy not None, floating[::1] gx not None,
                      Py_ssize_t planes, tuple geo, const Py_ssize_t[::1] tap_lo not None,
                      const Py_ssize_t[::1] tap_hi not None, const int64_t[::1] fd not None,
                      const int64_t[::1] fh not None, const int64_t[::1] fw not None,
                      int64_t divisor, int num_threads):
    """Gradient of mean pooling; returns 0, or -1 if scratch allocation failed."""
    cdef fc_geom g = _pool_geom(geo)
    cdef Py_ssize_t pin = g.in_[0] * g.in_[1] * g.in_[2]
    cdef Py_ssize_t pout = g.out[0] * g.out[1] * g.out[2]
    cdef Py_ssize_t c, oW = g.out[2]
    cdef int failed = 0
    cdef floating *buf
    if planes == 0 or pin == 0:
        return 0
    with nogil, parallel(num_threads=num_threads):
        buf = <floating *>malloc(oW * sizeof(floating) + 1)
        for c in prange(planes, schedule="dynamic", chunksize=4):
            if buf == NULL:
                failed += 1
            else:
                _avg_grad_plane(&gy[0] + c * pout, &gx[0] + c * pin, buf, &g, &tap_lo[0],
                                &tap_hi[0], &fd[0], &fh[0], &fw[0], divisor)
        free(buf)
    return -1 if failed else 0
