# Pooling's forward entry point: one PoolCall per checked call.
# Included by _conv_kernels.pyx after pool_max.pxi and pool_avg.pxi.
#
# fastconv.pool keeps the PoolCalls of small calls as the recipes of repeated
# calls (fastconv._fastpath).  A PoolCall holds the geometry and the window
# tables as C data, so that a repeated tiny pooling costs about a microsecond:
# no tuple-to-struct conversion and no typed memoryviews per call (each of those
# was a few tenths of a microsecond), and no OpenMP region for a one-thread call.

cdef enum:
    POOL_MAX = 0
    POOL_MAX_INDICES = 1
    POOL_AVG = 2


cdef const Py_ssize_t *_intp_ptr(a):
    cdef const Py_ssize_t[::1] v = a
    return &v[0] if v.shape[0] else NULL


cdef const int64_t *_int64_ptr(a):
    cdef const int64_t[::1] v = a
    return &v[0] if v.shape[0] else NULL


cdef class PoolCall:
    """A checked max or mean pooling of one input shape and dtype.

    ``PoolCall(kind, plan, tables, dtype, divisor, wide, grain, threads)``:
    ``kind`` 0 (max), 1 (max with argmax indices) or 2 (mean); ``plan`` the
    validated plan (its geo, planes and out_shape); ``tables`` its W-axis window
    tables (tap_lo, tap_hi, first_w; for a mean tap_lo, tap_hi and the D, H, W
    divisor factors); ``dtype`` the result dtype; ``divisor`` the mean's
    override (0: none); ``wide`` float32 sums in double; calls of at least
    ``grain`` input elements run on ``threads()`` threads, others on one.

    ``call(x)`` pools ``x`` (that shape; any dtype, layout and byte order: a
    contiguous copy of the result dtype only when needed) into a new array;
    max with indices returns ``(y, indices)``.  Trusts the plan (fastconv.pool
    checked it) and keeps the tables alive.
    """
    cdef fc_geom g
    cdef Py_ssize_t planes, pin, pout, grain
    cdef int kind
    cdef bint wide, f32
    cdef int64_t divisor
    cdef object dtype, out_shape, threads, tables, plan, alloc, alloc_ind
    cdef const Py_ssize_t *tlo
    cdef const Py_ssize_t *thi
    cdef const Py_ssize_t *first_w
    cdef const int64_t *fd
    cdef const int64_t *fh
    cdef const int64_t *fw

    def __init__(self, int kind, plan, tuple tables, dtype, int64_t divisor, bint wide,
                 Py_ssize_t grain, threads):
        self.g = _pool_geom(plan.geo)
        self.plan = plan
        self.kind = kind
        self.planes = plan.planes
        self.pin = self.g.in_[0] * self.g.in_[1] * self.g.in_[2]
        self.pout = self.g.out[0] * self.g.out[1] * self.g.out[2]
        self.out_shape = tuple(plan.out_shape)
        self.dtype = np.dtype(dtype)
        self.f32 = self.dtype == np.float32
        self.alloc = _alloc.allocator(self.out_shape, self.dtype)
        self.alloc_ind = _alloc.allocator(self.out_shape, _int64)
        self.divisor = divisor
        self.wide = wide
        self.grain = grain
        self.threads = threads
        self.tables = tables
        self.tlo = _intp_ptr(tables[0])
        self.thi = _intp_ptr(tables[1])
        if kind == POOL_AVG:
            self.fd = _int64_ptr(tables[2])
            self.fh = _int64_ptr(tables[3])
            self.fw = _int64_ptr(tables[4])
        else:
            self.first_w = _intp_ptr(tables[2])

    def __call__(self, x):
        cdef Py_buffer xb, yb, ib
        cdef int nt = 1
        cdef int rc = 0
        cdef int64_t *ip = NULL
        cdef Py_ssize_t itemsize = 4 if self.f32 else 8
        if not _kernel_array(x, self.dtype, self.planes * self.pin, &xb):
            # another dtype, layout or byte order: the contiguous copy the kernels take
            x = self._converted(x)
            PyObject_GetBuffer(x, &xb, PyBUF_RECORDS_RO)
        try:
            if xb.len != self.planes * self.pin * itemsize:
                raise ValueError(f"PoolCall: input of {xb.len} bytes, expected "
                                 f"{self.planes * self.pin * itemsize}")
            if self.planes * self.pin >= self.grain:
                nt = self.threads()
            y = self.alloc(self.out_shape, self.dtype)
            PyObject_GetBuffer(y, &yb, PyBUF_SIMPLE | PyBUF_WRITABLE)
            try:
                if self.kind == POOL_MAX_INDICES:
                    ind = self.alloc_ind(self.out_shape, _int64)
                    PyObject_GetBuffer(ind, &ib, PyBUF_SIMPLE | PyBUF_WRITABLE)
                    ip = <int64_t *>ib.buf
                with nogil:
                    if self.kind == POOL_AVG:
                        if self.f32:
                            rc = _avg_planes(<const float *>xb.buf, <float *>yb.buf,
                                             self.planes, &self.g, self.tlo, self.thi, self.fd,
                                             self.fh, self.fw, self.divisor, self.wide, nt)
                        else:
                            rc = _avg_planes(<const double *>xb.buf, <double *>yb.buf,
                                             self.planes, &self.g, self.tlo, self.thi, self.fd,
                                             self.fh, self.fw, self.divisor, self.wide, nt)
                    elif self.f32:
                        _max_planes(<const float *>xb.buf, <float *>yb.buf, ip, self.planes,
                                    &self.g, self.tlo, self.thi, self.first_w, nt)
                    else:
                        _max_planes(<const double *>xb.buf, <double *>yb.buf, ip, self.planes,
                                    &self.g, self.tlo, self.thi, self.first_w, nt)
                if ip != NULL:
                    PyBuffer_Release(&ib)
            finally:
                PyBuffer_Release(&yb)
        finally:
            PyBuffer_Release(&xb)
        if rc:
            raise MemoryError("avg_pool: could not allocate scratch memory")
        if self.kind == POOL_MAX_INDICES:
            return y, ind
        return y

    def __reduce__(self):
        return PoolCall, (self.kind, self.plan, self.tables, self.dtype, self.divisor, self.wide,
                          self.grain, self.threads)

    def _converted(self, x):
        from fastconv._validation import as_kernel_input
        return as_kernel_input(x, self.dtype)
