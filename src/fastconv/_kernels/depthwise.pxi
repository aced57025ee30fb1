# Depthwise drivers (one input channel per group): forward, input and weight
# gradients through the dw_* kernels.
# Included by _conv_kernels.pyx (one extension: the C kernels are linked once).

# ---------------------------------------------------------------- depthwise (C_in/groups == 1)

cdef bint _dw3_applies(const fc_geom *geom, double padval):
    """A 2-D 3x3 layer at stride 1 or 2, dilation 1, padded with zeros, one
    element before each axis (any number after): dw_forward3 reads its planes
    in place.  Zero means +0.0: a pad of -0.0 would change the sign of some
    zero sums."""
    cdef int a
    if geom.in_[0] != 1 or geom.k[0] != 1 or not (padval == 0 and copysign(1.0, padval) > 0):
        return False
    for a in (1, 2):
        if (geom.k[a] != 3 or not 1 <= geom.stride[a] <= 2 or geom.dilation[a] != 1
                or geom.lo[a] != 1 or not _pads_are_constant(geom, a)):
            return False
    return True


# The depthwise forward kernels, as _dw_choice names them
cdef enum:
    _DW_ROWS = 0
    _DW_VGRID = 1
    _DW_INPLACE = 2


cdef int _dw_choice(const fc_geom *geom, double padval, Py_ssize_t itemsize):
    """Which depthwise forward kernel runs (the forced one, else the policy):
    row kernels for rows of at least _DW_WIDE_ROW vectors, the virtual grid for
    narrower ones; dw_forward3 where it applies, at any row width (measured in
    docs/performance.md: 0.24-1.03x the time of the better of the other two,
    except 128-bit vectors at stride 1 along W, 1.03-1.41x: not used there)."""
    cdef int vl = fc_active.vl_f32 if itemsize == 4 else fc_active.vl_f64
    cdef bint wide = (geom.out[2] >= _DW_WIDE_ROW * vl if _depthwise_kernel in ("auto", "inplace")
                      else _depthwise_kernel == "rows")
    if (_dw3_applies(geom, padval)
            and (_depthwise_kernel == "inplace"
                 or _depthwise_kernel == "auto"
                 and (fc_active != &fc_isa_generic or geom.stride[2] == 2))):
        return _DW_INPLACE
    return _DW_ROWS if wide else _DW_VGRID


def depthwise_forward_kernel(tuple geo, double padval, Py_ssize_t itemsize):
    """The kernel depthwise_forward runs for this layer: "inplace" (dw_forward3),
    "rows" or "vgrid" (fastconv.explain)."""
    cdef fc_geom geom = _geom(1, geo)
    return ("rows", "vgrid", "inplace")[_dw_choice(&geom, padval, itemsize)]


# Multiply-adds of one plane above which depthwise_forward's row kernels run it
# in pieces (rows, or segments of a 1-D row), so that Ctrl-C is seen within
# milliseconds, never after a whole plane of a long kernel (seconds)
cdef Py_ssize_t _DW_PIECE_WORK = 1 << 24
# outputs of a 1-D piece: a multiple of every row kernel's chunk of vectors
# (FC_DW_NVMAX vectors of up to 64 bytes), so that each output is computed
# by the same chunk shape as in one run over the row (the same bits)
cdef Py_ssize_t _DW_SEGMENT = 1024


cdef void _dw_forward_pieces(const floating *pad, const fc_geom *geom, const fc_idx *ko,
                             const floating *w, const floating *bias, Py_ssize_t Mg,
                             floating *y, fc_watch *wp_) noexcept nogil:
    """_dw_forward of one padded plane (split along W only), one output channel
    and a few rows (two at a time from an even row, as in the whole plane), or
    a segment of the one row of a 1-D plane, at a time, the watch before each:
    every output made by the same code as in one call over the plane."""
    cdef Py_ssize_t OD = geom.out[0], OH = geom.out[1], OW = geom.out[2]
    cdef Py_ssize_t Q1 = geom.pext[1], Q2 = geom.pext[2]
    cdef Py_ssize_t taps = geom.k[0] * geom.k[1] * geom.k[2]
    cdef Py_ssize_t rows = max(2, _DW_PIECE_WORK // max(OW * taps, 1)) // 2 * 2
    cdef Py_ssize_t seg = max(1, _DW_PIECE_WORK // max(taps, 1) // _DW_SEGMENT) * _DW_SEGMENT
    cdef Py_ssize_t m, od, h0, w0
    cdef fc_geom sub = geom[0]
    sub.out[0] = 1
    sub.out[1] = 1
    if OD * OH == 1:
        # one row (1-D): segments of it
        for m in range(Mg):
            w0 = 0
            while w0 < OW:
                if fc_watch_poll(wp_):
                    return
                sub.out[2] = min(seg, OW - w0)
                _dw_forward(pad + w0, &sub, ko, w + m * taps, bias + m if bias != NULL else NULL,
                            1, y + m * OW + w0, NULL, 0)
                w0 += seg
        return
    for m in range(Mg):
        for od in range(OD):
            h0 = 0
            while h0 < OH:
                if fc_watch_poll(wp_):
                    return
                sub.out[1] = min(rows, OH - h0)
                _dw_forward(pad + (od * geom.stride[0] * Q1 + h0 * geom.stride[1]) * Q2, &sub,
                            ko, w + m * taps, bias + m if bias != NULL else NULL, 1,
                            y + ((m * OD + od) * OH + h0) * OW, NULL, 0)
                h0 += rows


cdef inline void _dw3_plane(const floating *xp, const fc_geom *geom, const floating *wp,
                            const floating *bp, Py_ssize_t N, Py_ssize_t G, Py_ssize_t Mg,
                            floating *yp, Py_ssize_t it) noexcept nogil:
    """Plane ``it`` of the N*G planes through dw_forward3."""
    cdef Py_ssize_t DHW = geom.in_[0] * geom.in_[1] * geom.in_[2]
    cdef Py_ssize_t P = geom.out[0] * geom.out[1] * geom.out[2]
    cdef Py_ssize_t g = it % G
    # the next plane asked for meanwhile, as in depthwise_forward's other kernels
    _dw_forward3(xp + it * DHW, geom, wp + g * Mg * 9, bp + g * Mg if bp != NULL else NULL, Mg,
                 yp + it * Mg * P, xp + (it + 1) * DHW if it + 1 < N * G else NULL,
                 DHW * sizeof(floating))


cdef void _dw3_planes(const floating *xp, const fc_geom *geom, const floating *wp,
                      const floating *bp, Py_ssize_t N, Py_ssize_t G, Py_ssize_t Mg,
                      floating *yp, int nthreads, fc_watch *wp_) noexcept nogil:
    """dw_forward3 (3x3 taps read in place) over the N*G planes; one thread runs
    them in a plain loop (an OpenMP region costs a tiny call a noticeable share)."""
    cdef Py_ssize_t it
    if nthreads <= 1:
        for it in range(N * G):
            if fc_watch_poll(wp_):
                break
            _dw3_plane(xp, geom, wp, bp, N, G, Mg, yp, it)
        return
    for it in prange(N * G, schedule="static", num_threads=nthreads):
        if fc_watch_poll(wp_):
            continue
        _dw3_plane(xp, geom, wp, bp, N, G, Mg, yp, it)


# Row bands: a plane whose padded copy would be big (mapped from the system, so
# faulted in again on every call, and streamed through memory once more) is padded
# and computed a band of output rows at a time, in a buffer of about this many
# bytes that stays in the cache; and the bands of one plane are split across
# threads when there are fewer planes than threads
cdef Py_ssize_t _DW_BAND_BYTES = 1 << 17
cdef Py_ssize_t _DW_BAND_MIN_PLANE = 1 << 20


cdef bint _dw_bands_apply(const fc_geom *geom) noexcept:
    """Row bands need the taps' offsets to be those of the whole plane: 2-D (or one
    output plane of depth), stride 1 along W (no phase split, whose offsets depend
    on the plane's height) and at least two output rows."""
    return (geom.k[0] == 1 and geom.out[0] == 1 and geom.split[2] == 1
            and geom.split[1] == 1 and geom.out[1] >= 2)


cdef Py_ssize_t _dw_band_rows(const fc_geom *geom, Py_ssize_t taps, Py_ssize_t Mg,
                              Py_ssize_t itemsize) noexcept:
    """Output rows of one band: even (the row kernels pair rows from an even row, as
    over the whole plane), the band's padded rows within _DW_BAND_BYTES, and no more
    multiply-adds than _DW_PIECE_WORK (Ctrl-C is looked for between bands)."""
    cdef Py_ssize_t reach = geom.dilation[1] * (geom.k[1] - 1)
    cdef Py_ssize_t rows = (_DW_BAND_BYTES // max(geom.pext[2] * itemsize, 1) - reach) \
        // geom.stride[1]
    rows = min(rows, _DW_PIECE_WORK // max(geom.out[2] * taps * Mg, 1))
    return max(2, rows // 2 * 2)


cdef Py_ssize_t _dw_band_size(const fc_geom *geom, Py_ssize_t band) noexcept:
    """Elements of a band's padded buffer (its slack included)."""
    cdef Py_ssize_t ext = (band - 1) * geom.stride[1] + geom.dilation[1] * (geom.k[1] - 1) + 1
    return ext * geom.pext[2] + _row_slack(geom) + FC_DW_SLACK


cdef void _dw_forward_band(const floating *x, const fc_geom *geom, const fc_idx *ko,
                           const floating *w, const floating *bias, Py_ssize_t Mg,
                           floating *y, Py_ssize_t h0, Py_ssize_t h1, floating pv,
                           floating *buf) noexcept nogil:
    """Output rows [h0, h1) of one plane (y: its Mg output planes): the band's padded
    rows into buf, then the row kernels over them, one output channel at a time.
    With split[1] == 1 and one depth tap the taps' offsets (koff) are those of the
    whole plane and every output adds the same products in the same order as in one
    run over the plane (rows paired from h0, even): the same bits."""
    cdef fc_geom sub = geom[0]
    cdef Py_ssize_t OW = geom.out[2], P = geom.out[1] * geom.out[2]
    cdef Py_ssize_t taps = geom.k[1] * geom.k[2]
    cdef Py_ssize_t n, i, m
    sub.out[1] = h1 - h0
    sub.lo[1] = geom.lo[1] - h0 * geom.stride[1]
    sub.ext[1] = (h1 - h0 - 1) * geom.stride[1] + geom.dilation[1] * (geom.k[1] - 1) + 1
    sub.pext[1] = sub.ext[1]
    _pad_image(x, &sub, pv, buf)
    # past the band: the shared right padding of its last row, then what the last
    # vectors read beyond (never stored)
    n = sub.ext[1] * sub.pext[2]
    # (_row_slack: split[2] == 1 here)
    for i in range(n, n + sub.ext[2] - sub.pext[2] + FC_DW_SLACK):
        buf[i] = pv
    for m in range(Mg):
        _dw_forward(buf, &sub, ko, w + m * taps, bias + m if bias != NULL else NULL, 1,
                    y + m * P + h0 * OW, NULL, 0)


def depthwise_forward(const floating[::1] x not None, const floating[::1] w not None,
                      const floating[::1] bias not None, floating[::1] y not None, tuple geo,
                      Py_ssize_t N, Py_ssize_t G, Py_ssize_t Mg, double padval, int nthreads):
    """Groups of one input channel: 3x3 layers at stride 1 or 2 padded with zeros
    straight from the planes (dw_forward3); others pad each (n, g) plane, then direct row
    loops (rows of at least _DW_WIDE_ROW vectors) or one run over the plane's
    virtual grid (narrower rows).  x: (N, G, *in), w: (G, Mg, taps),
    y: (N, G*Mg, *out)."""
    cdef fc_geom geom = _geom(1, geo)
    cdef Py_ssize_t taps = geom.k[0] * geom.k[1] * geom.k[2]
    cdef Py_ssize_t P = geom.out[0] * geom.out[1] * geom.out[2]
    cdef Py_ssize_t DHW = geom.in_[0] * geom.in_[1] * geom.in_[2]
    cdef int choice = _dw_choice(&geom, padval, sizeof(floating))
    cdef bint wide = choice == _DW_ROWS
    cdef bint inplace = choice == _DW_INPLACE
    cdef const floating *xp = _cptr(x)
    cdef const floating *wp = _cptr(w)
    cdef floating *yp = _mptr(y)
    cdef const floating *bp = _cptr(bias)
    cdef Py_ssize_t it, g, i
    if N * G == 0 or Mg == 0:
        return
    # Ctrl-C: every plane looks first
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    if inplace:
        with nogil:
            _dw3_planes(xp, &geom, wp, bp, N, G, Mg, yp, nthreads, wp_)
        watch_raise(wp_)
        return
    koff_arr = np.empty(max(taps, 1), dtype=np.intp)
    cdef Py_ssize_t[::1] koff = koff_arr
    cdef const fc_idx *ko = &koff[0]
    # the plane split into stride phases, along W only for the row kernels:
    # every tap of a strided row then reads consecutive elements for
    # consecutive outputs (vectors instead of strided scalar reads:
    # 8x128x112x112 at stride 2, 0.77-0.83x the time at one thread); rows
    # may share their constant right padding with the next row's left
    cdef Py_ssize_t plane = _split_phases(&geom, koff, not wide)
    cdef Py_ssize_t fill = _row_slack(&geom)
    cdef floating pv = <floating>padval
    cdef int failed = 0
    cdef int *failed_p = &failed
    cdef floating *pad
    # a plane of much work (a long 1-D kernel, a big image and kernel) in
    # pieces, the watch between them
    cdef bint pieces = P * taps * Mg > _DW_PIECE_WORK
    cdef Py_ssize_t band, nb, h0, bsize
    if wide and _dw_bands_apply(&geom) and (
            plane * <Py_ssize_t>sizeof(floating) >= _DW_BAND_MIN_PLANE or N * G < nthreads):
        band = _dw_band_rows(&geom, taps, Mg, sizeof(floating))
        nb = (geom.out[1] + band - 1) // band
        bsize = _dw_band_size(&geom, band)
        with nogil, parallel(num_threads=nthreads):
            pad = <floating *>fc_malloc(bsize * sizeof(floating))
            for it in prange(N * G * nb, schedule="static"):
                if pad == NULL:
                    failed_p[0] = 1
                    continue
                if fc_watch_poll(wp_):
                    continue
                i = it // nb
                g = i % G
                h0 = (it % nb) * band
                _dw_forward_band(xp + i * DHW, &geom, ko, wp + g * Mg * taps,
                                 bp + g * Mg if bp != NULL else NULL, Mg, yp + i * Mg * P,
                                 h0, min(h0 + band, geom.out[1]), pv, pad)
            fc_free(pad)
        watch_raise(wp_)
        if failed:
            raise MemoryError("fastconv: could not allocate the depthwise workspace")
        return
    with nogil, parallel(num_threads=nthreads):
        pad = <floating *>fc_malloc((plane + fill + FC_DW_SLACK) * sizeof(floating))
        if pad != NULL:
            # past the plane: the shared right padding of its last row, then
            # what the last vectors read beyond (never stored)
            for i in range(plane, plane + fill + FC_DW_SLACK):
                pad[i] = pv
        for it in prange(N * G, schedule="static"):
            if pad == NULL:
                failed_p[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            g = it % G
            # the next plane of this thread's run, asked for a share per output row:
            # its memory latency overlaps this plane's arithmetic (0.85-0.87x the
            # time of asking for it all at once before the plane, which stalls
            # on the memory system's queue; 1 thread, dw3x3)
            _pad_image(xp + it * DHW, &geom, pv, pad)
            if wide and pieces:
                _dw_forward_pieces(pad, &geom, ko, wp + g * Mg * taps,
                                   bp + g * Mg if bp != NULL else NULL, Mg, yp + it * Mg * P,
                                   wp_)
            elif wide:
                _dw_forward(pad, &geom, ko, wp + g * Mg * taps,
                            bp + g * Mg if bp != NULL else NULL, Mg, yp + it * Mg * P,
                            xp + (it + 1) * DHW if it + 1 < N * G else NULL,
                            DHW * sizeof(floating))
            else:
                _dw_forward_vgrid(pad, &geom, ko, wp + g * Mg * taps,
                                  bp + g * Mg if bp != NULL else NULL, Mg, yp + it * Mg * P,
                                  xp + (it + 1) * DHW if it + 1 < N * G else NULL,
                                  DHW * sizeof(floating))
        fc_free(pad)
    watch_raise(wp_)
    if failed:
        raise MemoryError("fastconv: could not allocate the depthwise workspace")


def depthwise_input_grad(const floating[::1] gy not None, const floating[::1] w not None,
                         floating[::1] dx not None, tuple geo,
                         Py_ssize_t N, Py_ssize_t G, Py_ssize_t Mg, int nthreads):
    """Adjoint of depthwise_forward; dx zero-filled by the caller.  One (n, g)
    plane per work item: no two threads add into the same place."""
    cdef fc_geom geom = _geom(1, geo)
    cdef Py_ssize_t taps = geom.k[0] * geom.k[1] * geom.k[2]
    cdef Py_ssize_t P = geom.out[0] * geom.out[1] * geom.out[2]
    cdef Py_ssize_t DHW = geom.in_[0] * geom.in_[1] * geom.in_[2]
    cdef Py_ssize_t plane = geom.ext[0] * geom.ext[1] * geom.ext[2]
    cdef const floating *gp = _cptr(gy)
    cdef const floating *wp = _cptr(w)
    cdef floating *dxp = _mptr(dx)
    cdef int failed = 0
    cdef int *failed_p = &failed
    cdef Py_ssize_t it, g
    cdef floating *dpad
    if N * G == 0 or Mg == 0:
        return
    # Ctrl-C: every plane looks first
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        dpad = <floating *>fc_malloc(plane * sizeof(floating))
        for it in prange(N * G, schedule="static"):
            if dpad == NULL:
                failed_p[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            g = it % G
            if it + 1 < N * G:
                fc_prefetch(gp + (it + 1) * Mg * P, Mg * P * sizeof(floating))
            memset(dpad, 0, plane * sizeof(floating))
            _dw_input_grad(gp + it * Mg * P, &geom, wp + g * Mg * taps, Mg, dpad,
                           dxp + it * DHW)
        fc_free(dpad)
    watch_raise(wp_)
    if failed:
        raise MemoryError("fastconv: could not allocate the depthwise workspace")


def depthwise_weight_grad(const floating[::1] x not None, const floating[::1] gy not None,
                          double[::1] acc not None, tuple geo, Py_ssize_t N, Py_ssize_t G,
                          Py_ssize_t Mg, double padval, int nthreads):
    """acc (G*Mg*taps, float64, zero-filled) += the weight gradient.  One group
    per work item, images summed in order: the same bits for any thread count."""
    cdef fc_geom geom = _geom(1, geo)
    cdef Py_ssize_t taps = geom.k[0] * geom.k[1] * geom.k[2]
    cdef Py_ssize_t P = geom.out[0] * geom.out[1] * geom.out[2]
    cdef Py_ssize_t DHW = geom.in_[0] * geom.in_[1] * geom.in_[2]
    cdef Py_ssize_t plane = geom.ext[0] * geom.ext[1] * geom.ext[2]
    cdef const floating *xp = _cptr(x)
    cdef const floating *gp = _cptr(gy)
    cdef double *ap = &acc[0] if acc.shape[0] > 0 else NULL
    cdef floating pv = <floating>padval
    cdef int failed = 0
    cdef int *failed_p = &failed
    cdef Py_ssize_t g, n
    cdef floating *pad
    if N * G == 0 or Mg == 0:
        return
    # Ctrl-C: every plane looks first
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        pad = <floating *>fc_malloc(plane * sizeof(floating))
        for g in prange(G, schedule="static"):
            if pad == NULL:
                failed_p[0] = 1
                continue
            for n in range(N):
                if fc_watch_poll(wp_):
                    break
                if n + 1 < N:
                    fc_prefetch(xp + ((n + 1) * G + g) * DHW, DHW * sizeof(floating))
                    fc_prefetch(gp + ((n + 1) * G + g) * Mg * P, Mg * P * sizeof(floating))
                _pad_image(xp + (n * G + g) * DHW, &geom, pv, pad)
                _dw_weight_grad(gp + (n * G + g) * Mg * P, pad, &geom, Mg, ap + g * Mg * taps)
        fc_free(pad)
    watch_raise(wp_)
    if failed:
        raise MemoryError("fastconv: could not allocate the depthwise workspace")
