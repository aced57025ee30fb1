# The forward driver: padded images read by the row GEMMs (gemm_rows, or
# gemm_bcast for few output channels), Winograd and depthwise handed off.
# Included by _conv_kernels.pyx (one extension: the C kernels are linked once).

# ---------------------------------------------------------------- forward

def _kernel_name(str name, str what, tuple forced):
    """name if it is "auto" or one of the forced kernels, else ValueError."""
    if name != "auto" and name not in forced:
        choices = ", ".join(repr(c) for c in ("auto",) + forced)
        raise ValueError(f"{what} kernel must be one of {choices}, got {name!r}")
    return name


# Which forward kernel runs: "auto" (the policies below and in _kernels/winograd.pxi),
# or forced, for the tests to run each on every instruction set and for A/B
# timings: "rows" / "bcast" (a direct GEMM), "direct" (the policy's direct GEMM,
# never Winograd), "winograd" (wherever it applies, else the policy's GEMM).
cdef str _forward_kernel = "auto"
# may "auto" pick Winograd (fastconv._algorithms: off by default)
cdef bint _winograd_enabled = False


def set_winograd_enabled(bint enabled):
    """Let "auto" pick Winograd (fastconv.set_winograd checks the argument)."""
    global _winograd_enabled
    _winograd_enabled = enabled


def winograd_enabled():
    """Whether "auto" may pick Winograd."""
    return _winograd_enabled


def set_forward_kernel(str name):
    """Force the forward kernel ("rows", "bcast", "direct", "winograd") or
    restore the policy ("auto")."""
    global _forward_kernel
    _forward_kernel = _kernel_name(name, "forward", ("rows", "bcast", "direct", "winograd"))


# Depthwise output rows at least this many vectors wide run the row kernels
# (two rows at once share their loads); narrower ones one run over the virtual
# grid of the whole plane (independent vectors across rows).  Measured, one
# thread, 3x3, virtual grid / rows: AVX-512 7x7 0.67x, 14x14 0.85x, 28x28
# 0.83-0.90x the time, 56x56 and 112x112 0.92-1.02x, 112x112 at stride 2
# 1.06-1.13x; AVX2 7x7 0.98x, 14x14 1.03x, 28x28 1.23x.
cdef int _DW_WIDE_ROW = 2
# "auto" (by the row width; dw_forward3 where it applies), or "rows" / "vgrid" / "inplace"
# forced, for the tests
cdef str _depthwise_kernel = "auto"


def set_depthwise_kernel(str name):
    """Force the depthwise forward ("rows": the row kernels on the padded
    plane; "vgrid"; "inplace": dw_forward3 wherever it applies, else the
    policy's choice) or restore the policy ("auto")."""
    global _depthwise_kernel
    _depthwise_kernel = _kernel_name(name, "depthwise", ("rows", "vgrid", "inplace"))


cdef bint _use_bcast(const fc_geom *geom, const Py_ssize_t[::1] koff, Py_ssize_t K,
                     Py_ssize_t Mg, int bm, bint single):
    """gemm_bcast on AVX-512 for a padded or strided image whose channel blocks
    are at most 1/8 padding, where its taps come in threes (3x3 rows at stride 1
    along them), or, one tap at a time, for 57-64 float32 channels; never on
    AVX2 (16 registers) or for an unpadded image read in place (every tap a
    far-away plane).  The measurements: docs/performance.md, "Kernel choice"."""
    if _forward_kernel in ("rows", "bcast"):
        return _forward_kernel == "bcast"
    if fc_active != &fc_isa_avx512 or _reads_x_in_place(geom) or Mg <= 0:
        return False
    cdef Py_ssize_t padded = _round_up(Mg, bm)
    if 8 * (padded - Mg) > padded:
        return False
    return fc_koff_threes(&koff[0], K) != 0 or (single and 56 < Mg <= 64)


def forward_gemm_kernel(tuple geo, Py_ssize_t Cg, Py_ssize_t Mg, Py_ssize_t itemsize):
    """The GEMM conv_forward_rows runs for this layer: "bcast" or "rows"
    (_use_bcast on the same phase-split geometry; fastconv.explain)."""
    cdef fc_geom geom = _geom(Cg, geo)
    kshape = geo[1]
    cdef Py_ssize_t K = Cg * kshape[0] * kshape[1] * kshape[2]
    koff_arr = np.empty(max(K, 1), dtype=np.intp)
    cdef Py_ssize_t[::1] koff = koff_arr
    _split_phases(&geom, koff)
    cdef int bm = fc_active.bm_f32 if itemsize == 4 else fc_active.bm_f64
    return "bcast" if _use_bcast(&geom, koff, K, Mg, bm, itemsize == 4) else "rows"


def conv_forward_rows(const floating[::1] x not None, const floating[::1] w not None,
                      const floating[::1] bias not None, floating[::1] y not None,
                      tuple geo,
                      Py_ssize_t N, Py_ssize_t G, Py_ssize_t Cg, Py_ssize_t Mg,
                      double padval, int nthreads):
    """Forward without im2col: pad each image once, split into stride phases,
    then run the GEMM on rows of the padded image read in place
    (B[k][v] = pad[koff[k] + v]).

    y[n, g*Mg + m, p] = sum_k w[g, m, k] * tap_k(x[n, g])[p] (+ bias), with
    x: (N, G*Cg, D, H, W), w: (G, Mg, K), K = Cg*KD*KH*KW, bias: (G*Mg,) or empty,
    y: (N, G*Mg, OD*OH*OW).  With the padded axes split into `stride` phases,
    tap (kd, kh, kw) of output (od, oh, ow) is element (od + kd*dd//sd, ...) of
    phase (kd*dd % sd, ...): a fixed offset from the output's own index.  So the
    outputs are computed on a "virtual" grid as wide as a phase row, and the
    columns past the real output width are discarded.
    """
    cdef fc_geom geom = _geom(Cg, geo)
    in_shape, kshape, out_shape = geo[:3]
    cdef Py_ssize_t K = Cg * kshape[0] * kshape[1] * kshape[2]
    cdef Py_ssize_t P = out_shape[0] * out_shape[1] * out_shape[2]
    cdef Py_ssize_t DHW = in_shape[0] * in_shape[1] * in_shape[2]
    koff_arr = np.empty(max(K, 1), dtype=np.intp)
    cdef Py_ssize_t[::1] koff = koff_arr
    cdef Py_ssize_t cplane = _split_phases(&geom, koff)
    cdef Py_ssize_t V = _virtual_size(&geom)
    cdef int mr, nr
    _block(<floating *>NULL, &mr, &nr)
    cdef Py_ssize_t img = Cg * cplane
    cdef Py_ssize_t OD = out_shape[0]
    cdef Py_ssize_t E12 = geom.pext[1] * geom.pext[2]
    cdef Py_ssize_t tile = pixel_tile(K, V, N * G * OD, nr, sizeof(floating))
    cdef Py_ssize_t ntiles = (V + tile - 1) // tile
    cdef int bm = fc_active.bm_f32 if floating is float else fc_active.bm_f64
    cdef bint bcast = _use_bcast(&geom, koff, K, Mg, bm, floating is float)
    cdef Py_ssize_t Mpad = _round_up(max(Mg, 1), bm if bcast else mr)
    cdef Py_ssize_t wstride = Mpad * K
    cdef Py_ssize_t chunk = _images_per_pass(N, G * img * <Py_ssize_t>sizeof(floating),
                                             nthreads)

    # the call's buffers, freed when it returns or raises
    cdef Scratch scratch = Scratch()
    cdef floating *wpack = <floating *>scratch.take(0, max(G * wstride, 1) * sizeof(floating))
    cdef Py_ssize_t g, i
    for g in range(G if Mg * K > 0 else 0):
        if bcast:
            _pack_b(&w[0] + g * Mg * K, K, Mg, 1, K, bm, wpack + g * wstride)
        else:
            _pack_a(&w[0] + g * Mg * K, Mg, K, K, 1, mr, wpack + g * wstride)
    if N == 0 or Mg == 0:
        return
    cdef bint direct = _reads_x_in_place(&geom)
    if direct:
        chunk = N
    cdef Py_ssize_t slack = _row_slack(&geom)
    # images shared evenly between the threads: each pads its own (see below)
    cdef bint own = not direct and (N * G) % nthreads == 0
    cdef floating *padp = NULL
    if not direct:
        padp = <floating *>scratch.take(1, (nthreads * (img + slack) if own else
                                            chunk * G * img + slack) * sizeof(floating))

    cdef const floating *xp = _cptr(x)
    cdef floating *yp = _mptr(y)
    cdef const floating *bp = _cptr(bias)
    cdef const floating *wp = wpack
    cdef const fc_idx *ko = &koff[0]
    cdef floating pv = <floating>padval
    cdef Py_ssize_t n0, nc, it, n, t, od
    cdef const floating *base
    # a virtual grid without extra columns (1x1 kernels) is the output plane itself;
    # otherwise the GEMM places each column at its real output (and drops the rest)
    cdef const fc_geom *vg = NULL
    cdef floating *work = NULL
    # x read in place, and an image too big to stay in cache: its rows are far-apart
    # planes streamed from memory, which whole-row packing reads far faster than
    # NR-column slices (measured: pw1x1 1.3x); rows of a padded image this thread
    # just wrote are in its L2, where slices beat packing (vgg3x3 1.14x)
    cdef bint use_work = direct and Cg * DHW * <Py_ssize_t>sizeof(floating) >= (1 << 20)
    if not (geom.pext[1] == geom.out[1] and geom.pext[2] == geom.out[2]):
        vg = &geom
    # such an image with no virtual columns (a 1x1 layer): K blocks outer over
    # tiles of a few thousand columns, every row read start to end (gemm_stream),
    # where the outputs are no more than the reduction: their partial sums must
    # stay in L2, so many outputs mean short tiles.  Measured against whole-row
    # packing (Zen 4, one thread): pw1x1 (K 256, M 64) 0.89x, K 512 M 64 0.86x,
    # K 128 M 128 0.98x, but K 64 M 256 1.02x the time (pw1x1's input gradient
    # 1.04x); pw1x1 at two threads 0.94x.
    cdef bint stream = use_work and vg == NULL and not bcast and Mg <= K
    if stream:
        use_work = False
        # partial sums of Mg outputs per column in L2
        tile = pixel_tile(Mg, V, N * G * OD, nr, sizeof(floating), 512 * 1024)
        ntiles = (V + tile - 1) // tile
    cdef floating *mine
    cdef Py_ssize_t ibuf = img + slack
    cdef Py_ssize_t pfs = (Cg * DHW + OD * ntiles - 1) // (OD * ntiles)
    cdef Py_ssize_t NI = N * G, per_img = OD * ntiles, me, team, lo, hi, o, r
    cdef long long *share
    # Ctrl-C: every work item (a tile, an image's padding) looks first
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    fc_watch_start(wp_)
    if own:
        # Each thread pads the images it computes into its own buffer, right
        # before computing them: one parallel region, no barrier between passes
        # of images (vgg3x3, vol3d: 0.96-0.98x the time at two threads).  The
        # tiles of each thread's last image are handed out through a counter
        # to whichever thread asks, the owner first: a thread done with its
        # own images helps the others finish theirs instead of waiting at the
        # end (the cores of a shared machine do not run at the same speed).
        # A tile is computed by the same code whichever thread takes it: the
        # bits never depend on the threads.
        for t in range(nthreads):
            for i in range(t * ibuf + img, (t + 1) * ibuf):
                padp[i] = pv
        # per thread, a cache line of its own: [0] the next tile of its last
        # image, [8] set once that image is padded
        share = <long long *>scratch.take(2, nthreads * 16 * sizeof(long long))
        memset(share, 0, nthreads * 16 * sizeof(long long))
        with nogil, parallel(num_threads=nthreads):
            me = threadid()
            team = fc_omp_get_num_threads()
            mine = padp + me * ibuf
            lo = me * NI // team
            hi = (me + 1) * NI // team
            for it in range(lo, hi):
                g = it % G
                if fc_watch_poll(wp_):
                    break
                _pad_image(xp + it * Cg * DHW, &geom, pv, mine)
                if it + 1 < hi:
                    for n in range(per_img):
                        if fc_watch_poll(wp_):
                            break
                        # a share of the next image per tile, itself spread over
                        # the tile's microkernel calls: its memory latency
                        # overlaps this image's arithmetic instead of stalling
                        # its padding (res3x3s2, whose padding is 13 % of a
                        # call: 0.95x the time at one thread)
                        _image_tile(bcast, wp + g * wstride, mine, ko, K, Mg, tile, V, ntiles,
                                    n, E12, yp + it * Mg * P, P,
                                    bp + g * Mg if bp != NULL else NULL, vg,
                                    xp + (it + 1) * Cg * DHW + n * pfs,
                                    max(0, min(pfs, Cg * DHW - n * pfs)) * sizeof(floating))
                else:
                    fc_publish(&share[me * 16 + 8])
                    n = fc_claim(&share[me * 16])
                    while n < per_img and not fc_watch_poll(wp_):
                        _image_tile(bcast, wp + g * wstride, mine, ko, K, Mg, tile, V, ntiles,
                                    n, E12, yp + it * Mg * P, P,
                                    bp + g * Mg if bp != NULL else NULL, vg, NULL, 0)
                        n = fc_claim(&share[me * 16])
            # stopped before its last image: the others must not wait for it
            # (they stop too; its buffer is read by nobody)
            fc_publish(&share[me * 16 + 8])
            for r in range(1, team):
                o = (me + r) % team
                it = (o + 1) * NI // team - 1
                if it < o * NI // team:
                    continue
                g = it % G
                while not fc_published(&share[o * 16 + 8]):
                    fc_cpu_relax()
                n = fc_claim(&share[o * 16])
                while n < per_img and not fc_watch_poll(wp_):
                    _image_tile(bcast, wp + g * wstride, padp + o * ibuf, ko, K, Mg, tile, V,
                                ntiles, n, E12, yp + it * Mg * P, P,
                                bp + g * Mg if bp != NULL else NULL, vg, NULL, 0)
                    n = fc_claim(&share[o * 16])
        watch_raise(wp_)
        return
    for n0 in range(0, N, chunk):
        nc = min(chunk, N - n0)
        if not direct:
            # the right padding of this pass's last row
            for i in range(nc * G * img, nc * G * img + slack):
                padp[i] = pv
        with nogil:
            if not direct:
                for it in prange(nc * G, schedule="static", num_threads=nthreads):
                    if fc_watch_poll(wp_):
                        continue
                    _pad_image(xp + ((n0 + it // G) * G + it % G) * Cg * DHW, &geom, pv,
                               padp + it * img)
            with parallel(num_threads=nthreads):
                # NULL (not wanted, or no memory): gemm_rows copies slices instead
                work = (<floating *>fc_malloc(K * _round_up(tile, nr) * sizeof(floating))
                        if use_work else NULL)
                for it in prange(nc * G * OD * ntiles, schedule="static"):
                    if fc_watch_poll(wp_):
                        continue
                    t = it % ntiles
                    od = (it // ntiles) % OD
                    g = (it // (ntiles * OD)) % G
                    n = it // (ntiles * OD * G)
                    if direct:
                        base = xp + ((n0 + n) * G + g) * Cg * DHW
                    else:
                        base = padp + (n * G + g) * img
                    if stream:
                        _gemm_stream(wp + g * wstride, base + od * E12 + t * tile, ko, K, Mg,
                                     min(tile, V - t * tile),
                                     yp + ((n0 + n) * G + g) * Mg * P + od * E12 + t * tile, P,
                                     bp + g * Mg if bp != NULL else NULL)
                    else:
                        _forward_tile(bcast, wp + g * wstride, base, ko, K, Mg,
                                      min(tile, V - t * tile),
                                      yp + ((n0 + n) * G + g) * Mg * P, P,
                                      bp + g * Mg if bp != NULL else NULL, vg,
                                      od * E12 + t * tile, work, NULL, 0)
                fc_free(work)
        watch_raise(wp_)


cdef inline void _image_tile(bint bcast, const floating *wp, const floating *buf,
                             const fc_idx *ko, Py_ssize_t K, Py_ssize_t Mg, Py_ssize_t tile,
                             Py_ssize_t V, Py_ssize_t ntiles, Py_ssize_t n, Py_ssize_t E12,
                             floating *yimg, Py_ssize_t P, const floating *bias,
                             const fc_geom *vg, const void *pf,
                             Py_ssize_t pfbytes) noexcept nogil:
    """Tile n of a padded image: tile n % ntiles of output plane n // ntiles."""
    cdef Py_ssize_t t = n % ntiles
    _forward_tile(bcast, wp, buf, ko, K, Mg, min(tile, V - t * tile), yimg, P, bias, vg,
                  (n // ntiles) * E12 + t * tile, NULL, pf, pfbytes)


cdef inline void _forward_tile(bint bcast, const floating *wp, const floating *base,
                               const fc_idx *ko, Py_ssize_t K, Py_ssize_t Mg, Py_ssize_t nv,
                               floating *yimg, Py_ssize_t P, const floating *bias,
                               const fc_geom *vg, Py_ssize_t v0, floating *work,
                               const void *pf, Py_ssize_t pfbytes) noexcept nogil:
    """The nv virtual positions from v0 of one image and group; yimg: its
    output planes.  [pf, pf + pfbytes) is asked for meanwhile."""
    if vg == NULL:
        yimg += v0
    if bcast:
        _gemm_bcast(wp, base + v0, ko, K, Mg, nv, yimg, P, bias, vg, v0, pf, pfbytes)
    else:
        _gemm_rows(wp, base + v0, ko, K, Mg, nv, yimg, P, bias, vg, v0, work, pf, pfbytes)
