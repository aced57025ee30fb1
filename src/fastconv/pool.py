"""Max and mean pooling in 1, 2 and 3 spatial dimensions, forward and backward.

PyTorch semantics (``torch.nn.functional.max_pool2d``, ``avg_pool2d``, ...) on
NumPy arrays of shape (N, C, *spatial) or unbatched (C, *spatial).
"""

from __future__ import annotations

import math

import numpy as np

from fastconv import _alloc, _drivers
from fastconv._dask import dask_aware
from fastconv._fastpath import NO, RECIPES, first_call, freeze, frozen_kwargs, ndarray
from fastconv._pool_plan import (
    POOL_AVG,
    POOL_MAX,
    POOL_MAX_INDICES,
    _avg_plan,
    _cached_plan,
    _input_shape,
    _intp,
    _Pool,
    _pool_threads,
    _rank,
    forward_call,
)
from fastconv._shapes import (
    as_int,
    batched_shape,
)
from fastconv._typing import ArrayLike, FloatArray, IndexArray, Shape, Size
from fastconv._validation import as_array, as_bool, as_kernel_input, result_dtype

__all__ = [
    "max_pool", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool_backward", "max_pool1d_backward", "max_pool2d_backward", "max_pool3d_backward",
    "avg_pool", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "avg_pool_backward", "avg_pool1d_backward", "avg_pool2d_backward", "avg_pool3d_backward",
]


# Repeated calls (see fastconv._fastpath): the key is x's shape and dtype and the
# other arguments as given; the recipe the checked call's PoolCall, or FULL where
# its tables are not kept (big ones) and every call takes the full path.
_MAX, _AVG = object(), object()
FULL = object()


def _fast_pool(tag, checked, func, args, kwargs):
    # max_pool and avg_pool take x and six more positionally (_nd is keyword-only)
    if not 1 <= len(args) <= 7:
        return NO
    x = args[0]
    if x.__class__ is not ndarray:
        return NO
    rest = freeze(args[1:])
    kw = frozen_kwargs(kwargs) if kwargs else ()
    if rest is NO or kw is NO:
        return NO
    key = (tag, x.shape, x.dtype, rest, kw)
    recipe = RECIPES.get(key)
    if recipe is not None:
        return NO if recipe is FULL else recipe(x)
    return first_call(key, checked, func, args, kwargs)


# Recipes keep their window tables alive: only small ones (a few KiB) get one;
# a bigger pooling takes the full path, its cost is in the kernel anyway.
_RECIPE_TABLES_UPTO = 256


def _small(plan):
    return sum(plan.out_spatial) + sum(plan.kernel) <= _RECIPE_TABLES_UPTO


def _max_checked(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                 return_indices=False, _nd=None):
    """max_pool's full path: (the result, its recipe or FULL)."""
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
    call = forward_call(POOL_MAX_INDICES if return_indices else POOL_MAX, plan, args[1:], dtype)
    return call(x), (call if _small(plan) else FULL)


def _avg_checked(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None, _nd=None):
    """avg_pool's full path: (the result, its recipe or FULL)."""
    x = as_array(x, "x")
    dtype = result_dtype(x)
    nd = _rank(kernel_size, x.ndim, _nd, "x")
    plan, args = _avg_plan(x.shape, nd, kernel_size, stride, padding, ceil_mode,
                           count_include_pad, divisor_override, "x")
    call = forward_call(POOL_AVG, plan, args[1:6], dtype, args[6])
    return call(x), (call if _small(plan) else FULL)


def _fast_max_pool(func, args, kwargs):
    return _fast_pool(_MAX, _max_checked, func, args, kwargs)


def _fast_avg_pool(func, args, kwargs):
    return _fast_pool(_AVG, _avg_checked, func, args, kwargs)


# ---------------------------------------------------------------- max pooling

@dask_aware("max_pool", fast=_fast_max_pool)
def max_pool(x: ArrayLike, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
             dilation: Size = 1, ceil_mode: bool = False, return_indices: bool = False, *,
             _nd: int | None = None) -> FloatArray | tuple[FloatArray, IndexArray]:
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
    return _max_checked(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                        _nd)[0]


@dask_aware("max_pool_backward")
def max_pool_backward(grad_output: ArrayLike, indices: ArrayLike, input_shape: Shape, *,
                      spatial_ndim: int | None = None) -> FloatArray:
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
    gx = _alloc.empty(input_shape, dtype)
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
    bad = _drivers.max_pool_backward[gyk.dtype](gyk, ik, gx.reshape(-1), planes, pin, pout,
                                                _pool_threads(gx.size))
    if bad:
        raise ValueError(f"indices must lie in [0, {pin}) (the size of one input plane of "
                         f"input_shape {input_shape!r}); {bad} do not")
    return gx


# ---------------------------------------------------------------- mean pooling

@dask_aware("avg_pool", fast=_fast_avg_pool)
def avg_pool(x: ArrayLike, kernel_size: Size, stride: Size | None = None, padding: Size = 0,
             ceil_mode: bool = False, count_include_pad: bool = True,
             divisor_override: int | None = None, *, _nd: int | None = None) -> FloatArray:
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
    return _avg_checked(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, _nd)[0]


@dask_aware("avg_pool_backward")
def avg_pool_backward(grad_output: ArrayLike, input_shape: Shape, kernel_size: Size,
                      stride: Size | None = None, padding: Size = 0, ceil_mode: bool = False,
                      count_include_pad: bool = True, divisor_override: int | None = None, *,
                      _nd: int | None = None) -> FloatArray:
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
    gx = _alloc.empty(input_shape, dtype)
    if gx.size == 0:
        return gx
    gyk = as_kernel_input(grad_output, dtype)
    rc = _drivers.avg_pool_backward[gyk.dtype](gyk.reshape(-1), gx.reshape(-1), plan.planes,
                                               *args, _pool_threads(gx.size))
    if rc:
        raise MemoryError("avg_pool_backward: could not allocate scratch memory")
    return gx


# ---------------------------------------------------------------- fixed-rank forms

def _ints(v):
    """An int or a tuple of ints (not bools): a key the checks cannot confuse."""
    t = v.__class__
    if t is int:
        return True
    if t is tuple:
        for e in v:
            if e.__class__ is not int:
                return False
        return True
    return False


def _fixed(nd):
    # the fixed-rank forms key their recipes on their own arguments, checked
    # plain by class (see fastconv._fastpath); any other call takes max_pool's way
    max_tag, avg_tag = object(), object()

    def max_pool_nd(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
                    padding: Size = 0, dilation: Size = 1, ceil_mode: bool = False,
                    return_indices: bool = False) -> FloatArray | tuple[FloatArray, IndexArray]:
        # (ints are tested inline first: a function call costs a tiny call ~5 %)
        if (x.__class__ is ndarray and ceil_mode.__class__ is bool
                and return_indices.__class__ is bool
                and (kernel_size.__class__ is int or _ints(kernel_size))
                and (stride is None or stride.__class__ is int or _ints(stride))
                and (padding.__class__ is int or _ints(padding))
                and (dilation.__class__ is int or _ints(dilation))):
            key = (max_tag, x.shape, x.dtype, kernel_size, stride, padding, dilation, ceil_mode,
                   return_indices)
            recipe = RECIPES.get(key)
            if recipe is None:
                result, recipe = _max_checked(x, kernel_size, stride, padding, dilation,
                                              ceil_mode, return_indices, nd)
                RECIPES.put(key, recipe)
                return result
            if recipe is not FULL:
                return recipe(x)
        return max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                        _nd=nd)

    def max_pool_nd_backward(grad_output: ArrayLike, indices: ArrayLike,
                             input_shape: Shape) -> FloatArray:
        return max_pool_backward(grad_output, indices, input_shape, spatial_ndim=nd)

    def avg_pool_nd(x: ArrayLike, kernel_size: Size, stride: Size | None = None,
                    padding: Size = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                    divisor_override: int | None = None) -> FloatArray:
        if (x.__class__ is ndarray and ceil_mode.__class__ is bool
                and count_include_pad.__class__ is bool
                and (kernel_size.__class__ is int or _ints(kernel_size))
                and (stride is None or stride.__class__ is int or _ints(stride))
                and (padding.__class__ is int or _ints(padding))
                and (divisor_override is None or divisor_override.__class__ is int)):
            key = (avg_tag, x.shape, x.dtype, kernel_size, stride, padding, ceil_mode,
                   count_include_pad, divisor_override)
            recipe = RECIPES.get(key)
            if recipe is None:
                result, recipe = _avg_checked(x, kernel_size, stride, padding, ceil_mode,
                                              count_include_pad, divisor_override, nd)
                RECIPES.put(key, recipe)
                return result
            if recipe is not FULL:
                return recipe(x)
        return avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, _nd=nd)

    def avg_pool_nd_backward(grad_output: ArrayLike, input_shape: Shape, kernel_size: Size,
                             stride: Size | None = None, padding: Size = 0,
                             ceil_mode: bool = False, count_include_pad: bool = True,
                             divisor_override: int | None = None) -> FloatArray:
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
