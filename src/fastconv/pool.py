"""Max and mean pooling in 1, 2 and 3 spatial dimensions, forward and backward.

PyTorch semantics (``torch.nn.functional.max_pool2d``, ``avg_pool2d``, ...) on
NumPy arrays of shape (N, C, *spatial) or unbatched (C, *spatial).
"""

import math

import numpy as np

from fastconv import _isa, _pool_kernels
from fastconv._caches import BoundedCache, plain
from fastconv._dask import dask_aware
from fastconv._shapes import (
    MAX_EXTENT,
    as_int,
    batched_shape,
    check_fits,
    int_tuple,
    pool_output_size,
    pool_window_tables,
)
from fastconv._threads import get_num_threads
from fastconv._validation import as_array, as_bool, as_kernel_input, result_dtype

__all__ = [
    "max_pool", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool_backward", "max_pool1d_backward", "max_pool2d_backward", "max_pool3d_backward",
    "avg_pool", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "avg_pool_backward", "avg_pool1d_backward", "avg_pool2d_backward", "avg_pool3d_backward",
]


# ---------------------------------------------------------------- argument checking

def _rank(kernel_size, ndim, nd, name):
    """Spatial rank: fixed ``nd``, else a tuple kernel's length, else ndim - 2."""
    if nd is not None:
        return nd
    if isinstance(kernel_size, (tuple, list)):
        nd = len(kernel_size)
        if not 1 <= nd <= 3:
            raise ValueError(f"kernel_size must have 1, 2 or 3 entries (one per spatial axis), "
                             f"got {kernel_size!r}")
        return nd
    nd = ndim - 2
    if not 1 <= nd <= 3:
        raise ValueError(
            f"{name} must have 3, 4 or 5 dimensions (N, C, *spatial) when kernel_size is an "
            f"integer, got {ndim} dimensions; pass a tuple kernel_size or use the 1d/2d/3d "
            f"functions for unbatched input")
    return nd


class _Pool:
    """Validated geometry of one pooling, promoted to three spatial axes."""

    def __init__(self, shape, nd, kernel_size, stride, padding, dilation, ceil_mode,
                 name="x"):
        self.nd = nd
        self.shape, self.unbatched = batched_shape(shape, nd, name, "pooling")
        self.in_spatial = self.shape[2:]
        k = int_tuple(kernel_size, nd, "kernel_size", minimum=1)
        s = k if stride is None else int_tuple(stride, nd, "stride", minimum=1)
        p = int_tuple(padding, nd, "padding", minimum=0)
        d = int_tuple(dilation, nd, "dilation", minimum=1)
        ceil_mode = as_bool(ceil_mode, "ceil_mode")
        for axis in range(nd):
            if p[axis] > k[axis] // 2:
                raise ValueError(
                    f"padding must be at most half of kernel_size (padding <= kernel_size // 2, "
                    f"as in PyTorch), got padding={padding!r} and kernel_size={kernel_size!r}")
        out = []
        for axis, (n, kk, ss, pp, dd) in enumerate(zip(self.in_spatial, k, s, p, d)):
            if dd * (kk - 1) + 1 > MAX_EXTENT:
                raise ValueError(f"kernel_size={kernel_size!r} with dilation={dilation!r} is "
                                 f"too large")
            o = pool_output_size(n, kk, ss, pp, dd, ceil_mode)
            if o < 1:
                raise ValueError(
                    f"kernel_size={kernel_size!r} (dilation {dilation!r}) does not fit in the "
                    f"input: spatial axis {axis} has size {n} + padding {pp}+{pp}, output size "
                    f"would be {o}")
            out.append(o)
        self.kernel, self.stride, self.padding, self.dilation = k, s, p, d
        self.out_spatial = tuple(out)
        # before anything is allocated (a broadcast view of a huge shape)
        check_fits(math.prod(self.shape), 4, name, self.shape, "its shape")
        one = (1,) * (3 - nd)
        self.geo = (one + self.in_spatial, one + self.out_spatial, one + k, one + s,
                    (0,) * (3 - nd) + p, one + d)
        self.planes = self.shape[0] * self.shape[1]

    @property
    def out_shape(self):
        shape = self.shape[:2] + self.out_spatial
        return shape[1:] if self.unbatched else shape

    def tables(self, count_include_pad=True):
        """Per promoted axis: (tap_lo, tap_hi, first, factor)."""
        n, o, k, s, p, d = self.geo
        return [pool_window_tables(n[a], k[a], s[a], p[a], d[a], o[a], count_include_pad)
                for a in range(3)]

    def check_windows(self, tabs):
        """Refuse dilated windows that hold no input element at all (PyTorch would
        return an index outside the input for them)."""
        for a in range(3 - self.nd, 3):
            first = tabs[a][2]
            if (first < 0).any():
                i = int(np.argmax(first < 0))
                raise ValueError(
                    f"with dilation={self.dilation!r} and padding={self.padding!r}, output "
                    f"window {i} along spatial axis {a - 3 + self.nd} lies entirely in the "
                    f"padding (input size {self.in_spatial[a - 3 + self.nd]})")


# Plans of repeated calls (kernel arguments included), when their window tables
# are small (never data-sized): at most 128 entries of < 40 KiB.
_PLANS = BoundedCache("pool plans", 128)
_CACHED_TABLES_UPTO = 1024      # outputs + taps over the three axes

# Below this many input elements (1 MiB of float32) a call runs on one thread:
# waking a team (or waiting for a thread another process keeps off its core)
# costs more than the work, ~0.1 ms (PyTorch's grain: 32768 elements per thread).
_POOL_GRAIN = 1 << 18


def _pool_threads(elements):
    return get_num_threads() if elements >= _POOL_GRAIN else 1


def _cached_plan(key, flags, build):
    """build() -> (plan, args), cached under key + flags when key is plain (its
    shape is a tuple of ints already), the flags are bools and the tables small."""
    for f in flags:
        if f.__class__ is not bool:
            return build()
    for v in key[3:]:
        t = v.__class__
        if not (t is int or v is None or t is str or (t is tuple and plain(v))):
            return build()
    key = key + flags
    hit = _PLANS.get(key)
    if hit is None:
        hit = build()
        plan = hit[0]
        if sum(plan.out_spatial) + sum(plan.kernel) <= _CACHED_TABLES_UPTO:
            _PLANS.put(key, hit)
    return hit


_SIMD_LEVEL = {"avx512": 2, "avx2": 1}


def _simd_level():
    """SIMD row kernels for float32: 2 AVX-512, 1 AVX2, 0 none (the Cython loops).
    Follows the instruction set fastconv._isa chose (CPU check, FASTCONV_ISA)."""
    return min(_SIMD_LEVEL.get(_isa.current_isa(), 0), _pool_kernels.simd_levels())


def _intp(a):
    return np.require(a, dtype=np.intp, requirements=["C", "A"])


def _i64(a):
    return np.require(a, dtype=np.int64, requirements=["C", "A"])


def _divisor(divisor_override):
    if divisor_override is None:
        return 0
    v = as_int(divisor_override, "divisor_override")
    if v <= 0:
        raise ValueError(f"divisor_override must be a positive integer, got {divisor_override!r}")
    if v > MAX_EXTENT:
        raise ValueError(f"divisor_override={divisor_override!r} is too large")
    return v


def _input_shape(input_shape):
    if input_shape is None or isinstance(input_shape, (str, bytes)) or not hasattr(
            input_shape, "__iter__"):
        raise TypeError(f"input_shape must be a tuple of integers, got {input_shape!r}")
    shape = tuple(as_int(v, "input_shape") for v in input_shape)
    if any(v < 0 for v in shape):
        raise ValueError(f"input_shape must not have negative sizes, got {input_shape!r}")
    return shape


# ---------------------------------------------------------------- max pooling

@dask_aware("max_pool")
def max_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
             return_indices=False, *, _nd=None):
    """Max pooling in 1-3 spatial dimensions, as ``torch.nn.functional.max_pool1d/2d/3d``.

    Parameters
    ----------
    x : array_like, shape (N, C, *spatial) or (C, *spatial)
        Input.  Without the batch axis the result has none either.
    kernel_size : int or tuple of int
        Window size.  A tuple's length sets the spatial rank (1-3); with an int
        the rank is ``x.ndim - 2``.
    stride : int or tuple of int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or tuple of int, default 0
        Implicit ``-inf`` on both sides of each axis; at most ``kernel_size // 2``.
    dilation : int or tuple of int, default 1
        Spacing between window taps.
    ceil_mode : bool, default False
        Round the output size up (the last window must start inside the input or
        the left padding).
    return_indices : bool, default False
        Also return the argmax of each window as int64 flat offsets into its
        (n, c) input plane, identical to PyTorch's.

    Returns
    -------
    y : ndarray, shape (N, C, *out_spatial)
        dtype ``np.result_type(x, np.float32)``.  A window containing NaN gives
        NaN (its index points to the last NaN, as in PyTorch); ties give the first
        maximum in row-major window order.
    indices : ndarray of int64, same shape as y
        Only with ``return_indices=True``.

    Raises
    ------
    TypeError
        Complex or non-numeric ``x``, non-integer parameters.
    ValueError
        Bad parameter values or shapes; the message names the parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.pool import max_pool
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool(x, 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> y, idx = max_pool(x, (2, 2), return_indices=True)
    >>> idx
    array([[[[ 5,  7],
             [13, 15]]]])
    """
    x = as_array(x, "x")
    return_indices = as_bool(return_indices, "return_indices")
    dtype = result_dtype(x)
    nd = _rank(kernel_size, x.ndim, _nd, "x")

    def build():
        plan = _Pool(x.shape, nd, kernel_size, stride, padding, dilation, ceil_mode)
        tabs = plan.tables()
        plan.check_windows(tabs)
        tw = tabs[2]
        return plan, (plan.geo, _intp(tw[0]), _intp(tw[1]), _intp(tw[2]))

    plan, args = _cached_plan(("max", x.shape, nd, kernel_size, stride, padding, dilation),
                              (ceil_mode,), build)
    y = np.empty(plan.out_shape, dtype=dtype)
    ind = np.empty(plan.out_shape if return_indices else (1,), dtype=np.int64)
    if y.size:
        xk = as_kernel_input(x, dtype)
        _pool_kernels.max_pool_forward(
            xk.reshape(-1), y.reshape(-1), ind.reshape(-1), return_indices, plan.planes,
            *args, _pool_threads(x.size), _simd_level())
    return (y, ind) if return_indices else y


@dask_aware("max_pool_backward")
def max_pool_backward(grad_output, indices, input_shape, *, spatial_ndim=None):
    """Gradient of :func:`max_pool` with respect to its input.

    ``grad_output`` is scattered (added) to the input positions named by
    ``indices``; overlapping windows add up.  Deterministic for any thread count.

    Parameters
    ----------
    grad_output : array_like, shape (N, C, *out_spatial) or (C, *out_spatial)
        Gradient of the loss with respect to the pooled output.
    indices : array_like of int, same shape as grad_output
        The indices returned by ``max_pool(..., return_indices=True)``: flat
        offsets into each (n, c) input plane.
    input_shape : tuple of int
        Full shape of the pooling input ``x`` (batched or not, like ``x``).
    spatial_ndim : int, optional
        Spatial rank; defaults to ``len(input_shape) - 2`` (batched input).  The
        1d/2d/3d functions fix it, which is needed for unbatched input.

    Returns
    -------
    ndarray, shape input_shape, dtype ``np.result_type(grad_output, np.float32)``

    Raises
    ------
    ValueError
        Mismatched shapes, or an index outside its input plane.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.pool import max_pool, max_pool_backward
    >>> x = np.array([[[1.0, 3.0, 2.0, 0.0]]])
    >>> y, idx = max_pool(x, 2, return_indices=True)
    >>> max_pool_backward(np.ones_like(y), idx, x.shape)
    array([[[0., 1., 1., 0.]]])
    """
    grad_output = as_array(grad_output, "grad_output")
    indices = as_array(indices, "indices")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"indices must have an integer dtype, got {indices.dtype}")
    input_shape = _input_shape(input_shape)
    if spatial_ndim is None:
        nd = len(input_shape) - 2
        if not 1 <= nd <= 3:
            raise ValueError(f"input_shape must have 3, 4 or 5 entries (N, C, *spatial), got "
                             f"{input_shape!r}; use the 1d/2d/3d functions for unbatched input")
    else:
        nd = as_int(spatial_ndim, "spatial_ndim")
        if not 1 <= nd <= 3:
            raise ValueError(f"spatial_ndim must be 1, 2 or 3, got {spatial_ndim!r}")
    shape, unbatched = batched_shape(input_shape, nd, "input_shape", "pooling")
    if grad_output.shape != indices.shape:
        raise ValueError(f"grad_output and indices must have the same shape, got "
                         f"{grad_output.shape} and {indices.shape}")
    if grad_output.ndim != len(input_shape) or grad_output.shape[:-nd] != input_shape[:-nd]:
        raise ValueError(f"grad_output of shape {grad_output.shape} does not match "
                         f"input_shape {input_shape!r} (same ndim and leading axes expected)")
    dtype = result_dtype(grad_output)
    # empty: the kernel zeroes each plane just before its scatter, in parallel and in
    # cache (measured faster than np.zeros, whose calloc zeroes recycled memory serially)
    gx = np.empty(input_shape, dtype=dtype)
    planes = shape[0] * shape[1]
    pin = math.prod(shape[2:])
    pout = math.prod(grad_output.shape[-nd:])
    if gx.size == 0:
        return gx
    if grad_output.size == 0:
        gx.fill(0)
        return gx
    gyk = as_kernel_input(grad_output, dtype).reshape(-1)
    ik = as_kernel_input(indices, np.int64).reshape(-1)
    if indices.dtype.kind == "u" and indices.dtype.itemsize == 8 and (
            indices > np.iinfo(np.int64).max).any():
        raise ValueError("indices must lie in [0, prod(spatial input shape)), got a value "
                         "that overflows int64")
    bad = _pool_kernels.max_pool_backward(gyk, ik, gx.reshape(-1), planes, pin, pout,
                                          _pool_threads(gx.size))
    if bad:
        raise ValueError(f"indices must lie in [0, {pin}) (the size of one input plane of "
                         f"input_shape {input_shape!r}); {bad} do not")
    return gx


# ---------------------------------------------------------------- mean pooling

def _avg_plan(shape, nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, name):
    """(plan, the kernels' arguments after the buffers and plane count)."""
    def build():
        plan = _Pool(shape, nd, kernel_size, stride, padding, 1, ceil_mode, name)
        cip = as_bool(count_include_pad, "count_include_pad")
        div = _divisor(divisor_override)
        tabs = plan.tables(cip)
        tw = tabs[2]
        return plan, (plan.geo, _intp(tw[0]), _intp(tw[1]), _i64(tabs[0][3]),
                      _i64(tabs[1][3]), _i64(tw[3]), div)

    return _cached_plan(("avg", shape, nd, kernel_size, stride, padding, divisor_override,
                         name), (ceil_mode, count_include_pad), build)


@dask_aware("avg_pool")
def avg_pool(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
             divisor_override=None, *, _nd=None):
    """Mean pooling in 1-3 spatial dimensions, as ``torch.nn.functional.avg_pool1d/2d/3d``.

    Parameters
    ----------
    x : array_like, shape (N, C, *spatial) or (C, *spatial)
        Input.  Without the batch axis the result has none either.
    kernel_size : int or tuple of int
        Window size; a tuple's length sets the spatial rank, an int means
        ``x.ndim - 2`` spatial axes.
    stride : int or tuple of int, optional
        Defaults to ``kernel_size``.
    padding : int or tuple of int, default 0
        Implicit zeros on both sides; at most ``kernel_size // 2``.
    ceil_mode : bool, default False
        Round the output size up; the overhang past the padding is never counted.
    count_include_pad : bool, default True
        Divide by the window size including padding (else by the number of
        input elements in the window).
    divisor_override : int, optional
        Divide every window sum by this instead.

    Returns
    -------
    ndarray, shape (N, C, *out_spatial), dtype ``np.result_type(x, np.float32)``
        Float32 sums of up to 16 terms accumulate in float32 in row-major window
        order (as PyTorch); larger windows accumulate in float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.pool import avg_pool
    >>> avg_pool(np.arange(6.0).reshape(1, 1, 6), 2)
    array([[[0.5, 2.5, 4.5]]])
    >>> avg_pool(np.ones((1, 1, 3)), 3, stride=1, padding=1)
    array([[[0.66666667, 1.        , 0.66666667]]])
    """
    x = as_array(x, "x")
    dtype = result_dtype(x)
    nd = _rank(kernel_size, x.ndim, _nd, "x")
    plan, args = _avg_plan(x.shape, nd, kernel_size, stride, padding, ceil_mode,
                           count_include_pad, divisor_override, "x")
    y = np.empty(plan.out_shape, dtype=dtype)
    if y.size:
        xk = as_kernel_input(x, dtype)
        wide = dtype == np.float32 and math.prod(plan.kernel) > 16
        rc = _pool_kernels.avg_pool_forward(xk.reshape(-1), y.reshape(-1), plan.planes,
                                            *args, wide, _pool_threads(x.size), _simd_level())
        if rc:
            raise MemoryError("avg_pool: could not allocate scratch memory")
    return y


@dask_aware("avg_pool_backward")
def avg_pool_backward(grad_output, input_shape, kernel_size, stride=None, padding=0,
                      ceil_mode=False, count_include_pad=True, divisor_override=None, *,
                      _nd=None):
    """Gradient of :func:`avg_pool` with respect to its input.

    Each output gradient is divided by its window's divisor and spread over the
    input elements of the window; overlapping windows add up.  Deterministic for
    any thread count.

    Parameters
    ----------
    grad_output : array_like, shape of ``avg_pool``'s output
    input_shape : tuple of int
        Full shape of the pooling input ``x`` (batched or not, like ``x``).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        As given to :func:`avg_pool`.

    Returns
    -------
    ndarray, shape input_shape, dtype ``np.result_type(grad_output, np.float32)``

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv.pool import avg_pool_backward
    >>> avg_pool_backward(np.ones((1, 1, 2)), (1, 1, 4), 2)
    array([[[0.5, 0.5, 0.5, 0.5]]])
    """
    grad_output = as_array(grad_output, "grad_output")
    input_shape = _input_shape(input_shape)
    nd = _rank(kernel_size, len(input_shape), _nd, "input_shape")
    plan, args = _avg_plan(input_shape, nd, kernel_size, stride, padding, ceil_mode,
                           count_include_pad, divisor_override, "input_shape")
    if grad_output.shape != plan.out_shape:
        raise ValueError(f"grad_output must have shape {plan.out_shape} (the pooled output "
                         f"of input_shape {input_shape!r}), got {grad_output.shape}")
    dtype = result_dtype(grad_output)
    gx = np.empty(input_shape, dtype=dtype)
    if gx.size == 0:
        return gx
    gyk = as_kernel_input(grad_output, dtype)
    rc = _pool_kernels.avg_pool_backward(gyk.reshape(-1), gx.reshape(-1), plan.planes,
                                         *args, _pool_threads(gx.size))
    if rc:
        raise MemoryError("avg_pool_backward: could not allocate scratch memory")
    return gx


# ---------------------------------------------------------------- fixed-rank forms

def _fixed(nd):
    def max_pool_nd(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                    return_indices=False):
        return max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                        _nd=nd)

    def max_pool_nd_backward(grad_output, indices, input_shape):
        return max_pool_backward(grad_output, indices, input_shape, spatial_ndim=nd)

    def avg_pool_nd(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                    count_include_pad=True, divisor_override=None):
        return avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, _nd=nd)

    def avg_pool_nd_backward(grad_output, input_shape, kernel_size, stride=None, padding=0,
                             ceil_mode=False, count_include_pad=True, divisor_override=None):
        return avg_pool_backward(grad_output, input_shape, kernel_size, stride, padding,
                                 ceil_mode, count_include_pad, divisor_override, _nd=nd)

    fns = []
    for f, base in ((max_pool_nd, "max_pool"), (max_pool_nd_backward, "max_pool"),
                    (avg_pool_nd, "avg_pool"), (avg_pool_nd_backward, "avg_pool")):
        backward = f.__name__.endswith("backward")
        name = f"{base}{nd}d" + ("_backward" if backward else "")
        generic = f"{base}_backward" if backward else base
        f.__name__ = f.__qualname__ = name
        f.__doc__ = (f"{nd}-d form of :func:`fastconv.pool.{generic}`: x of shape "
                     f"(N, C, {nd} spatial axes) or unbatched (C, {nd} spatial axes).\n\n"
                     f"See :func:`fastconv.pool.{generic}` for the parameters.")
        fns.append(f)
    return fns


max_pool1d, max_pool1d_backward, avg_pool1d, avg_pool1d_backward = _fixed(1)
max_pool2d, max_pool2d_backward, avg_pool2d, avg_pool2d_backward = _fixed(2)
max_pool3d, max_pool3d_backward, avg_pool3d, avg_pool3d_backward = _fixed(3)
