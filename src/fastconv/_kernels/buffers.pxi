# Arrays handed to the compiled calls (PoolCall, ConvCall): taken through the buffer
# protocol, which costs a tiny call far less than a typed memoryview.
# Included by _conv_kernels.pyx before pool_call.pxi and conv_call.pxi.

from cpython.buffer cimport (PyBUF_RECORDS_RO, PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release,
                             PyObject_GetBuffer)

_ndarray = np.ndarray
_empty = np.empty
_int64 = np.dtype(np.int64)


cdef bint _c_aligned(const Py_buffer *b) noexcept:
    """Whether an exported buffer is C-contiguous and aligned to its item size."""
    cdef Py_ssize_t step = b.itemsize
    cdef int i
    if <size_t>b.buf % <size_t>b.itemsize:
        return False
    if b.strides == NULL:
        return True
    for i in range(b.ndim - 1, -1, -1):
        if b.shape[i] != 1 and b.strides[i] != step:
            return False
        step *= b.shape[i]
    return True


cdef bint _kernel_array(a, dtype, Py_ssize_t n, Py_buffer *b):
    """Take ``a``'s buffer into b if ``a`` is a C-contiguous, aligned ndarray of
    ``dtype`` with n elements; else leave b untouched and return False."""
    if not (a.__class__ is _ndarray and a.dtype is dtype):
        return False
    PyObject_GetBuffer(a, b, PyBUF_RECORDS_RO)
    if b.len == n * b.itemsize and _c_aligned(b):
        return True
    PyBuffer_Release(b)
    return False
