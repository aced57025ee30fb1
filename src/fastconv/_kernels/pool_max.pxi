# Max pooling: forward (with or without argmax indices) and backward.
# Included by _conv_kernels.pyx after pool_common.pxi (its tap helpers and geometry).

# ---------------------------------------------------------------- max forward

cdef inline void _max_k2s2_row(const floating *r0, const floating *r1, floating *y,
                               Py_ssize_t n) noexcept nogil:
    """2x2 stride-2 window, no padding: the four taps in row-major order."""
    cdef Py_ssize_t i
    cdef floating m, v
    cdef bint take
    for i in range(n):
        m = r0[2 * i]
        v = r0[2 * i + 1]
        take = (v > m) | (v != v)
        m = v if take else m
        v = r1[2 * i]
        take = (v > m) | (v != v)
        m = v if take else m
        v = r1[2 * i + 1]
        take = (v > m) | (v != v)
        m = v if take else m
        y[i] = m


cdef inline void _max_k2s2_idx_row(const floating *r0, const floating *r1, floating *y,
                                   int64_t *ind, int64_t base, Py_ssize_t W,
                                   Py_ssize_t n) noexcept nogil:
    """2x2 stride-2 window, no padding, with argmax (offset ``base`` of row r0).

    The argmax's offset in the window (0, 1, W, W + 1; the caller ensures
    W < 2**30) is selected in an integer of the data's width so that gcc
    vectorises the loop; a second loop widens it."""
    cdef int32_t w32 = <int32_t>W
    cdef Py_ssize_t i, c0, m_
    cdef floating m, v
    cdef int32_t kf
    cdef int64_t kd
    cdef int32_t kb32[256]
    cdef int64_t kb64[256]
    cdef bint take
    for c0 in range(0, n, 256):
        m_ = min(256, n - c0)
        for i in range(m_):
            m = r0[2 * (c0 + i)]
            v = r0[2 * (c0 + i) + 1]
            take = (v > m) | (v != v)
            m = v if take else m
            if floating is float:
                kf = 1 if take else 0
            else:
                kd = 1 if take else 0
            v = r1[2 * (c0 + i)]
            take = (v > m) | (v != v)
            m = v if take else m
            if floating is float:
                kf = w32 if take else kf
            else:
                kd = W if take else kd
            v = r1[2 * (c0 + i) + 1]
            take = (v > m) | (v != v)
            m = v if take else m
            y[c0 + i] = m
            if floating is float:
                kb32[i] = (w32 + 1) if take else kf
            else:
                kb64[i] = (W + 1) if take else kd
        for i in range(m_):
            if floating is float:
                ind[c0 + i] = base + 2 * (c0 + i) + <int64_t>kb32[i]
            else:
                ind[c0 + i] = base + 2 * (c0 + i) + kb64[i]


cdef void _max_plane(const floating *xp, floating *yp, int64_t *ip, const fc_geom *g,
                     const Py_ssize_t *tlo, const Py_ssize_t *thi,
                     const Py_ssize_t *first_w) noexcept nogil:
    cdef Py_ssize_t od, oh, a, b, j, i, iz, ih, W = g.in_[2], oW = g.out[2]
    cdef Py_ssize_t off
    cdef floating *yr
    cdef int64_t *ir = NULL
    cdef int64_t base
    cdef const floating *xr
    cdef bint fresh
    cdef floating ninf = -INFINITY
    for od in range(g.out[0]):
        for oh in range(g.out[1]):
            yr = yp + (od * g.out[1] + oh) * oW
            if ip != NULL:
                ir = ip + (od * g.out[1] + oh) * oW
            for i in range(oW):
                yr[i] = ninf
            fresh = True
            for a in range(g.k[0]):
                iz = od * g.stride[0] - g.lo[0] + a * g.dilation[0]
                if iz < 0 or iz >= g.in_[0]:
                    continue
                for b in range(g.k[1]):
                    ih = oh * g.stride[1] - g.lo[1] + b * g.dilation[1]
                    if ih < 0 or ih >= g.in_[1]:
                        continue
                    base = (iz * g.in_[1] + ih) * W
                    xr = xp + base
                    if ir != NULL:
                        if fresh:
                            # PyTorch: the index starts at the first valid tap
                            for i in range(oW):
                                ir[i] = base + first_w[i]
                        for j in range(g.k[2]):
                            off = j * g.dilation[2] - g.lo[2]
                            _max_tap_idx(xr, yr, ir, base, g.stride[2], off, tlo[j], thi[j])
                    else:
                        for j in range(g.k[2]):
                            off = j * g.dilation[2] - g.lo[2]
                            _max_tap(xr, yr, g.stride[2], off, tlo[j], thi[j])
                    fresh = False


cdef void _max_plane_k2s2(const floating *xp, floating *yp, int64_t *ip,
                          const fc_geom *g) noexcept nogil:
    """Planes of 2-d 2x2 stride-2 unpadded windows (depth: 1x1x1 windows)."""
    cdef Py_ssize_t od, oh, o, W = g.in_[2], H = g.in_[1], oW = g.out[2]
    cdef Py_ssize_t base
    for od in range(g.out[0]):
        for oh in range(g.out[1]):
            base = (od * g.stride[0] * H + 2 * oh) * W
            o = (od * g.out[1] + oh) * oW
            if ip != NULL:
                _max_k2s2_idx_row(xp + base, xp + base + W, yp + o, ip + o, base, W, oW)
            else:
                _max_k2s2_row(xp + base, xp + base + W, yp + o, oW)


cdef inline int _window_rows(const float *xp, const fc_geom *g, Py_ssize_t od, Py_ssize_t oh,
                             const float **rows, int64_t *rbase) noexcept nogil:
    """The input rows of window (od, oh) inside the input, in window order."""
    cdef Py_ssize_t a, b, iz, ih
    cdef int nr = 0
    for a in range(g.k[0]):
        iz = od * g.stride[0] - g.lo[0] + a * g.dilation[0]
        if iz < 0 or iz >= g.in_[0]:
            continue
        for b in range(g.k[1]):
            ih = oh * g.stride[1] - g.lo[1] + b * g.dilation[1]
            if ih < 0 or ih >= g.in_[1]:
                continue
            rbase[nr] = (iz * g.in_[1] + ih) * g.in_[2]
            rows[nr] = xp + rbase[nr]
            nr += 1
    return nr


cdef void _max_plane_rows(const float *xp, float *yp, int64_t *ip,
                          const fc_geom *g) noexcept nogil:
    """float32 planes with unit dilation along W and stride 1 or 2 along W: one
    call of the table's row kernel per output row (fc_pool_template.h)."""
    cdef const float *rows[MAX_ROWS]
    cdef int64_t rbase[MAX_ROWS]
    cdef Py_ssize_t od, oh, o, oW = g.out[2]
    cdef int nr
    for od in range(g.out[0]):
        for oh in range(g.out[1]):
            nr = _window_rows(xp, g, od, oh, rows, rbase)
            o = (od * g.out[1] + oh) * oW
            fc_active.pool_max_row_f32(rows, rbase, nr, yp + o,
                                       ip + o if ip != NULL else NULL, g.in_[2], oW,
                                       <int>g.k[2], <int>g.stride[2], <int>g.lo[2])


cdef bint _row_kernel_geometry(const fc_geom *g) noexcept nogil:
    """Whether the row kernels take this geometry (float32 callers only) and the
    instruction set in use has vector ones (the generic table's loops are the
    drivers' own, see _pool_rows)."""
    return (_pool_rows() and g.dilation[2] == 1 and (g.stride[2] == 1 or g.stride[2] == 2)
            and g.k[0] * g.k[1] <= MAX_ROWS and g.k[2] <= 4096
            and g.in_[0] * g.in_[1] * g.in_[2] < (<Py_ssize_t>1 << 31))


cdef inline void _max_one(const floating *xp, floating *yp, int64_t *ip, const fc_geom *g,
                          const Py_ssize_t *tlo, const Py_ssize_t *thi,
                          const Py_ssize_t *first_w, bint simd, bint k2s2) noexcept nogil:
    if simd:
        if floating is float:
            _max_plane_rows(xp, yp, ip, g)
    elif k2s2:
        _max_plane_k2s2(xp, yp, ip, g)
    else:
        _max_plane(xp, yp, ip, g, tlo, thi, first_w)


cdef void _max_planes(const floating *x, floating *y, int64_t *ip, Py_ssize_t planes,
                      const fc_geom *g, const Py_ssize_t *tlo, const Py_ssize_t *thi,
                      const Py_ssize_t *first_w, int num_threads) noexcept nogil:
    """Max pooling of ``planes`` planes; ``ip``: the argmax indices, or NULL.

    One thread runs the planes in a plain loop: an OpenMP region, even of one
    thread, costs a tiny call a noticeable share of its time."""
    cdef Py_ssize_t pin = g.in_[0] * g.in_[1] * g.in_[2]
    cdef Py_ssize_t pout = g.out[0] * g.out[1] * g.out[2]
    cdef Py_ssize_t c
    cdef bint k2s2 = (g.k[0] == 1 and g.k[1] == 2 and g.k[2] == 2
                      and g.stride[1] == 2 and g.stride[2] == 2 and g.lo[1] == 0 and g.lo[2] == 0
                      and g.lo[0] == 0 and g.dilation[1] == 1 and g.dilation[2] == 1
                      and 2 * g.out[1] <= g.in_[1] and 2 * g.out[2] <= g.in_[2]   # ceil_mode
                      and g.in_[2] < (1 << 30))
    # value-only 2x2 stride-2 pooling: the plain k2s2 loop was measured ~10% faster
    # than the SIMD row kernel (both bound by memory); with indices the latter wins
    cdef bint simd = (floating is float and _row_kernel_geometry(g)
                      and not (k2s2 and ip == NULL))
    if planes == 0 or pout == 0:
        return
    if num_threads <= 1:
        for c in range(planes):
            _max_one(x + c * pin, y + c * pout, ip + c * pout if ip != NULL else NULL, g,
                     tlo, thi, first_w, simd, k2s2)
        return
    with parallel(num_threads=num_threads):
        for c in prange(planes, schedule="dynamic", chunksize=4):
            _max_one(x + c * pin, y + c * pout, ip + c * pout if ip != NULL else NULL, g,
                     tlo, thi, first_w, simd, k2s2)


# ---------------------------------------------------------------- max backward

def max_pool_backward(const floating[::1] gy not None, const int64_t[::1] indices not None,
                      floating[::1] gx not None, Py_ssize_t planes, Py_ssize_t pin,
                      Py_ssize_t pout, int num_threads):
    """Zero each plane of ``gx``, then scatter-add ``gy`` to ``gx[indices]``; returns
    the number of indices outside ``[0, pin)`` (skipped)."""
    cdef Py_ssize_t c, i
    cdef int64_t t
    cdef Py_ssize_t bad = 0
    cdef floating *gp
    cdef const floating *gyp
    cdef const int64_t *ip
    if planes == 0 or pin == 0:
        return 0
    with nogil, parallel(num_threads=num_threads):
        for c in prange(planes, schedule="dynamic", chunksize=4):
            gp = &gx[0] + c * pin
            memset(gp, 0, pin * sizeof(floating))
            gyp = &gy[0] + c * pout
            ip = &indices[0] + c * pout
            for i in range(pout):
                t = ip[i]
                if 0 <= t < pin:
                    gp[t] += gyp[i]
                else:
                    bad += 1
    return bad
