"""Typed overlap-save FFT convolution of fastconv.signal: many blocks of one
power-of-two size, transformed a vector's width of blocks at a time (fc_fft.h).

``convolve(x, xcplx, H, tw, out, start, length, k, N, pair, level)`` computes,
for every row r of ``x`` (a (rows, n) view of real numbers; complex data are
given as the real parts, the imaginary parts following each),

    out[r, j] = full(x[r], w)[start + j],   j < length

from the kernel's spectrum ``H`` (``spectrum``).  The Python layer
(fastconv._fftconv) has checked everything; the kernel trusts it.  Work items
are groups of blocks (``V`` lanes, two real blocks per lane with ``pair``),
fixed by the block count and ``V``, handed to the threads dynamically; each
lane's arithmetic does not depend on the thread count.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.stdint cimport uintptr_t
from libc.stdlib cimport free, malloc

from fastconv._interrupt cimport (fc_watch, fc_watch_poll, fc_watch_set_main, fc_watch_start,
                                  track_main_thread, watch_raise)


cdef extern from "fc_fft.h" nogil:
    ctypedef struct fcft_job:
        const void *x
        Py_ssize_t xrs, xcs, n
        int xcplx
        void *out
        Py_ssize_t ors, ocs
        int pair
        Py_ssize_t start, length, k, N, step, nb, rows
    ctypedef struct fcft_job2:
        const void *x
        Py_ssize_t xps, xrs, xcs, H, W
        int xcplx
        void *out
        Py_ssize_t ops, ors, ocs
        int pair
        Py_ssize_t sr, lr, sc, lc, kr, kc, Nr, Nc, str "str", stc, nbr, nbc, planes
    int fcft_simd_levels()
    int fcft_lanes(int level, int itemsize)
    void fcft_transform_f(int level, float *buf, Py_ssize_t N, const float *tw, int inverse)
    void fcft_transform_d(int level, double *buf, Py_ssize_t N, const double *tw, int inverse)
    void fcft_spectrum_f(int level, const float *w, Py_ssize_t k, Py_ssize_t ws, int wcplx,
                         Py_ssize_t N, const float *tw, float *buf, float *H)
    void fcft_spectrum_d(int level, const double *w, Py_ssize_t k, Py_ssize_t ws, int wcplx,
                         Py_ssize_t N, const double *tw, double *buf, double *H)
    void fcft_group_f(int level, const fcft_job *J, Py_ssize_t g0, float *buf,
                      const float *tw, const float *H)
    void fcft_group_d(int level, const fcft_job *J, Py_ssize_t g0, double *buf,
                      const double *tw, const double *H)
    void fcft_spectrum2_f(int level, const float *w, Py_ssize_t kr, Py_ssize_t kc,
                          Py_ssize_t wrs, Py_ssize_t wcs, int wcplx, Py_ssize_t Nr, Py_ssize_t Nc,
                          const float *twr, const float *twc, float *buf, float *H)
    void fcft_spectrum2_d(int level, const double *w, Py_ssize_t kr, Py_ssize_t kc,
                          Py_ssize_t wrs, Py_ssize_t wcs, int wcplx, Py_ssize_t Nr, Py_ssize_t Nc,
                          const double *twr, const double *twc, double *buf, double *H)
    void fcft_group2_f(int level, const fcft_job2 *J, Py_ssize_t g0, float *buf,
                       const float *twr, const float *twc, const float *H)
    void fcft_group2_d(int level, const fcft_job2 *J, Py_ssize_t g0, double *buf,
                       const double *twr, const double *twc, const double *H)


cdef inline Py_ssize_t _elements(Py_ssize_t stride, Py_ssize_t itemsize) noexcept:
    """A stride in elements, signed: a reversed view's is negative (divided by the
    unsigned ``sizeof`` it became a huge positive one, whose products overflowed)."""
    return stride // itemsize


cdef int _run_groups(const void *job, bint two_d, int level, Py_ssize_t ngroups, Py_ssize_t per,
                     Py_ssize_t bufsize, const floating *tw, const floating *tw2,
                     const floating *H, int nthreads) except -1:
    """The ``ngroups`` groups of ``per`` blocks of a 1-D (fcft_job) or 2-D
    (fcft_job2) convolution on up to ``nthreads`` threads, each with a buffer of
    ``bufsize`` elements; a group is one thread's whole work item, so the bits
    never depend on the threads.  The Ctrl-C watch is looked at before each."""
    cdef Py_ssize_t g
    cdef void *raw
    cdef floating *buf
    cdef int fail[1]
    cdef fc_watch watch
    cdef fc_watch *wp_ = &watch
    if ngroups == 0:
        return 0
    nthreads = <int>max(1, min(<Py_ssize_t>nthreads, ngroups))
    fail[0] = 0
    fc_watch_start(wp_)
    with nogil, parallel(num_threads=nthreads):
        raw = malloc(bufsize * sizeof(floating) + 64)
        buf = <floating *>((<uintptr_t>raw + 63) & ~(<uintptr_t>63))
        for g in prange(ngroups, schedule='dynamic'):
            if raw == NULL:
                fail[0] = 1
                continue
            if fc_watch_poll(wp_):
                continue
            if two_d:
                if floating is float:
                    fcft_group2_f(level, <const fcft_job2 *>job, g * per, buf, tw, tw2, H)
                else:
                    fcft_group2_d(level, <const fcft_job2 *>job, g * per, buf, tw, tw2, H)
            elif floating is float:
                fcft_group_f(level, <const fcft_job *>job, g * per, buf, tw, H)
            else:
                fcft_group_d(level, <const fcft_job *>job, g * per, buf, tw, H)
        free(raw)
    watch_raise(wp_)
    if fail[0]:
        raise MemoryError("fastconv.signal: no memory for a thread's FFT buffer")
    return 0


def _watch_after_fork():
    """In a forked child, the thread that forked is Python's main thread."""
    import threading
    fc_watch_set_main(threading.get_ident())


# Ctrl-C: every group of blocks looks first at the call's watch (fc_interrupt.h)
track_main_thread(_watch_after_fork)


def simd_levels():
    """2 if the AVX-512/AVX2 copies were compiled in, else 0."""
    return fcft_simd_levels()


def lanes(int level, int itemsize):
    """Blocks per vector (lanes) at ``level`` for a real type of ``itemsize`` bytes."""
    return fcft_lanes(level, itemsize)


def transform(floating[:, :, ::1] buf, const floating[::1] tw, bint inverse, int level):
    """In place: the forward transform of each lane of ``buf`` (shape (N, 2, V):
    element, real/imaginary part, lane), digit-reversed out; or N times the
    inverse, digit-reversed in.  For tests."""
    cdef Py_ssize_t N = buf.shape[0]
    if buf.shape[2] != fcft_lanes(level, sizeof(floating)) or N < 4:
        raise ValueError("buf must have shape (N >= 4, 2, lanes(level))")
    if <uintptr_t>&buf[0, 0, 0] % 64:
        raise ValueError("buf must be aligned to 64 bytes")
    with nogil:
        if floating is float:
            fcft_transform_f(level, &buf[0, 0, 0], N, &tw[0], inverse)
        else:
            fcft_transform_d(level, &buf[0, 0, 0], N, &tw[0], inverse)


def spectrum(const floating[:] w, bint wcplx, Py_ssize_t N, const floating[::1] tw, int level):
    """FFT(w zero-padded to N) / N in the transform's digit-reversed order, as
    (re, im) pairs: ``w`` holds k taps (with ``wcplx`` its real parts, each
    followed by the imaginary part)."""
    import numpy as np
    cdef Py_ssize_t V = fcft_lanes(level, sizeof(floating))
    cdef Py_ssize_t ws = _elements(w.strides[0], sizeof(floating))
    cdef Py_ssize_t k = w.shape[0]
    H = np.empty(2 * N, dtype=np.float32 if floating is float else np.float64)
    cdef floating[::1] h = H
    cdef void *raw = malloc(2 * N * V * sizeof(floating) + 64)
    cdef floating *buf = <floating *>((<uintptr_t>raw + 63) & ~(<uintptr_t>63))
    if raw == NULL:
        raise MemoryError("fastconv.signal: no memory for an FFT buffer")
    with nogil:
        if floating is float:
            fcft_spectrum_f(level, &w[0], k, ws, wcplx, N, &tw[0], buf, &h[0])
        else:
            fcft_spectrum_d(level, &w[0], k, ws, wcplx, N, &tw[0], buf, &h[0])
    free(raw)
    return H


def convolve(const floating[:, :] x, bint xcplx, const floating[::1] H,
             const floating[::1] tw, floating[:, :] out, bint pair, Py_ssize_t start,
             Py_ssize_t k, Py_ssize_t N, int level, int nthreads):
    """See the module: out (rows, length) real (``pair``) or the real parts of
    complex outputs (imaginary parts following)."""
    cdef fcft_job J
    cdef Py_ssize_t V = fcft_lanes(level, sizeof(floating))
    if N < V or N < 16 or N - k < 0:
        raise ValueError(f"blocks of {N} cannot hold {k} taps at {V} lanes")
    J.x = &x[0, 0]
    J.xrs = _elements(x.strides[0], sizeof(floating))
    J.xcs = _elements(x.strides[1], sizeof(floating))
    J.n = x.shape[1]
    J.xcplx = xcplx
    J.out = &out[0, 0]
    J.ors = _elements(out.strides[0], sizeof(floating))
    J.ocs = _elements(out.strides[1], sizeof(floating))
    J.pair = pair
    J.start = start
    J.length = out.shape[1]
    J.k = k
    J.N = N
    J.step = N - k + 1
    J.nb = (J.length + J.step - 1) // J.step
    J.rows = out.shape[0]
    cdef Py_ssize_t per = 2 * V if pair else V
    cdef Py_ssize_t ngroups = (J.rows * J.nb + per - 1) // per
    _run_groups(&J, False, level, ngroups, per, 2 * N * V, &tw[0], NULL, &H[0], nthreads)


def spectrum2(const floating[:, :] w, bint wcplx, Py_ssize_t Nr, Py_ssize_t Nc,
              const floating[::1] twr, const floating[::1] twc, int level):
    """FFT2(w zero-padded to Nr x Nc) / (Nr Nc) in the 2-D transform's order, as
    (re, im) pairs (see ``spectrum``)."""
    import numpy as np
    cdef Py_ssize_t V = fcft_lanes(level, sizeof(floating))
    cdef Py_ssize_t wrs = _elements(w.strides[0], sizeof(floating))
    cdef Py_ssize_t wcs = _elements(w.strides[1], sizeof(floating))
    H = np.empty(2 * Nr * Nc, dtype=np.float32 if floating is float else np.float64)
    cdef floating[::1] h = H
    cdef void *raw = malloc(2 * Nr * Nc * V * sizeof(floating) + 64)
    cdef floating *buf = <floating *>((<uintptr_t>raw + 63) & ~(<uintptr_t>63))
    if raw == NULL:
        raise MemoryError("fastconv.signal: no memory for an FFT buffer")
    with nogil:
        if floating is float:
            fcft_spectrum2_f(level, &w[0, 0], w.shape[0], w.shape[1], wrs, wcs, wcplx, Nr, Nc,
                             &twr[0], &twc[0], buf, &h[0])
        else:
            fcft_spectrum2_d(level, &w[0, 0], w.shape[0], w.shape[1], wrs, wcs, wcplx, Nr, Nc,
                             &twr[0], &twc[0], buf, &h[0])
    free(raw)
    return H


def convolve2(const floating[:, :, :] x, bint xcplx, const floating[::1] H,
              const floating[::1] twr, const floating[::1] twc, floating[:, :, :] out,
              bint pair, Py_ssize_t sr, Py_ssize_t sc, Py_ssize_t kr, Py_ssize_t kc,
              Py_ssize_t Nr, Py_ssize_t Nc, int level, int nthreads):
    """``convolve`` for planes: out[p] = full2(x[p], w)[sr:sr + lr, sc:sc + lc]."""
    cdef fcft_job2 J
    cdef Py_ssize_t V = fcft_lanes(level, sizeof(floating))
    if Nc < V or Nc < 16 or Nr < 4 or Nr - kr < 0 or Nc - kc < 0:
        raise ValueError(f"tiles of {Nr} x {Nc} cannot hold {kr} x {kc} taps at {V} lanes")
    J.x = &x[0, 0, 0]
    J.xps = _elements(x.strides[0], sizeof(floating))
    J.xrs = _elements(x.strides[1], sizeof(floating))
    J.xcs = _elements(x.strides[2], sizeof(floating))
    J.H = x.shape[1]
    J.W = x.shape[2]
    J.xcplx = xcplx
    J.out = &out[0, 0, 0]
    J.ops = _elements(out.strides[0], sizeof(floating))
    J.ors = _elements(out.strides[1], sizeof(floating))
    J.ocs = _elements(out.strides[2], sizeof(floating))
    J.pair = pair
    J.sr = sr
    J.lr = out.shape[1]
    J.sc = sc
    J.lc = out.shape[2]
    J.kr = kr
    J.kc = kc
    J.Nr = Nr
    J.Nc = Nc
    J.str = Nr - kr + 1
    J.stc = Nc - kc + 1
    J.nbr = (J.lr + J.str - 1) // J.str
    J.nbc = (J.lc + J.stc - 1) // J.stc
    J.planes = out.shape[0]
    cdef Py_ssize_t per = 2 * V if pair else V
    cdef Py_ssize_t ngroups = (J.planes * J.nbr * J.nbc + per - 1) // per
    _run_groups(&J, True, level, ngroups, per, 2 * Nr * Nc * V, &twr[0], &twc[0], &H[0],
                nthreads)
