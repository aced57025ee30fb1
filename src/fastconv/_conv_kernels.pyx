"""Typed Cython drivers of the convolution kernels.

Each driver takes C-contiguous buffers (flattened), trusts its arguments (the
public layer in conv.py / grad.py has checked everything) and runs one OpenMP
parallel loop over independent work items with the GIL released.  The work is
split in the same way for every thread count, so results are bit-identical for
any number of threads.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport copysign
from libc.string cimport memcpy, memset

import numpy as np

from fastconv._fc cimport (FC_DW_SLACK, FC_WINO_SLACK, _block, _col2im, _cptr, _dw_forward,
                           _dw_forward3, _dw_forward_vgrid, _dw_input_grad, _dw_weight_grad,
                           _gemm, _gemm_bcast, _gemm_rows, _gemm_stream, _mptr, _pack_a, _pack_b,
                           _pack_gy_t, _pad_image, _round_up, _wgrad_t, _wino1_gemm_out,
                           _wino1_in, _wino_gemm_out, _wino_in, fc_active, fc_cpu_supports_avx2,
                           fc_cpu_supports_avx512, fc_free, fc_geom, fc_idx, fc_isa, fc_isa_avx2,
                           fc_isa_avx512, fc_isa_generic, fc_koff_threes, fc_malloc, fc_prefetch,
                           fc_set_active, fc_src)
from fastconv._openmp cimport (fc_claim, fc_cpu_relax, fc_omp_barrier, fc_omp_enabled,
                               fc_omp_get_max_threads,
                               fc_omp_get_num_threads, fc_omp_set_num_threads, fc_publish,
                               fc_published)

# ---------------------------------------------------------------- instruction sets

cdef const fc_isa *_table(str name):
    if name == "avx512":
        return &fc_isa_avx512
    if name == "avx2":
        return &fc_isa_avx2
    return &fc_isa_generic


def fma_peak_gflops(int nthreads, long iters=40_000_000):
    """FMA throughput (float32 GFLOP/s) of nthreads threads running the current
    instruction set's widest FMAs back to back (no memory traffic): the peak
    that the benchmark's "fraction of peak" refers to, measured in its run."""
    cdef double[::1] sink = np.zeros(max(nthreads, 1))
    cdef Py_ssize_t t
    import time
    start = time.perf_counter()
    with nogil:
        for t in prange(nthreads, schedule="static", num_threads=nthreads):
            sink[t] = fc_active.fma_burn(iters)
    elapsed = time.perf_counter() - start
    if not np.all(np.isfinite(np.asarray(sink))):
        raise RuntimeError("fma_burn returned a non-finite value")
    return nthreads * iters * 12.0 * fc_active.vl_f32 * 2 / elapsed / 1e9


def available_isas():
    """Instruction sets compiled in and supported by this CPU, best first."""
    names = []
    if fc_cpu_supports_avx512():
        names.append("avx512")
    if fc_cpu_supports_avx2():
        names.append("avx2")
    names.append("generic")
    return names


def set_isa(str name):
    """Select the instruction set used by every kernel (must be available)."""
    if name not in available_isas():
        raise ValueError(f"instruction set {name!r} is not available here; "
                         f"choose from {available_isas()}")
    fc_set_active(_table(name))


def current_isa():
    """Name of the instruction set in use."""
    return (<bytes>fc_active.name).decode()


# ---------------------------------------------------------------- threads

def openmp_enabled():
    """True if the kernels were compiled with OpenMP."""
    return bool(fc_omp_enabled())


def omp_max_threads():
    """OpenMP's current default team size (OMP_NUM_THREADS, threadpoolctl...)."""
    return fc_omp_get_max_threads()


def omp_set_num_threads(int n):
    """Set OpenMP's default team size for the calling thread."""
    fc_omp_set_num_threads(n)


# ---------------------------------------------------------------- helpers

cdef fc_geom _geom(Py_ssize_t C, tuple geo):
    """Fill an fc_geom from geo = (in, kernel, out, (stride, dilation, lo), mode),
    every tuple promoted to three axes, mode an FC_PAD_* code.  No index tables:
    the kernels compute each padded position's source (fc_src), so nothing here
    grows with the data."""
    cdef fc_geom g
    cdef int a
    in_shape, kshape, out_shape, steps, mode = geo
    g.C = C
    g.mode = mode
    for a in range(3):
        g.in_[a] = in_shape[a]
        g.k[a] = kshape[a]
        g.out[a] = out_shape[a]
        g.stride[a] = steps[0][a]
        g.dilation[a] = steps[1][a]
        g.lo[a] = steps[2][a]
        g.ext[a] = (out_shape[a] - 1) * steps[0][a] + steps[1][a] * (kshape[a] - 1) + 1
        g.split[a] = 1
        g.pext[a] = g.ext[a]
    return g


def padded_source(Py_ssize_t n, Py_ssize_t lo, Py_ssize_t ext, int mode):
    """[fc_src(i) for i in range(ext)] along one axis of n inputs padded by lo
    before, mode an FC_PAD_* code: the kernels' padding, for the tests."""
    steps = ((1, 1, 1), (1, 1, 1), (0, 0, lo))
    cdef fc_geom g = _geom(1, ((1, 1, n), (1, 1, 1), (1, 1, ext), steps, mode))
    out = np.empty(ext, dtype=np.intp)
    cdef Py_ssize_t[::1] o = out
    cdef Py_ssize_t i
    for i in range(ext):
        o[i] = fc_src(&g, 2, i)
    return out


def _empty_aligned(Py_ssize_t n, dtype):
    """np.empty(n, dtype) starting on a 64-byte boundary: vectors loaded from it
    never straddle two cache lines (NumPy only promises 16 bytes)."""
    cdef Py_ssize_t itemsize = 4 if dtype is np.float32 else np.dtype(dtype).itemsize
    raw = np.empty(n + 64 // itemsize, dtype=dtype)
    # the address through a byte view: ndarray.ctypes.data took ~2 us, a fifth
    # of a tiny convolution
    cdef const unsigned char[::1] b = raw.view(np.uint8)
    cdef Py_ssize_t skip = (64 - <Py_ssize_t>(<size_t>&b[0] % 64)) % 64 // itemsize
    return raw[skip:skip + n]


cdef inline Py_ssize_t _images_per_pass(Py_ssize_t N, Py_ssize_t image_bytes,
                                        int nthreads) noexcept:
    """Images padded per pass: about 1 MiB of padded image per thread, so that
    each thread's tiles read the images it padded itself from its L2 (static
    schedules give thread t the t-th share of both loops); bounded workspace
    whatever the batch.  The pass size only orders the work: no output depends
    on it."""
    return max(1, min(N, nthreads * max(1, (1 << 20) // max(image_bytes, 1))))


def pixel_tile(Py_ssize_t K, Py_ssize_t P, Py_ssize_t items_outside, Py_ssize_t nr,
               Py_ssize_t itemsize, Py_ssize_t budget_bytes=256 * 1024):
    """Output pixels per work item: a multiple of nr whose K x tile block (K rows
    of operand, or gemm_stream's rows of partial sums) fits in budget_bytes
    (L2), shrunk until there are >= 16 work items.

    Depends only on the problem and the instruction set, never on the thread
    count, so the reduction order (and the bits of the result) never change.
    """
    cdef Py_ssize_t budget = budget_bytes // (max(K, 1) * itemsize)
    cdef Py_ssize_t tile = max(nr, budget // nr * nr)
    tile = min(tile, _round_up(max(P, 1), nr))
    while tile > nr and items_outside * ((P + tile - 1) // tile) < 16:
        tile = max(nr, _round_up(tile // 2, nr))
    return tile


cdef bint _pads_are_constant(const fc_geom *geom, int a):
    """Every padded position of axis a reads the constant: a constant mode, or no
    padding inside the extent that some output reads (lo < 0: a slab that starts
    inside the input)."""
    return geom.mode == 0 or (geom.lo[a] <= 0 and geom.ext[a] - geom.lo[a] <= geom.in_[a])


cdef inline Py_ssize_t _row_slack(const fc_geom *geom) noexcept:
    """Padding values a buffer of split images needs after its end: the right
    padding of its last row when rows share it (see _split_phases)."""
    return geom.ext[2] - geom.pext[2] if geom.split[2] == 1 else 0


cdef Py_ssize_t _split_phases(fc_geom *geom, Py_ssize_t[::1] koff, bint rows=True):
    """Set the stride-phase split of the padded image (split = stride) and fill
    koff[k], the offset of tap k's row from the output's own virtual index.

    With the padded axes split into `stride` phases, tap (c, kd, kh, kw) of output
    (od, oh, ow) is element (od + kd*dd//sd, ...) of phase (kd*dd % sd, ...) of
    channel c: a fixed offset from the output's index on the "virtual" grid as
    wide as a phase row.  rows=False splits the last axis alone (the depthwise
    row kernels step through the rows themselves); koff is then the offset from
    element (od*sd, oh*sh, ow) of the split plane.  Returns the size of one
    channel of the split image."""
    cdef int a
    for a in range(3):
        geom.split[a] = geom.stride[a] if rows or a == 2 else 1
        geom.pext[a] = (geom.ext[a] + geom.split[a] - 1) // geom.split[a]
    # Rows that end in constant padding no wider than the padding they start with
    # can share it: row r's right padding is read from row r+1's left padding, so
    # the rows (and the virtual grid) are that much narrower.  The buffer then
    # needs _row_slack(geom) padding values after its last image.
    cdef Py_ssize_t hi2 = geom.ext[2] - geom.lo[2] - geom.in_[2]
    if (geom.stride[2] == 1 and 0 < hi2 <= geom.lo[2]
            and geom.out[2] <= geom.ext[2] - hi2 and _pads_are_constant(geom, 2)):
        geom.pext[2] = geom.ext[2] - hi2
    cdef Py_ssize_t Q1 = geom.pext[1], Q2 = geom.pext[2]
    cdef Py_ssize_t pplane = geom.pext[0] * Q1 * Q2
    cdef Py_ssize_t S0 = geom.split[0], S1 = geom.split[1], S2 = geom.split[2]
    cdef Py_ssize_t cplane = S0 * S1 * S2 * pplane
    cdef Py_ssize_t c, kd, kh, kw, td, th, tw, k = 0
    for c in range(geom.C):
        for kd in range(geom.k[0]):
            td = kd * geom.dilation[0]
            for kh in range(geom.k[1]):
                th = kh * geom.dilation[1]
                for kw in range(geom.k[2]):
                    tw = kw * geom.dilation[2]
                    koff[k] = (c * cplane
                               + (((td % S0) * S1 + th % S1) * S2 + tw % S2) * pplane
                               + ((td // S0) * Q1 + th // S1) * Q2 + tw // S2)
                    k += 1
    return cplane


cdef inline Py_ssize_t _virtual_size(const fc_geom *geom) noexcept:
    """Virtual outputs of one output plane (od) up to and including its last real
    one.  Planes start pext[1] * pext[2] apart; tiles never span two, so the
    virtual rows past the output height are never computed."""
    return (geom.out[1] - 1) * geom.pext[2] + geom.out[2]


cdef bint _reads_x_in_place(const fc_geom *geom):
    """Stride 1 without padding: the padded image is x itself."""
    cdef int a
    for a in range(3):
        if geom.stride[a] != 1 or geom.lo[a] != 0 or geom.ext[a] != geom.in_[a]:
            return False
    return True


# ---------------------------------------------------------------- forward

def _kernel_name(str name, str what, tuple forced):
    """name if it is "auto" or one of the forced kernels, else ValueError."""
    if name != "auto" and name not in forced:
        choices = ", ".join(repr(c) for c in ("auto",) + forced)
        raise ValueError(f"{what} kernel must be one of {choices}, got {name!r}")
    return name


# Which forward kernel runs: "auto" (the policies below and in _winograd.pxi),
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
    along them): 0.86-0.93x the time of gemm_rows for 32-256 float32 output
    channels, 0.82-0.91x for 16-256 float64 ones; or, one tap at a time, for
    57-64 float32 channels (vgg3x3 0.93-0.95x before the threes, eeg1d_k7
    0.93-0.99x, stem7x7s2 0.76-0.86x).  Measured slower: a quarter of a block
    of padding (24 or 48 channels: 1.11-1.13x), one tap at a time with 32
    channels (1.01-1.09x), 128 (res3x3s2 1.04x) or float64 (1.02-1.04x);
    AVX2 (1.03x with the threes, 1.2-1.4x without: 16 registers); an unpadded
    image read in place (pw1x1 2.4x: every tap a far-away plane)."""
    if _forward_kernel in ("rows", "bcast"):
        return _forward_kernel == "bcast"
    if fc_active != &fc_isa_avx512 or _reads_x_in_place(geom) or Mg <= 0:
        return False
    cdef Py_ssize_t padded = _round_up(Mg, bm)
    if 8 * (padded - Mg) > padded:
        return False
    return fc_koff_threes(&koff[0], K) != 0 or (single and 56 < Mg <= 64)


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

    dtype = np.float32 if floating is float else np.float64
    wpack_arr = _empty_aligned(max(G * wstride, 1), dtype)
    cdef floating[::1] wpack = wpack_arr
    cdef Py_ssize_t g
    for g in range(G if Mg * K > 0 else 0):
        if bcast:
            _pack_b(&w[0] + g * Mg * K, K, Mg, 1, K, bm, &wpack[0] + g * wstride)
        else:
            _pack_a(&w[0] + g * Mg * K, Mg, K, K, 1, mr, &wpack[0] + g * wstride)
    if N == 0 or Mg == 0:
        return
    cdef bint direct = _reads_x_in_place(&geom)
    if direct:
        chunk = N
    cdef Py_ssize_t slack = _row_slack(&geom)
    # images shared evenly between the threads: each pads its own (see below)
    cdef bint own = not direct and (N * G) % nthreads == 0
    pad_arr = np.empty(1 if direct else (nthreads * (img + slack) if own else
                                         chunk * G * img + slack), dtype=dtype)
    cdef floating[::1] pad = pad_arr

    cdef const floating *xp = _cptr(x)
    cdef floating *yp = _mptr(y)
    cdef floating *padp = _mptr(pad)
    cdef const floating *bp = _cptr(bias)
    cdef const floating *wp = _cptr(wpack)
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
    cdef long long[::1] share_mv
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
            pad_arr[t * ibuf + img:(t + 1) * ibuf] = padval
        # per thread, a cache line of its own: [0] the next tile of its last
        # image, [8] set once that image is padded
        share_arr = np.zeros(nthreads * 16, dtype=np.longlong)
        share_mv = share_arr
        share = &share_mv[0]
        with nogil, parallel(num_threads=nthreads):
            me = threadid()
            team = fc_omp_get_num_threads()
            mine = padp + me * ibuf
            lo = me * NI // team
            hi = (me + 1) * NI // team
            for it in range(lo, hi):
                g = it % G
                _pad_image(xp + it * Cg * DHW, &geom, pv, mine)
                if it + 1 < hi:
                    for n in range(per_img):
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
                    while n < per_img:
                        _image_tile(bcast, wp + g * wstride, mine, ko, K, Mg, tile, V, ntiles,
                                    n, E12, yp + it * Mg * P, P,
                                    bp + g * Mg if bp != NULL else NULL, vg, NULL, 0)
                        n = fc_claim(&share[me * 16])
            for r in range(1, team):
                o = (me + r) % team
                it = (o + 1) * NI // team - 1
                if it < o * NI // team:
                    continue
                g = it % G
                while not fc_published(&share[o * 16 + 8]):
                    fc_cpu_relax()
                n = fc_claim(&share[o * 16])
                while n < per_img:
                    _image_tile(bcast, wp + g * wstride, padp + o * ibuf, ko, K, Mg, tile, V,
                                ntiles, n, E12, yp + it * Mg * P, P,
                                bp + g * Mg if bp != NULL else NULL, vg, NULL, 0)
                    n = fc_claim(&share[o * 16])
        return
    for n0 in range(0, N, chunk):
        nc = min(chunk, N - n0)
        if not direct:
            # the right padding of this pass's last row
            pad_arr[nc * G * img:nc * G * img + slack] = padval
        with nogil:
            if not direct:
                for it in prange(nc * G, schedule="static", num_threads=nthreads):
                    _pad_image(xp + ((n0 + it // G) * G + it % G) * Cg * DHW, &geom, pv,
                               padp + it * img)
            with parallel(num_threads=nthreads):
                # NULL (not wanted, or no memory): gemm_rows copies slices instead
                work = (<floating *>fc_malloc(K * _round_up(tile, nr) * sizeof(floating))
                        if use_work else NULL)
                for it in prange(nc * G * OD * ntiles, schedule="static"):
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
                p0 = t * tile
                np_ = min(tile, P - p0)
                _pack_b(gp + (n * G + g) * Mg * P + p0, Mg, np_, P, 1, nr, gpack)
                _gemm(wp + (g * nblk + blk) * bstride, gpack, Mg, gb.C * taps, np_, dcol,
                      tile, <floating *>NULL, 0)
                _col2im(dcol, tile, &gb, p0, np_, dxp + ((n * G + g) * Cg + c0) * DHW)
        fc_free(gpack)
        fc_free(dcol)
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
    [g][k][m] and zero-filled by the caller, who sums the chunks in order and
    transposes; the chunking depends on the shapes only, never on the thread
    count.  Chunks cover consecutive (image, tile) items and a thread runs
    consecutive chunks, so each thread pads (and phase-splits) an image into its
    own buffer once, when its work reaches it.  The image values are broadcast
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
    if failed:
        raise MemoryError("fastconv: could not allocate the weight-gradient workspace")


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
    cdef int vl = fc_active.vl_f32 if floating is float else fc_active.vl_f64
    cdef bint wide = (geom.out[2] >= _DW_WIDE_ROW * vl if _depthwise_kernel in ("auto", "inplace")
                      else _depthwise_kernel == "rows")
    # dw_forward3 where it applies, at any row width.  One thread, 3x3 layers
    # of 8 images, 32-1024 channels of 112x112-7x7 planes, its time over the
    # better of the other two: stride 1 AVX-512 0.56-0.93x (0.65-0.77x on
    # planes of 28x28 and less), AVX2 0.52-1.03x, float64 0.53-0.76x; stride 2
    # AVX-512 0.26-0.44x, AVX2 0.24-0.44x, generic 0.46-0.76x.  With vectors
    # of 128 bits (generic) at stride 1 along W: 1.03-1.41x, not used.
    cdef bint inplace = (_dw3_applies(&geom, padval)
                         and (_depthwise_kernel == "inplace"
                              or _depthwise_kernel == "auto"
                              and (fc_active != &fc_isa_generic or geom.stride[2] == 2)))
    cdef const floating *xp = _cptr(x)
    cdef const floating *wp = _cptr(w)
    cdef floating *yp = _mptr(y)
    cdef const floating *bp = _cptr(bias)
    cdef Py_ssize_t it, g, i
    if N * G == 0 or Mg == 0:
        return
    if inplace:
        with nogil:
            for it in prange(N * G, schedule="static", num_threads=nthreads):
                g = it % G
                # the next plane asked for meanwhile, as below
                _dw_forward3(xp + it * DHW, &geom, wp + g * Mg * taps,
                             bp + g * Mg if bp != NULL else NULL, Mg, yp + it * Mg * P,
                             xp + (it + 1) * DHW if it + 1 < N * G else NULL,
                             DHW * sizeof(floating))
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
            g = it % G
            # the next plane of this thread's run, asked for a share per output row:
            # its memory latency overlaps this plane's arithmetic (0.85-0.87x the
            # time of asking for it all at once before the plane, which stalls
            # on the memory system's queue; 1 thread, dw3x3)
            _pad_image(xp + it * DHW, &geom, pv, pad)
            if wide:
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
    with nogil, parallel(num_threads=nthreads):
        dpad = <floating *>fc_malloc(plane * sizeof(floating))
        for it in prange(N * G, schedule="static"):
            if dpad == NULL:
                failed_p[0] = 1
                continue
            g = it % G
            if it + 1 < N * G:
                fc_prefetch(gp + (it + 1) * Mg * P, Mg * P * sizeof(floating))
            memset(dpad, 0, plane * sizeof(floating))
            _dw_input_grad(gp + it * Mg * P, &geom, wp + g * Mg * taps, Mg, dpad,
                           dxp + it * DHW)
        fc_free(dpad)
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
    with nogil, parallel(num_threads=nthreads):
        pad = <floating *>fc_malloc(plane * sizeof(floating))
        for g in prange(G, schedule="static"):
            if pad == NULL:
                failed_p[0] = 1
                continue
            for n in range(N):
                if n + 1 < N:
                    fc_prefetch(xp + ((n + 1) * G + g) * DHW, DHW * sizeof(floating))
                    fc_prefetch(gp + ((n + 1) * G + g) * Mg * P, Mg * P * sizeof(floating))
                _pad_image(xp + (n * G + g) * DHW, &geom, pv, pad)
                _dw_weight_grad(gp + (n * G + g) * Mg * P, pad, &geom, Mg, ap + g * Mg * taps)
        fc_free(pad)
    if failed:
        raise MemoryError("fastconv: could not allocate the depthwise workspace")


include "_winograd.pxi"
