# Geometry shared by the drivers: fc_geom from the plan's tuples, phase-split
# padded images, aligned buffers and the pixel tiles that fix the reduction order.
# Included by _conv_kernels.pyx (one extension: the C kernels are linked once).

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


cdef class Scratch:
    """A driver call's buffers (fc_scratch: malloc'd, 64-byte aligned), freed when
    the call drops it, whether it returns or raises.  Cheaper than NumPy arrays
    for a tiny call: no array objects, no memoryviews (~0.3 us each)."""
    cdef void *p[4]

    def __cinit__(self):
        cdef int i
        for i in range(4):
            self.p[i] = NULL

    def __dealloc__(self):
        cdef int i
        for i in range(4):
            fc_scratch_free(self.p[i])

    cdef void *take(self, int i, size_t nbytes) except NULL:
        """Buffer i (0-3) of nbytes; MemoryError if there is no memory."""
        fc_scratch_free(self.p[i])
        self.p[i] = fc_scratch(nbytes)
        if self.p[i] == NULL:
            raise MemoryError(f"could not allocate {nbytes} bytes of scratch memory")
        return self.p[i]


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
