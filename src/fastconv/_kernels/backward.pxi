# The backward drivers: the input gradient (GEMM + col2im) and the weight
# gradient (a fixed partition of the reduction, summed in a fixed order).
# Included by _conv_kernels.pyx (one extension: the C kernels are linked once).

# ---------------------------------------------------------------- input gradient

def conv_input_grad(const floating[::1] gy not None, const floating[::1] w not None,
                    floating[::1] dx not None,
                    tuple geo,
                    Py_ssize_t N, Py_ssize_t G, Py_ssize_t Cg, Py_ssize_t Mg, int nthreads):
    """dx[n, g] += col2im(w[g]^T @ gy[n, g]), the adjoint of conv_forward.

    gy: (N, G*Mg, P), w: (G, Mg, K), dx: (N, G*Cg, D, H, W), zero-filled by the
    caller.  A work item is (n, g, block of input channels): its rows of
    w^T @ gy and its col2im touch only its own dx planes, so no two threads add
    into the same place, and a small batch still feeds every thread.  Each dx
    element sums its terms in the same order however the channels are blocked.
    """
    cdef fc_geom geom = _geom(Cg, geo)
    in_shape, kshape, out_shape = geo[:3]
    cdef Py_ssize_t taps = kshape[0] * kshape[1] * kshape[2]
    cdef Py_ssize_t K = Cg * taps
    cdef Py_ssize_t P = out_shape[0] * out_shape[1] * out_shape[2]
    cdef Py_ssize_t DHW = in_shape[0] * in_shape[1] * in_shape[2]
    cdef int mr, nr
    _block(<floating *>NULL, &mr, &nr)
    # channel blocks: enough work items for any thread count up to ~16
    cdef Py_ssize_t nblk = min(Cg, max(1, (16 + N * G - 1) // max(N * G, 1)))
    cdef Py_ssize_t cblk = (Cg + nblk - 1) // nblk if Cg > 0 else 1
    nblk = (Cg + cblk - 1) // cblk if Cg > 0 else 0
    cdef Py_ssize_t tile = pixel_tile(cblk * taps, P, 16, nr, sizeof(floating))
    cdef Py_ssize_t ntiles = (P + tile - 1) // tile
    cdef Py_ssize_t items = N * G * nblk
    cdef Py_ssize_t bstride = _round_up(max(cblk * taps, 1), mr) * Mg

    dtype = np.float32 if floating is float else np.float64
    wpack_arr = np.empty(max(G * nblk * bstride, 1), dtype=dtype)
    cdef floating[::1] wpack = wpack_arr
    cdef Py_ssize_t g, blk, c0, cb
    for g in range(G if Mg * K > 0 else 0):
        for blk in range(nblk):
            c0 = blk * cblk
            cb = min(cblk, Cg - c0)
            # A[k][m] = w[g, m, k] for this block's taps k: the reduction runs over
            # the out-channels
            _pack_a(&w[0] + g * Mg * K + c0 * taps, cb * taps, Mg, 1, K, mr,
                    &wpack[0] + (g * nblk + blk) * bstride)

    cdef const floating *gp = _cptr(gy)
    cdef floating *dxp = _mptr(dx)
    cdef const floating *wp = _cptr(wpack)
    cdef int failed = 0
    cdef int *failed_p = &failed
    cdef Py_ssize_t it, n, t, p0, np_
    cdef fc_geom gb
    cdef floating *gpack
    cdef floating *dcol
    if items == 0 or K == 0:
        return
    # Ctrl-C: every pixel tile looks first
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        gpack = <floating *>fc_malloc(Mg * tile * sizeof(floating))
        dcol = <floating *>fc_malloc(cblk * taps * tile * sizeof(floating))
        for it in prange(items, schedule="static"):
            if gpack == NULL or dcol == NULL:
                failed_p[0] = 1
                continue
            blk = it % nblk
            g = (it // nblk) % G
            n = it // (nblk * G)
            c0 = blk * cblk
            gb = geom
            gb.C = min(cblk, Cg - c0)
            for t in range(ntiles):
                if fc_watch_poll(wp_):
                    break
                p0 = t * tile
                np_ = min(tile, P - p0)
                _pack_b(gp + (n * G + g) * Mg * P + p0, Mg, np_, P, 1, nr, gpack)
                _gemm(wp + (g * nblk + blk) * bstride, gpack, Mg, gb.C * taps, np_, dcol,
                      tile, <floating *>NULL, 0)
                _col2im(dcol, tile, &gb, p0, np_, dxp + ((n * G + g) * Cg + c0) * DHW)
        fc_free(gpack)
        fc_free(dcol)
    watch_raise(wp_)
    if failed:
        raise MemoryError("fastconv: could not allocate the input-gradient workspace")


# ---------------------------------------------------------------- weight gradient

def weight_grad_rows(Py_ssize_t Mg, Py_ssize_t itemsize):
    """Row length of conv_weight_grad's transposed partials: Mg rounded up to the
    SIMD lanes of the chosen instruction set."""
    cdef Py_ssize_t vl = fc_active.vl_f32 if itemsize == 4 else fc_active.vl_f64
    return _round_up(max(Mg, 1), vl)


def conv_weight_grad(const floating[::1] x not None, const floating[::1] gy not None,
                     floating[:, ::1] partial not None, tuple geo,
                     Py_ssize_t N, Py_ssize_t G, Py_ssize_t Cg, Py_ssize_t Mg,
                     double padval, int nthreads):
    """partial[c] = sum over the c-th fixed chunk of (n, output plane, virtual tile)
    of rows(pad(x)) @ gy_virtual^T: the weight gradient, transposed, no im2col.

    partial: (nchunks, G*K*Mpad), Mpad = weight_grad_rows(Mg, itemsize), laid out
    [g][k][m] and zero-filled by the caller; on return partial[0] holds the sum of
    the chunks, added in order, for the caller to transpose.  The chunking
    depends on the shapes only, never on the thread count.  Chunks cover
    consecutive (image, tile) items and a thread runs consecutive chunks, so
    each thread pads (and phase-splits) an image into its own buffer once,
    when its work reaches it.  The image values are broadcast
    straight from the padded rows; only gy is transposed, onto the same virtual
    grid, with zeros where it has no real output, so those positions add nothing.
    """
    cdef fc_geom geom = _geom(Cg, geo)
    in_shape, kshape, out_shape = geo[:3]
    cdef Py_ssize_t K = Cg * kshape[0] * kshape[1] * kshape[2]
    cdef Py_ssize_t P = out_shape[0] * out_shape[1] * out_shape[2]
    cdef Py_ssize_t DHW = in_shape[0] * in_shape[1] * in_shape[2]
    koff_arr = np.empty(max(K, 1), dtype=np.intp)
    cdef Py_ssize_t[::1] koff = koff_arr
    cdef Py_ssize_t img = Cg * _split_phases(&geom, koff)
    cdef Py_ssize_t V = _virtual_size(&geom)
    cdef bint direct = _reads_x_in_place(&geom)
    cdef int mr, nr
    _block(<floating *>NULL, &mr, &nr)
    cdef Py_ssize_t OD = out_shape[0]
    cdef Py_ssize_t E12 = geom.pext[1] * geom.pext[2]
    # longer pixel runs per tile than the forward's: the reduction runs over them here
    cdef Py_ssize_t tile = pixel_tile(K, V, N * OD, nr, sizeof(floating), 1 << 20)
    cdef Py_ssize_t ntiles = (V + tile - 1) // tile
    cdef Py_ssize_t items = N * OD * ntiles
    cdef Py_ssize_t nchunks = partial.shape[0]
    cdef Py_ssize_t wsize = partial.shape[1]
    if items == 0 or K == 0 or Mg == 0:
        return

    cdef const floating *xp = _cptr(x)
    cdef const floating *gp = _cptr(gy)
    cdef floating *pp = &partial[0, 0]
    cdef const fc_idx *ko = &koff[0]
    cdef floating pv = <floating>padval
    cdef int failed = 0
    cdef int *failed_p = &failed
    cdef Py_ssize_t Mpad = weight_grad_rows(Mg, sizeof(floating))
    cdef Py_ssize_t slack = _row_slack(&geom)
    # x read in place, an image too big for the cache: its rows are far-apart planes
    # streamed from memory, faster copied whole into one buffer first (as in
    # conv_forward_rows; pw1x1: 0.87x the time)
    cdef bint copy_rows = direct and Cg * DHW * <Py_ssize_t>sizeof(floating) >= (1 << 20)
    cdef Py_ssize_t[::1] seq_rows = np.arange(max(K, 1), dtype=np.intp) * tile
    cdef const fc_idx *seq = &seq_rows[0]
    cdef Py_ssize_t c, it, n, t, g, v0, nv, k, j
    cdef const floating *base
    cdef floating *gyt
    cdef floating *rows
    cdef floating *pad
    cdef Py_ssize_t *padded
    # Ctrl-C: every (image, tile) item looks first
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        gyt = <floating *>fc_malloc(tile * Mpad * sizeof(floating))
        rows = <floating *>fc_malloc(K * tile * sizeof(floating)) if copy_rows else NULL
        pad = NULL if direct else <floating *>fc_malloc((G * img + slack) * sizeof(floating))
        if pad != NULL:
            for j in range(slack):
                pad[G * img + j] = pv
        # the image now in this thread's pad; in memory, as it lives across the
        # thread's (consecutive, static-schedule) chunks, so each is padded once
        padded = <Py_ssize_t *>fc_malloc(sizeof(Py_ssize_t))
        if padded != NULL:
            padded[0] = -1
        for c in prange(nchunks, schedule="static"):
            if (gyt == NULL or padded == NULL or (pad == NULL and not direct)
                    or (rows == NULL and copy_rows)):
                failed_p[0] = 1
                continue
            for it in range(c * items // nchunks, (c + 1) * items // nchunks):
                if fc_watch_poll(wp_):
                    break
                t = it % ntiles
                n = it // (ntiles * OD)
                nv = min(tile, V - t * tile)
                v0 = (it // ntiles) % OD * E12 + t * tile
                if not direct and n != padded[0]:
                    for g in range(G):
                        _pad_image(xp + (n * G + g) * Cg * DHW, &geom, pv, pad + g * img)
                    padded[0] = n
                for g in range(G):
                    if direct:
                        base = xp + (n * G + g) * Cg * DHW
                    else:
                        base = pad + g * img
                    _pack_gy_t(gp + (n * G + g) * Mg * P, P, &geom, v0, nv, Mg, Mpad, gyt)
                    if copy_rows:
                        for k in range(K):
                            memcpy(rows + k * tile, base + v0 + ko[k], nv * sizeof(floating))
                        _wgrad_t(gyt, Mpad, nv, rows, seq, K, pp + c * wsize + g * K * Mpad)
                    else:
                        _wgrad_t(gyt, Mpad, nv, base + v0, ko, K,
                                 pp + c * wsize + g * K * Mpad)
        fc_free(gyt)
        fc_free(rows)
        fc_free(pad)
        fc_free(padded)
    watch_raise(wp_)
    if failed:
        raise MemoryError("fastconv: could not allocate the weight-gradient workspace")
    # the chunks summed into partial[0], in order (each element on its own: the
    # same bits as NumPy adding the rows one by one, ~1 us a row less)
    with nogil:
        for c in range(1, nchunks):
            for j in range(wsize):
                pp[j] += pp[c * wsize + j]
