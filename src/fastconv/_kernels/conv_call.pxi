# The compiled forward of repeated small convolutions: one ConvCall per recipe.
# Included by _conv_kernels.pyx after depthwise.pxi and pool_call.pxi.
#
# fastconv.conv keeps a ConvCall in the recipe of a checked call whose layer
# runs dw_forward3 (a depthwise 3x3 layer at stride 1 or 2 padded by one zero:
# every 3x3 'same' convolution of one-channel images).  A repeated call then
# costs a microsecond or two instead of five: no typed memoryviews, no
# tuple-to-struct conversion, no NumPy reshapes and no OpenMP region for one
# thread.  It answers None wherever the call needs the full path (another
# kernel forced or chosen, the verbose log, an array that is not a contiguous,
# aligned, native array of the compute dtype), which then runs as before: the
# same kernel over the same planes, so the same bits either way.


cdef class ConvCall:
    """A checked depthwise 3x3 convolution read in place (dw_forward3), of one
    shape and dtype.

    ``ConvCall(plan, dtype, y_shape, grain, threads, verbose)``: the validated
    plan, the compute dtype, the result's shape (unbatched or not), the work
    (multiply-adds) from which ``threads()`` threads run, and ``verbose()``,
    true when the full path must run for its log line.

    ``call(x, w, b)`` returns the result, or None where the full path must run.
    """
    cdef fc_geom g
    cdef Py_ssize_t N, G, Mg, nx, nw, work, grain
    cdef double padval
    cdef bint f32
    cdef object plan, dtype, y_shape, threads, verbose, alloc

    def __init__(self, plan, dtype, tuple y_shape, Py_ssize_t grain, threads, verbose):
        geo, n, groups, cg, mg = plan.kernel_args
        if cg != 1:
            raise ValueError("ConvCall: not a depthwise plan")
        self.g = _geom(1, geo)
        self.plan = plan
        self.N, self.G, self.Mg = n, groups, mg
        self.nx = n * groups * self.g.in_[0] * self.g.in_[1] * self.g.in_[2]
        self.nw = groups * mg * self.g.k[0] * self.g.k[1] * self.g.k[2]
        self.padval = plan.pad_value
        if not _dw3_applies(&self.g, self.padval):
            raise ValueError("ConvCall: dw_forward3 does not apply")
        self.dtype = np.dtype(dtype)
        self.f32 = self.dtype == np.float32
        self.y_shape = y_shape
        self.alloc = _alloc.allocator(y_shape, self.dtype)
        self.work = plan.work
        self.grain = grain
        self.threads = threads
        self.verbose = verbose

    def __reduce__(self):
        return ConvCall, (self.plan, self.dtype, self.y_shape, self.grain, self.threads,
                          self.verbose)

    def __call__(self, x, w, b):
        cdef Py_buffer xb, wb, bb, yb
        cdef bint has_b = b is not None
        cdef int nt = 1
        cdef fc_watch watch
        cdef Py_ssize_t nb = self.G * self.Mg
        cdef Py_ssize_t itemsize = 4 if self.f32 else 8
        if self.verbose() or _dw_choice(&self.g, self.padval, itemsize) != _DW_INPLACE:
            return None
        if not _kernel_array(x, self.dtype, self.nx, &xb):
            return None
        if not _kernel_array(w, self.dtype, self.nw, &wb):
            PyBuffer_Release(&xb)
            return None
        if has_b and not _kernel_array(b, self.dtype, nb, &bb):
            PyBuffer_Release(&xb)
            PyBuffer_Release(&wb)
            return None
        try:
            if self.work >= self.grain:
                nt = self.threads()
            y = self.alloc(self.y_shape, self.dtype)
            PyObject_GetBuffer(y, &yb, PyBUF_SIMPLE | PyBUF_WRITABLE)
            fc_watch_start(&watch)
            with nogil:
                if self.f32:
                    _dw3_planes(<const float *>xb.buf, &self.g, <const float *>wb.buf,
                                <const float *>bb.buf if has_b else NULL, self.N, self.G,
                                self.Mg, <float *>yb.buf, nt, &watch)
                else:
                    _dw3_planes(<const double *>xb.buf, &self.g, <const double *>wb.buf,
                                <const double *>bb.buf if has_b else NULL, self.N, self.G,
                                self.Mg, <double *>yb.buf, nt, &watch)
            PyBuffer_Release(&yb)
        finally:
            PyBuffer_Release(&xb)
            PyBuffer_Release(&wb)
            if has_b:
                PyBuffer_Release(&bb)
        watch_raise(&watch)
        return y
