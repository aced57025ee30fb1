# Winograd forward of stride-1 layers: F(2x2, 3x3) and F(2x2x2, 3x3x3) of 3x3
# and 3x3x3 kernels, and in 1-D F(2, 3) on each three taps of a kernel of 7 or
# more (the rest summed directly); included by _conv_kernels.pyx (the dispatch
# helpers of _fc.pxd, geometry.pxi).  The transforms and the GEMMs between
# them (gemm_rows' microkernel) are in fc_winograd_template.h.

# What "auto" asks of a layer.  Measured against the direct GEMMs (Zen 4, two
# threads, float32, batch 8): 64 -> 64 channels over 56x56 0.71x the time,
# 32 -> 32 0.80x, 16 -> 64 0.85x, 128 -> 128 over 28x28 0.82x, 256 -> 64 over
# 28x28 0.84x; but 16 -> 16 1.04x, 64 -> 16 1.21x, 8 -> 8 1.5x (the transforms
# per channel outweigh the 2.25x fewer multiplies), 256 -> 256 over 14x14 1.19x,
# 512 -> 512 over 7x7 1.85x (49 or 16 tiles per image in GEMM blocks of 48).
cdef Py_ssize_t _WINO_MIN_IN = 16
cdef Py_ssize_t _WINO_MIN_OUT = 32
# 3-D (64 products per 8 outputs instead of 216), batch 2 over 32^3 or 16^3:
# 16 -> 32 channels (vol3d) 0.68x the time, 8 -> 16 0.85x, 16 -> 16 0.75x,
# 64 -> 64 0.72x, 128 -> 128 0.60x; but 8 -> 8 0.96x, 4 -> 8 1.19x, 3 -> 16
# 1.24x, and over 8^3 (rows of 4 tiles) 1.6-1.9x
cdef Py_ssize_t _WINO3_MIN_IN = 8
cdef Py_ssize_t _WINO3_MIN_OUT = 16
# 1-D: kernels of >= 7 taps only, whatever is forced (F(2, 3) on 3 or 5 taps
# over two channels left the tests' float32 bound: 1.6x and 0.8x of it
# measured, against 0.5x for 7 and 9).  "auto", from batch 8 over 4096 (7 taps
# unless said): 128 -> 64 channels (eeg1d_k7) 0.85x the time, 128 -> 128
# 0.84x, 64 -> 64 0.87x (11 taps 0.84x), 32 -> 64 0.90x; but 32 -> 32 0.98x,
# 64 -> 32 1.02x, 16 -> 32 1.08x, 16 -> 16 1.3x, and 64 -> 64 over 15 taps
# 1.10x (the direct kernels run long reductions near the FMA peak, and the
# transform makes 5 rows of V per input value)
cdef Py_ssize_t _WINO1_MIN_TAPS = 7
cdef Py_ssize_t _WINO1_MAX_TAPS = 11
cdef Py_ssize_t _WINO1_MIN_IN = 32
cdef Py_ssize_t _WINO1_MIN_OUT = 64
# the tiles of an image (all its phase planes) must fill at least this share of
# their NR-column GEMM blocks, and a tile row hold this many tiles (the
# transforms run whole vectors of tiles along a row: dilation 4 over 56 columns,
# rows of 7 tiles, ran 0.85-1.05x the time of the direct kernels)
cdef double _WINO_MIN_FILL = 0.75
cdef Py_ssize_t _WINO_MIN_ROW = 8
# Tiles per work item: at most two GEMM blocks, and their rows of V (4^nd x Cg;
# 1-D: 4 KW + 2 KD, see the driver) within this many bytes (L2)
cdef Py_ssize_t _WINO_BUDGET = 512 * 1024
cdef Py_ssize_t _WINO_TMAX_BLOCKS = 2


cdef inline Py_ssize_t _wino_tiles(Py_ssize_t out, Py_ssize_t dilation) noexcept:
    """2x2 tiles along one axis of the largest dilation phase plane: its
    ceil(out / dilation) outputs in pairs."""
    return ((out + dilation - 1) // dilation + 1) // 2


def use_winograd(int nd, tuple kernel, tuple stride, tuple dilation, tuple out_spatial,
                 Py_ssize_t Cg, Py_ssize_t Mg, Py_ssize_t itemsize):
    """Whether the forward of this layer runs conv_forward_winograd: stride 1,
    2-D 3x3, 3-D 3x3x3 or 1-D of >= 7 taps (any dilation, padding or groups).
    "auto" only when Winograd is enabled (fastconv.set_winograd), and then
    wants enough channels, tiles and tiles per row (see above); forced
    ("winograd"), any nonempty layer."""
    if _forward_kernel in ("rows", "bcast", "direct"):
        return False
    if stride != (1,) * nd or Cg < 1 or Mg < 1:
        return False
    if not (nd in (2, 3) and kernel == (3,) * nd
            or nd == 1 and kernel[0] >= _WINO1_MIN_TAPS):
        return False
    if _forward_kernel == "winograd":
        return True
    if not _winograd_enabled:
        return False
    cdef int nr = fc_active.nr_f32 if itemsize == 4 else fc_active.nr_f64
    cdef Py_ssize_t tiles = 1, tw = 1
    cdef int a
    for a in range(nd):
        tw = _wino_tiles(out_spatial[a], dilation[a])
        tiles *= dilation[a] * tw
    cdef bint full = tw >= _WINO_MIN_ROW and tiles >= _WINO_MIN_FILL * _round_up(tiles, nr)
    if nd == 1:
        return (full and Cg >= _WINO1_MIN_IN and Mg >= _WINO1_MIN_OUT
                and kernel[0] <= _WINO1_MAX_TAPS)
    if nd == 3:
        return full and Cg >= _WINO3_MIN_IN and Mg >= _WINO3_MIN_OUT
    return full and Cg >= _WINO_MIN_IN and Mg >= _WINO_MIN_OUT


cdef inline void _wino_g(double *a, Py_ssize_t outer, Py_ssize_t inner) noexcept nogil:
    """G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] along the middle axis of a
    (outer, 3, inner) array, in place into (outer, 4, inner) (from the end, so
    that nothing is overwritten before it is read)."""
    cdef Py_ssize_t o, i
    cdef double g0, g1, g2
    for o in range(outer - 1, -1, -1):
        for i in range(inner - 1, -1, -1):
            g0 = a[(o * 3 + 0) * inner + i]
            g1 = a[(o * 3 + 1) * inner + i]
            g2 = a[(o * 3 + 2) * inner + i]
            a[(o * 4 + 0) * inner + i] = g0
            a[(o * 4 + 1) * inner + i] = 0.5 * (g0 + g1 + g2)
            a[(o * 4 + 2) * inner + i] = 0.5 * (g0 - g1 + g2)
            a[(o * 4 + 3) * inner + i] = g2


cdef void _wino_weights(const floating *w, Py_ssize_t GM, Py_ssize_t Mg, Py_ssize_t Cg,
                        int nd, int mr, floating *up) noexcept nogil:
    """U: G applied to the 3x3(x3) kernel g = w[gm, c] (gm = g * Mg + m) along
    each axis in turn (G g G^T in 2-D), in float64: point xi of group g goes to
    up[(g * np + xi) * Mpad * Cg + (m // mr) * Cg * mr + c * mr + m % mr] (np =
    4^nd), the MR-row panels of pack_a (rows past Mg left as they are: zero)."""
    cdef Py_ssize_t gm, c, i, g, m, a
    cdef Py_ssize_t ustride = (Mg + mr - 1) // mr * mr * Cg
    cdef Py_ssize_t taps = 9 if nd == 2 else 27, np_ = 16 if nd == 2 else 64
    cdef Py_ssize_t outer, inner
    cdef double u[64]
    for gm in range(GM):
        g = gm // Mg
        m = gm % Mg
        for c in range(Cg):
            for i in range(taps):
                u[i] = w[(gm * Cg + c) * taps + i]
            # axis a of (4,) * a + (3,) * (nd - a): 4^a outer, 3^(nd-1-a) inner
            outer = 1
            inner = taps // 3
            for a in range(nd):
                _wino_g(u, outer, inner)
                outer *= 4
                inner //= 3
            for i in range(np_):
                up[(g * np_ + i) * ustride + (m // mr) * Cg * mr + c * mr + m % mr] = \
                    <floating>u[i]


cdef void _wino1_weights(const floating *w, Py_ssize_t GM, Py_ssize_t Mg, Py_ssize_t Cg,
                         Py_ssize_t k, int mr, floating *up) noexcept nogil:
    """The 1-D weights of wino1_gemm_out for each group g of Mg rows (gm = g *
    Mg + m), at up + g * (4 * ustride + Mpad * KD): point p of taps 3j..3j+2
    (G w, in float64) at [p * ustride] + row m, column j * Cg + c of MR-row
    panels (ustride = Mpad * KW), then the last k % 3 taps r at [4 * ustride]
    + row m, column r * Cg + c."""
    cdef Py_ssize_t gm, c, g, m, j, r, p
    cdef Py_ssize_t g3 = k // 3, KW = g3 * Cg, KD = k % 3 * Cg
    cdef Py_ssize_t Mpad = (Mg + mr - 1) // mr * mr, ustride = Mpad * KW
    cdef floating *u
    cdef double t[4]
    for gm in range(GM):
        g = gm // Mg
        m = gm % Mg
        u = up + g * (4 * ustride + Mpad * KD) + m % mr
        for c in range(Cg):
            for j in range(g3):
                for r in range(3):
                    t[r] = w[(gm * Cg + c) * k + 3 * j + r]
                _wino_g(t, 1, 1)
                for p in range(4):
                    u[p * ustride + (m // mr) * KW * mr + (j * Cg + c) * mr] = <floating>t[p]
            for r in range(k % 3):
                u[4 * ustride + (m // mr) * KD * mr + (r * Cg + c) * mr] = \
                    w[(gm * Cg + c) * k + 3 * g3 + r]


def conv_forward_winograd(const floating[::1] x not None, const floating[::1] w not None,
                          const floating[::1] bias not None, floating[::1] y not None,
                          tuple geo, int nd,
                          Py_ssize_t N, Py_ssize_t G, Py_ssize_t Cg, Py_ssize_t Mg,
                          double padval, int nthreads):
    """The same y as conv_forward_rows for a stride-1 layer that use_winograd
    takes, by Winograd: F(2x2, 3x3) in 2-D, F(2x2x2, 3x3x3) in 3-D, F(2, 3) on
    each three taps (the rest summed directly) in 1-D.

    Each image is padded once, split along every spatial axis into `dilation`
    phases (a dilated layer is an undilated one on each phase volume), with an
    extra slice/row/column where a volume has an odd number of outputs along
    it: then every 2x2(x2) output tile reads a whole 4x4(x4) input tile (in
    1-D, a tile of 2 outputs reads k + 1 inputs).  The tiles of an image are
    numbered across its phase volumes (each the grid of the largest phase),
    and a work item is a block of up to `tmax` of them: input transform (4^nd
    points x Cg x tiles; 1-D: see wino1_in), the GEMMs with the transformed
    weights (the microkernel of gemm_rows), output transform to y.  Items are
    independent and computed by the same code whatever thread runs them: the
    same bits for any thread count.

    Returns True (y then unfinished) if some output came out infinite or NaN:
    an infinite input becomes NaNs through the transforms' differences where
    the direct sum has infinities, and the transforms can overflow where the
    direct sum does not; the caller then runs the direct convolution.
    """
    cdef fc_geom geom = _geom(Cg, geo)
    cdef Py_ssize_t d0 = geom.dilation[0], d1 = geom.dilation[1], d2 = geom.dilation[2]
    cdef Py_ssize_t OD = geom.out[0], OH = geom.out[1], OW = geom.out[2], P = OD * OH * OW
    cdef Py_ssize_t DHW = geom.in_[0] * geom.in_[1] * geom.in_[2]
    # phase volumes: TD x TH x TW tiles of the largest phase (the tiles of an
    # image are numbered across its d0 * d1 * d2 volumes), each reading 2
    # slices/rows/columns more; in 2-D one slice (TD = Q0 = 1), in 1-D one row
    # (TH = Q1 = 1) of tiles reading k - 1 columns more
    cdef Py_ssize_t k = geom.k[2]
    cdef Py_ssize_t TD = _wino_tiles(OD, d0) if nd == 3 else 1
    cdef Py_ssize_t TH = _wino_tiles(OH, d1) if nd >= 2 else 1
    cdef Py_ssize_t TW = _wino_tiles(OW, d2), PT = TD * TH * TW
    cdef Py_ssize_t Q0 = 2 * TD + 2 if nd == 3 else 1, Q1 = 2 * TH + 2 if nd >= 2 else 1
    cdef Py_ssize_t Q2 = 2 * TW + k - 1
    cdef Py_ssize_t a
    for a in range(3):
        geom.split[a] = geom.dilation[a]
    geom.pext[0] = Q0
    geom.pext[1] = Q1
    geom.pext[2] = Q2
    cdef Py_ssize_t sl = Q1 * Q2, vol = Q0 * sl, cs = d0 * d1 * d2 * vol, img = Cg * cs
    cdef int mr, nr
    _block(<floating *>NULL, &mr, &nr)
    # rows of V per tile: 4^nd points x Cg; in 1-D 4 points x KW (three taps'
    # groups x Cg) and 2 x KD (the other taps x Cg)
    cdef Py_ssize_t npt = 64 if nd == 3 else 16
    cdef Py_ssize_t KW = k // 3 * Cg, KD = k % 3 * Cg
    cdef Py_ssize_t vrows = 4 * KW + 2 * KD if nd == 1 else npt * Cg
    cdef Py_ssize_t itemsize = sizeof(floating)

    # pl: each phase volume's offset in the output volume and its outputs
    cdef Py_ssize_t p0, p1, p2, ntile = d0 * d1 * d2 * PT
    pl_arr = np.array([(p0 * OH * OW + p1 * OW + p2, (OD - p0 + d0 - 1) // d0,
                        (OH - p1 + d1 - 1) // d1, (OW - p2 + d2 - 1) // d2)
                       for p0 in range(d0) for p1 in range(d1) for p2 in range(d2)],
                      dtype=np.intp).ravel()
    cdef const Py_ssize_t[::1] pl = pl_arr
    cdef Py_ssize_t tmax = max(nr, min(_WINO_TMAX_BLOCKS * nr,
                                       _WINO_BUDGET // (vrows * itemsize) // nr * nr))
    tmax = min(tmax, _round_up(ntile, nr))
    cdef Py_ssize_t nitems = (ntile + tmax - 1) // tmax

    dtype = np.float32 if floating is float else np.float64
    # transformed weights U[g][xi] (Mg x Cg; 1-D: Mg x KW, then Mg x KD), computed
    # in float64, in MR-row panels (spelled out in C: NumPy's take/stack/einsum
    # took ~1 ms of a 7 ms vgg3x3 call)
    cdef Py_ssize_t Mpad = _round_up(Mg, mr)
    cdef Py_ssize_t ustride = Mpad * (KW if nd == 1 else Cg)
    cdef Py_ssize_t ugroup = 4 * ustride + Mpad * KD if nd == 1 else npt * ustride
    upack_arr = _empty_aligned(G * ugroup, dtype)
    if Mpad > Mg:
        upack_arr[:] = 0
    cdef floating[::1] upack = upack_arr
    if nd == 1:
        _wino1_weights(&w[0], G * Mg, Mg, Cg, k, mr, &upack[0])
    else:
        _wino_weights(&w[0], G * Mg, Mg, Cg, nd, mr, &upack[0])
    if N == 0:
        return False

    # per thread: the transformed inputs V[vrows][ldv] (room for the junk lanes
    # past a block's last tile: < one vector), then in 3-D the GEMMs' products
    # (64 x MR x NR; the 1-D and 2-D kernels keep theirs on the stack)
    cdef int vl = fc_active.vl_f32 if floating is float else fc_active.vl_f64
    cdef Py_ssize_t ldv = _round_up(tmax, vl) + vl
    cdef Py_ssize_t vsize = _round_up(vrows * ldv, 64)
    cdef Py_ssize_t per_thread = vsize + (_round_up(npt * mr * nr + FC_WINO_SLACK, 64)
                                          if nd == 3 else 0)
    # np.empty, each thread clearing its own share once: fresh zeroed pages would
    # be faulted in by one thread before the parallel region (V's columns past a
    # block's last tile are read by the GEMM, never stored: they must be finite,
    # and stay so, holding earlier blocks' values)
    work_arr = _empty_aligned(nthreads * per_thread, dtype)
    koff_arr = np.arange(KW if nd == 1 else Cg, dtype=np.intp) * ldv
    cdef const Py_ssize_t[::1] koff = koff_arr
    cdef Py_ssize_t chunk = _images_per_pass(N, G * img * itemsize, nthreads)
    pad_arr = np.empty(chunk * G * img + FC_WINO_SLACK + k, dtype=dtype)
    pad_arr[chunk * G * img:] = 0
    cdef floating[::1] pad = pad_arr
    cdef floating[::1] work = work_arr

    cdef const floating *xp = _cptr(x)
    cdef floating *yp = _mptr(y)
    cdef floating *padp = &pad[0]
    cdef floating *workp = &work[0]
    cdef const floating *bp = _cptr(bias)
    cdef const floating *up = &upack[0]
    cdef const fc_idx *ko = &koff[0]
    cdef floating pv = <floating>padval
    cdef Py_ssize_t n0, nc, it, ig, g, me, nt, t0
    # per thread, on a cache line of its own: some output not finite
    bad_arr = np.zeros(nthreads * 16, dtype=np.intc)
    cdef int[::1] bad = bad_arr
    cdef floating *V
    # images padded in pieces of cpc channels, for fewer images than threads
    # (N = 1: one thread padding the whole image took ~10 % of the call)
    cdef Py_ssize_t npc = min(Cg, max(1, 2 * nthreads // (chunk * G)))
    cdef Py_ssize_t cpc = (Cg + npc - 1) // npc, c0
    npc = (Cg + cpc - 1) // cpc
    cdef fc_geom geom_part = geom, geom_last = geom
    geom_part.C = cpc
    geom_last.C = Cg - (npc - 1) * cpc
    # Ctrl-C: every padding piece and tile block looks first (the barrier
    # between them is met all the same)
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    for n0 in range(0, N, chunk):
        nc = min(chunk, N - n0)
        with nogil, parallel(num_threads=nthreads):
            me = threadid()
            V = workp + me * per_thread
            if n0 == 0:
                memset(V, 0, per_thread * sizeof(floating))
            # static: thread t computes the items of the images it padded
            for it in prange(nc * G * npc, schedule="static"):
                if fc_watch_poll(wp_):
                    continue
                c0 = (it % npc) * cpc
                _pad_image(xp + (n0 * G + it // npc) * Cg * DHW + c0 * DHW,
                           &geom_last if c0 + cpc > Cg else &geom_part, pv,
                           padp + (it // npc) * img + c0 * cs)
            # a thread's tiles read channels (npc > 1) or images (images not
            # shared evenly) other threads padded: wait for them (prange in a
            # parallel block has no barrier of its own; without this, generic
            # 2-thread runs read half-padded images)
            fc_omp_barrier()
            for it in prange(nc * G * nitems, schedule="static"):
                if fc_watch_poll(wp_):
                    continue
                t0 = (it % nitems) * tmax
                nt = min(tmax, ntile - t0)
                ig = it // nitems
                g = ig % G
                if nd == 1:
                    _wino1_in(padp + ig * img, cs, Q2, Cg, k, TW, t0, nt, V, ldv)
                    if _wino1_gemm_out(up + g * ugroup, ustride, V, ldv, ko, Cg, k, Mg, TW,
                                       &pl[0], t0, nt, bp + g * Mg if bp != NULL else NULL,
                                       yp + (n0 * G + ig) * Mg * P, d2, P):
                        bad[me * 16] = 1
                else:
                    _wino_in(padp + ig * img, vol, cs, sl, Q2, Cg, TH, TW, PT, t0, nt, V, ldv,
                             nd)
                    if _wino_gemm_out(up + g * ugroup, ustride, V, ldv, ko, Cg, Mg, TH, TW,
                                      PT, &pl[0], t0, nt, bp + g * Mg if bp != NULL else NULL,
                                      yp + (n0 * G + ig) * Mg * P, d0 * OH * OW, d1 * OW, d2,
                                      P, V + vsize if nd == 3 else NULL, nd):
                        bad[me * 16] = 1
        watch_raise(wp_)
        if bad_arr.any():
            return True
    return False
