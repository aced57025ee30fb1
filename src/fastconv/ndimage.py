"""Drop-in replacements for scipy.ndimage's linear, min/max, rank and generic filters.

``from fastconv import ndimage`` in place of ``from scipy import ndimage``:
the functions take the same arguments (all eight boundary modes with ``cval``,
per-axis sequences of modes, sigmas and sizes where SciPy takes them, scalar and
per-axis ``origin``, ``axes``, ``output=`` as an array or a dtype, complex data
where SciPy accepts it) and give the same results with the same dtypes, raising
the same exception types.  They run multithreaded (``fastconv.set_num_threads``)
with results bit-identical for any thread count; inputs are never modified.

* float64 data (and every integer dtype, computed in float64 as SciPy does):
  the same operations in the same order as SciPy's C code, so the same bits.
* float32 data with a float32 output: computed in float32 (SciPy computes in
  float64 and rounds), within ``2*sqrt(K)*2**-24*sum(|w||x|)`` of the exact value;
  uniform filters and min/max filters still give SciPy's bits.
* Separable filters (gaussian, uniform, rectangular min/max) run as 1-D passes,
  each stored in the output's dtype before the next, as SciPy stores them.

* Rank filters (rank/median/percentile) select SciPy's element: the N-d
  filters partition each window as SciPy does (NaN and signed zeros included),
  1-D input follows SciPy's 1-D rules (window of ``footprint.size``, int64
  comparisons, float16 accepted).
* generic_filter/generic_filter1d call the Python function as SciPy does
  (scipy.LowLevelCallable is refused with a TypeError).

Not covered: NaN inputs to the 1-D and separable min/max filters (SciPy's
result depends on the scan order of its deque; the N-d footprint filters make
SciPy's comparisons in SciPy's order) and so to rank filters whose rank is the
first or last (SciPy runs them as min/max filters); NaN and -0.0 in 1-D rank
filters (SciPy's 1-D path orders them its own way); int64 beyond 2**53 in N-d
min/max and rank filters (computed in float64; SciPy compares them as integers
in min/max).  SciPy's 1-D rank path reads outside its buffers for a window
longer than a reflected or wrapped line and for an output dtype other than the
input's; fastconv gives the window's true rank there.

The argument handling follows scipy.ndimage (BSD-3-Clause, Copyright (C)
2003-2005 Peter J. Verveer).

Examples
--------
>>> import numpy as np
>>> from fastconv import ndimage
>>> x = np.arange(10, dtype=np.float64)
>>> ndimage.uniform_filter1d(x, 3)
array([0.33333333, 1.        , 2.        , 3.        , 4.        , 5.        ,
       6.        , 7.        , 8.        , 8.66666667])
"""

import math
import numbers
import operator
import warnings
from collections.abc import Iterable

import numpy as np

from fastconv import _ndfilters as _nf
from fastconv._dask import dask_aware
from fastconv._ndfilters import OP_CORR, OP_MAX, OP_MIN, OP_UNIFORM
from fastconv._ndfilters import axis_index as normalize_axis_index
from fastconv._shapes import check_fits

__all__ = ["correlate1d", "convolve1d", "gaussian_filter1d", "gaussian_filter",
           "correlate", "convolve", "uniform_filter1d", "uniform_filter",
           "minimum_filter1d", "maximum_filter1d", "minimum_filter", "maximum_filter",
           "prewitt", "sobel", "laplace", "generic_laplace", "gaussian_laplace",
           "generic_gradient_magnitude", "gaussian_gradient_magnitude",
           "rank_filter", "median_filter", "percentile_filter", "generic_filter",
           "generic_filter1d"]


# ---- the C layer: what scipy.ndimage._nd_image does, on fastconv's kernels ----

def _nd_passes(input, output, passes, cval):
    _nf.check_types(input, output)
    cval = _nf.as_cval(cval)
    passes = [(ax, op, size, origin, _nf.extend_mode_to_code(mode), cval, w)
              for ax, op, size, origin, mode, w in passes]
    return _nf.run_passes(input, output, passes)


def _nd_filter(input, output, footprint, origins, mode, cval, op):
    cval = _nf.as_cval(cval)
    _nf.check_types(input, output, nd=True)
    mode = _nf.extend_mode_to_code(mode)
    if op != OP_CORR:
        cval = _nf.c_cast_value(cval, input.dtype)
    return _nf.filternd(input, output, footprint, origins, mode, cval, op)


# ---- helpers of SciPy's Python layer ------------------------------------------

def _invalid_origin(origin, lenw):
    return (origin < -(lenw // 2)) or (origin > (lenw - 1) // 2)


def _complex_via_real_components(func, input, weights, output, cval, **kwargs):
    complex_input = input.dtype.kind == "c"
    complex_weights = weights.dtype.kind == "c"
    if complex_input and complex_weights:
        func(input.real, weights.real, output=output.real, cval=np.real(cval), **kwargs)
        output.real -= func(input.imag, weights.imag, output=None, cval=np.imag(cval), **kwargs)
        func(input.real, weights.imag, output=output.imag, cval=np.real(cval), **kwargs)
        output.imag += func(input.imag, weights.real, output=None, cval=np.imag(cval),
                            **kwargs)
    elif complex_input:
        func(input.real, weights, output=output.real, cval=np.real(cval), **kwargs)
        func(input.imag, weights, output=output.imag, cval=np.imag(cval), **kwargs)
    else:
        if np.iscomplexobj(cval):
            raise ValueError("Cannot provide a complex-valued cval when the input is real.")
        func(input, weights.real, output=output.real, cval=cval, **kwargs)
        func(input, weights.imag, output=output.imag, cval=cval, **kwargs)
    return output


def _expand_origin(ndim_image, axes, origin):
    num_axes = len(axes)
    origins = _nf.normalize_sequence(origin, num_axes, "origin")
    if num_axes < ndim_image:
        origins_temp = [0] * ndim_image
        for o, ax in zip(origins, axes):
            origins_temp[ax] = o
        origins = origins_temp
    return origins


def _expand_footprint(ndim_image, axes, footprint, footprint_name="footprint"):
    num_axes = len(axes)
    if num_axes < ndim_image:
        if footprint.ndim != num_axes:
            raise RuntimeError(f"{footprint_name}.ndim ({footprint.ndim}) "
                               f"must match len(axes) ({num_axes})")
        footprint = np.expand_dims(footprint,
                                   tuple(ax for ax in range(ndim_image) if ax not in axes))
    return footprint


def _check_size(size, name="size"):
    if size < 1:
        raise RuntimeError(f"incorrect filter size: {name}={size!r}")


def _check_window_origin(size, origin):
    if (size // 2 + origin < 0) or (size // 2 + origin >= size):
        raise ValueError(f"invalid origin: origin={origin!r} for a filter of size {size}")


# ---- correlation and convolution ------------------------------------------------

@dask_aware("ndimage.correlate1d")
def correlate1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """Correlate ``input`` with the 1-D ``weights`` along ``axis`` (scipy.ndimage.correlate1d).

    Parameters
    ----------
    input : array_like
        Input array (bool, integer, float32, float64 or complex).
    weights : array_like
        1-D sequence of weights.
    axis : int, optional
        Axis along which to filter.
    output : ndarray or dtype, optional
        Where to place the result, or its dtype (default: the input's).
    mode : {'reflect', 'constant', 'nearest', 'mirror', 'wrap', 'grid-constant', \
'grid-mirror', 'grid-wrap'}, optional
        How the input is extended beyond its edges (SciPy's names: 'reflect' repeats the
        edge sample, 'mirror' does not).
    cval : scalar, optional
        Value beyond the edges for the constant modes.
    origin : int, optional
        Shift of the filter's centre, ``-(len(weights) // 2) <= origin <= (len(weights)-1) // 2``.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.correlate1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    """
    input = np.asarray(input)
    weights = np.asarray(weights)
    complex_input = input.dtype.kind == "c"
    complex_weights = weights.dtype.kind == "c"
    if complex_input or complex_weights:
        if complex_weights:
            weights = weights.conj()
            weights = weights.astype(np.complex128, copy=False)
        kwargs = dict(axis=axis, mode=mode, origin=origin)
        output = _nf.get_output(output, input, complex_output=True)
        return _complex_via_real_components(correlate1d, input, weights, output, cval,
                                            **kwargs)
    output = _nf.get_output(output, input)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 1 or weights.shape[0] < 1:
        raise RuntimeError(f"no filter weights given: weights.shape={weights.shape}")
    axis = normalize_axis_index(axis, input.ndim)
    if _invalid_origin(origin, len(weights)):
        raise ValueError("Invalid origin; origin must satisfy -(len(weights) // 2) <= origin "
                         f"<= (len(weights)-1) // 2, got origin={origin!r}")
    return _nd_passes(input, output,
                      [(axis, OP_CORR, weights.shape[0], _nf.origin_index(origin), mode,
                        weights)], cval)


@dask_aware("ndimage.convolve1d")
def convolve1d(input, weights, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """Convolve ``input`` with the 1-D ``weights`` along ``axis`` (scipy.ndimage.convolve1d).

    The arguments are those of `correlate1d`; the weights are flipped and, for an
    even length, the origin moves one sample as SciPy moves it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.convolve1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    weights = np.asarray(weights)
    weights = weights[::-1]
    origin = -origin
    if not weights.shape[0] & 1:
        origin -= 1
    if weights.dtype.kind == "c":
        weights = weights.conj()
    return correlate1d(input, weights, axis, output, mode, cval, origin)


def _correlate_or_convolve(input, weights, output, mode, cval, origin, convolution, axes):
    input = np.asarray(input)
    weights = np.asarray(weights)
    complex_input = input.dtype.kind == "c"
    complex_weights = weights.dtype.kind == "c"
    if complex_input or complex_weights:
        if complex_weights and not convolution:
            weights = weights.conj()
        kwargs = dict(mode=mode, origin=origin, convolution=convolution, axes=axes)
        output = _nf.get_output(output, input, complex_output=True)
        return _complex_via_real_components(_correlate_or_convolve, input, weights, output,
                                            cval, **kwargs)
    axes = _nf.check_axes(axes, input.ndim)
    weights = np.asarray(weights, dtype=np.float64)
    weights = _expand_footprint(input.ndim, axes, weights, "weights")
    origins = _expand_origin(input.ndim, axes, origin)
    wshape = [ii for ii in weights.shape if ii > 0]
    if len(wshape) != input.ndim:
        raise RuntimeError(f"weights.ndim ({len(wshape)}) must match len(axes) ({len(axes)})")
    if convolution:
        weights = weights[tuple([slice(None, None, -1)] * weights.ndim)]
        for ii in range(len(origins)):
            origins[ii] = -origins[ii]
            if not weights.shape[ii] & 1:
                origins[ii] -= 1
    for o, lenw in zip(origins, wshape):
        if _invalid_origin(o, lenw):
            raise ValueError("Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= "
                             f"origin[k] <= (weights.shape[k]-1) // 2, got origin={origin!r}")
    output = _nf.get_output(output, input)
    if not isinstance(mode, str) and isinstance(mode, Iterable):
        raise RuntimeError(f"A sequence of modes is not supported: mode={mode!r}")
    if input.ndim == 0:
        _nf.check_types(input, output, nd=True)
        # SciPy's footprint: the weights of magnitude above DBL_EPSILON (a NaN is not);
        # with none the output is 0, whatever the input (inf and NaN included)
        w = float(weights.reshape(())) if weights.size == 1 else 0.0
        value = np.asarray(input, np.float64) * w if abs(w) > _nf._DBL_EPSILON else 0.0
        _nf.store(np.asarray(value, np.float64), output)
        return output
    return _nd_filter(input, output, weights, _nf.nd_origins(origins), mode, cval, OP_CORR)


@dask_aware("ndimage.correlate")
def correlate(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None):
    """N-d correlation of ``input`` with ``weights`` (scipy.ndimage.correlate).

    Parameters
    ----------
    input : array_like
        Input array.
    weights : array_like
        Weights, with as many dimensions as ``axes`` (the input's by default).
    output : ndarray or dtype, optional
        Where to place the result, or its dtype (default: the input's).
    mode : str, optional
        Boundary mode (one name; see `correlate1d`).
    cval : scalar, optional
        Value beyond the edges for the constant modes.
    origin : int or sequence of int, optional
        Shift of the filter's centre, per axis or for all.
    axes : int or sequence of int, optional
        Axes to filter (default: all).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> x = np.arange(9.0).reshape(3, 3)
    >>> ndimage.correlate(x, [[0, 1], [1, 0]])
    array([[ 0.,  1.,  3.],
           [ 3.,  4.,  6.],
           [ 9., 10., 12.]])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, False, axes)


@dask_aware("ndimage.convolve")
def convolve(input, weights, output=None, mode="reflect", cval=0.0, origin=0, *, axes=None):
    """N-d convolution of ``input`` with ``weights`` (scipy.ndimage.convolve).

    The arguments are those of `correlate`; the weights are flipped along every
    axis and, for an even extent, the origin moves one sample as SciPy moves it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> k = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0]])
    >>> ndimage.convolve(a, k, mode='constant', cval=0.0)
    array([[11, 10,  7,  4],
           [10,  3, 11, 11],
           [15, 12, 14,  7],
           [12,  3,  7,  0]])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, True, axes)


# ---- Gaussian ---------------------------------------------------------------------

def _gaussian_kernel1d(sigma, order, radius):
    """SciPy's sampled Gaussian (or derivative) of the given radius, same bits."""
    if order < 0:
        raise ValueError(f"order must be non-negative, got order={order!r}")
    exponent_range = np.arange(order + 1)
    sigma2 = sigma * sigma
    x = np.arange(-radius, radius + 1)
    phi_x = np.exp(-0.5 / sigma2 * x ** 2)
    phi_x = phi_x / phi_x.sum()
    if order == 0:
        return phi_x
    q = np.zeros(order + 1)
    q[0] = 1
    D = np.diag(exponent_range[1:], 1)
    P = np.diag(np.ones(order) / -sigma2, -1)
    Q_deriv = D + P
    for _ in range(order):
        q = Q_deriv.dot(q)
    q = (x[:, None] ** exponent_range).dot(q)
    return q * phi_x


def _gaussian_weights(sigma, order, truncate, radius):
    sd = float(sigma)
    lw = int(truncate * sd + 0.5)
    if radius is not None:
        lw = radius
    if not isinstance(lw, numbers.Integral) or lw < 0:
        raise ValueError(f"Radius must be a nonnegative integer, got radius={lw!r}.")
    # correlate, not convolve: the kernel reversed
    return _gaussian_kernel1d(sigma, order, lw)[::-1]


@dask_aware("ndimage.gaussian_filter1d")
def gaussian_filter1d(input, sigma, axis=-1, order=0, output=None, mode="reflect", cval=0.0,
                      truncate=4.0, *, radius=None):
    """1-D Gaussian filter (or derivative of order ``order``) along ``axis``
    (scipy.ndimage.gaussian_filter1d).

    Parameters
    ----------
    input : array_like
    sigma : scalar
        Standard deviation of the Gaussian.
    axis : int, optional
    order : int, optional
        0 smooths; 1, 2, 3 convolve with that derivative of the Gaussian.
    output, mode, cval :
        As in `correlate1d`.
    truncate : float, optional
        The kernel stops at ``int(truncate * sigma + 0.5)`` samples from its centre.
    radius : int, optional
        Kernel radius; overrides ``truncate``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.gaussian_filter1d([1.0, 2.0, 3.0, 4.0, 5.0], 1)
    array([1.42704095, 2.06782203, 3.        , 3.93217797, 4.57295905])
    """
    weights = _gaussian_weights(sigma, order, truncate, radius)
    return correlate1d(input, weights, axis, output, mode, cval, 0)


@dask_aware("ndimage.gaussian_filter")
def gaussian_filter(input, sigma, order=0, output=None, mode="reflect", cval=0.0, truncate=4.0,
                    *, radius=None, axes=None):
    """N-d Gaussian filter as 1-D passes (scipy.ndimage.gaussian_filter).

    ``sigma``, ``order``, ``mode`` and ``radius`` may be given per filtered axis.
    Other arguments as in `gaussian_filter1d`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.gaussian_filter(np.arange(50, step=2).reshape(5, 5), sigma=1)
    array([[ 4,  6,  8,  9, 11],
           [10, 12, 14, 15, 17],
           [20, 22, 24, 25, 27],
           [29, 31, 33, 34, 36],
           [35, 37, 39, 40, 42]])
    """
    input = np.asarray(input)
    output = _nf.get_output(output, input)
    passes = _gaussian_passes(input.ndim, sigma, order, mode, truncate, radius, axes)
    if not passes:
        output[...] = input[...]
        return output
    if input.dtype.kind == "c" or output.dtype.kind == "c":
        for axis, _op, _size, origin, md, w in passes:
            correlate1d(input, w, axis, output, md, cval, origin)
            input = output
        return output
    return _nd_passes(input, output, passes, cval)


def _gaussian_passes(ndim, sigma, order, mode, truncate, radius, axes):
    """gaussian_filter's 1-D passes (axis, OP_CORR, size, origin, mode, weights), in
    order, for an ndim-dimensional input (none along an axis whose sigma is ~0)."""
    axes = _nf.check_axes(axes, ndim, deferred=True)
    num_axes = len(axes)
    orders = _nf.normalize_sequence(order, num_axes, "order")
    sigmas = _nf.normalize_sequence(sigma, num_axes, "sigma")
    modes = _nf.normalize_sequence(mode, num_axes, "mode")
    radiuses = _nf.normalize_sequence(radius, num_axes, "radius")
    axes = [(_nf.axis_index(axes[ii], ndim), sigmas[ii], orders[ii], modes[ii],
             radiuses[ii]) for ii in range(num_axes) if sigmas[ii] > 1e-15]
    passes = []
    for axis, sig, ordr, md, rad in axes:
        w = np.ascontiguousarray(_gaussian_weights(sig, ordr, truncate, rad))
        passes.append((axis, OP_CORR, w.shape[0], 0, md, w))
    return passes


# ---- uniform ----------------------------------------------------------------------

@dask_aware("ndimage.uniform_filter1d")
def uniform_filter1d(input, size, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """Mean over a window of ``size`` samples along ``axis`` (scipy.ndimage.uniform_filter1d).

    Computed as SciPy computes it: a running sum in float64, divided by ``size``
    at each output, at a cost independent of ``size``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.uniform_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([4, 3, 4, 1, 4, 6, 6, 3])
    """
    input = np.asarray(input)
    axis = normalize_axis_index(axis, input.ndim)
    _check_size(size)
    complex_output = input.dtype.kind == "c"
    output = _nf.get_output(output, input, complex_output=complex_output)
    _check_window_origin(size, origin)
    if not complex_output:
        return _nd_passes(input, output, [(axis, OP_UNIFORM, operator.index(size),
                                           _nf.origin_index(origin), mode, None)], cval)
    _nd_passes(input.real, output.real,
               [(axis, OP_UNIFORM, operator.index(size), _nf.origin_index(origin), mode,
                 None)], np.real(cval))
    _nd_passes(input.imag, output.imag,
               [(axis, OP_UNIFORM, operator.index(size), _nf.origin_index(origin), mode,
                 None)], np.imag(cval))
    return output


@dask_aware("ndimage.uniform_filter")
def uniform_filter(input, size=3, output=None, mode="reflect", cval=0.0, origin=0, *,
                   axes=None):
    """N-d mean filter as 1-D running-sum passes (scipy.ndimage.uniform_filter).

    ``size``, ``origin`` and ``mode`` may be given per filtered axis.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.uniform_filter(np.arange(16.0).reshape(4, 4), size=3)
    array([[ 1.66666667,  2.33333333,  3.33333333,  4.        ],
           [ 4.33333333,  5.        ,  6.        ,  6.66666667],
           [ 8.33333333,  9.        , 10.        , 10.66666667],
           [11.        , 11.66666667, 12.66666667, 13.33333333]])
    """
    input = np.asarray(input)
    output = _nf.get_output(output, input, complex_output=input.dtype.kind == "c")
    axes = _nf.check_axes(axes, input.ndim, deferred=True)
    num_axes = len(axes)
    sizes = _nf.normalize_sequence(size, num_axes, "size")
    origins = _nf.normalize_sequence(origin, num_axes, "origin")
    modes = _nf.normalize_sequence(mode, num_axes, "mode")
    axes = [(_nf.axis_index(axes[ii], input.ndim), sizes[ii], origins[ii], modes[ii])
            for ii in range(num_axes) if sizes[ii] > 1]
    if not axes:
        output[...] = input[...]
        return output
    if input.dtype.kind == "c" or output.dtype.kind == "c":
        for axis, sz, org, md in axes:
            uniform_filter1d(input, int(sz), axis, output, md, cval, org)
            input = output
        return output
    passes = []
    for axis, sz, org, md in axes:
        sz = int(sz)        # SciPy's int(size) before the 1-D filter's checks
        _check_size(sz)
        _check_window_origin(sz, org)
        passes.append((axis, OP_UNIFORM, sz, _nf.origin_index(org), md, None))
    return _nd_passes(input, output, passes, cval)


# ---- minimum and maximum ----------------------------------------------------------

def _min_or_max_1d(input, size, axis, output, mode, cval, origin, op):
    input = np.asarray(input)
    if np.iscomplexobj(input):
        raise TypeError("Complex type not supported (input)")
    axis = normalize_axis_index(axis, input.ndim)
    _check_size(size)
    output = _nf.get_output(output, input)
    _check_window_origin(size, origin)
    return _nd_passes(input, output,
                      [(axis, op, operator.index(size), _nf.origin_index(origin), mode,
                        None)], cval)


@dask_aware("ndimage.minimum_filter1d")
def minimum_filter1d(input, size, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """Minimum over a window of ``size`` samples along ``axis``
    (scipy.ndimage.minimum_filter1d).

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.minimum_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([2, 0, 0, 0, 1, 1, 0, 0])
    """
    return _min_or_max_1d(input, size, axis, output, mode, cval, origin, OP_MIN)


@dask_aware("ndimage.maximum_filter1d")
def maximum_filter1d(input, size, axis=-1, output=None, mode="reflect", cval=0.0, origin=0):
    """Maximum over a window of ``size`` samples along ``axis``
    (scipy.ndimage.maximum_filter1d).

    Examples
    --------
    >>> from fastconv import ndimage
    >>> ndimage.maximum_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([8, 8, 8, 4, 9, 9, 9, 9])
    """
    return _min_or_max_1d(input, size, axis, output, mode, cval, origin, OP_MAX)


def _min_or_max_filter(input, size, footprint, output, mode, cval, origin, op, axes):
    if (size is not None) and (footprint is not None):
        warnings.warn("ignoring size because footprint is set", UserWarning, stacklevel=3)
    if footprint is None:
        if size is None:
            raise RuntimeError("no footprint provided: give size or footprint")
        separable = True
    else:
        footprint = np.asarray(footprint, dtype=bool)
        if not footprint.any():
            raise ValueError("All-zero footprint is not supported.")
        if footprint.all():
            size = footprint.shape
            footprint = None
            separable = True
        else:
            separable = False
    input = np.asarray(input)
    if np.iscomplexobj(input):
        raise TypeError("Complex type not supported (input)")
    output = _nf.get_output(output, input)
    axes = _nf.check_axes(axes, input.ndim, deferred=True)
    num_axes = len(axes)
    if separable:
        origins = _nf.normalize_sequence(origin, num_axes, "origin")
        sizes = _nf.normalize_sequence(size, num_axes, "size")
        modes = _nf.normalize_sequence(mode, num_axes, "mode")
        axes = [(axes[ii], sizes[ii], origins[ii], modes[ii])
                for ii in range(len(axes)) if sizes[ii] > 1]
        if not axes:
            output[...] = input[...]
            return output
        passes = []
        for axis, sz, org, md in axes:
            axis = normalize_axis_index(axis, input.ndim)
            sz = int(sz)    # SciPy's int(size) before the 1-D filter's checks
            _check_size(sz)
            _check_window_origin(sz, org)
            passes.append((axis, op, sz, _nf.origin_index(org), md, None))
        return _nd_passes(input, output, passes, cval)
    axes = tuple(_nf.axis_index(a, input.ndim) for a in axes)
    footprint = _expand_footprint(input.ndim, axes, footprint)
    origins = _expand_origin(input.ndim, axes, origin)
    fshape = [ii for ii in footprint.shape if ii > 0]
    if len(fshape) != input.ndim:
        raise RuntimeError(f"footprint.ndim ({footprint.ndim}) must match len(axes) ({len(axes)})")
    for org, lenf in zip(origins, fshape):
        _check_window_origin(lenf, org)
    if not isinstance(mode, str) and isinstance(mode, Iterable):
        raise RuntimeError("A sequence of modes is not supported for non-separable "
                           f"footprints: mode={mode!r}")
    return _nd_filter(input, output, footprint, _nf.nd_origins(origins), mode, cval, op)


@dask_aware("ndimage.minimum_filter")
def minimum_filter(input, size=None, footprint=None, output=None, mode="reflect", cval=0.0,
                   origin=0, *, axes=None):
    """N-d minimum filter (scipy.ndimage.minimum_filter).

    A ``size`` (or an all-true ``footprint``) runs as 1-D passes; any other
    footprint as an N-d filter over its true elements.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.minimum_filter(np.arange(9).reshape(3, 3), size=2)
    array([[0, 0, 1],
           [0, 0, 1],
           [3, 3, 4]])
    """
    return _min_or_max_filter(input, size, footprint, output, mode, cval, origin, OP_MIN, axes)


@dask_aware("ndimage.maximum_filter")
def maximum_filter(input, size=None, footprint=None, output=None, mode="reflect", cval=0.0,
                   origin=0, *, axes=None):
    """N-d maximum filter (scipy.ndimage.maximum_filter).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.maximum_filter(np.arange(9).reshape(3, 3),
    ...                        footprint=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    array([[3, 4, 5],
           [6, 7, 8],
           [7, 8, 8]])
    """
    return _min_or_max_filter(input, size, footprint, output, mode, cval, origin, OP_MAX, axes)


# ---- rank filters ------------------------------------------------------------------

def _expand_mode(ndim_image, axes, mode):
    if not isinstance(mode, str) and isinstance(mode, Iterable):
        # 'constant' for the axes not filtered (their footprint is 1 long)
        modes = _nf.normalize_sequence(mode, len(axes), "mode")
        modes_temp = ["constant"] * ndim_image
        for m, ax in zip(modes, axes):
            modes_temp[ax] = m
        mode = modes_temp
    return mode


def _filter_mode_code(mode):
    """SciPy's code of a rank filter's mode: grid-wrap and grid-constant as wrap
    and constant (``is_filter=True``)."""
    return _nf.extend_mode_to_code({"grid-wrap": "wrap", "grid-constant": "constant"}.get(
        mode, mode) if isinstance(mode, str) else mode)


def _footprint_of(input, size, footprint, axes):
    """(footprint expanded to input.ndim as a bool array, axes) from size or footprint."""
    if footprint is None:
        if size is None:
            raise RuntimeError("no footprint or filter size provided: give size or footprint")
        sizes = _nf.normalize_sequence(size, len(axes), "size")
        if all(isinstance(n, numbers.Integral) and n >= 0 for n in sizes):
            check_fits(math.prod(sizes), 1, "size", size, "the footprint")
            # every element true: a read-only view that holds one (the checks before the
            # filter read its shape; a huge window costs nothing until it is used)
            footprint = np.broadcast_to(np.True_, tuple(int(n) for n in sizes))
        else:
            footprint = np.ones(sizes, dtype=bool)    # NumPy's (and SciPy's) error
    else:
        footprint = np.asarray(footprint, dtype=bool)
    return _expand_footprint(input.ndim, axes, footprint)


def _check_origins(input, footprint, axes, origins):
    """SciPy's checks of the expanded footprint and origins."""
    fshape = [ii for ii in footprint.shape if ii > 0]
    if len(fshape) != input.ndim:
        raise RuntimeError(f"footprint.ndim ({footprint.ndim}) must match len(axes) "
                           f"({len(axes)})")
    for org, lenf in zip(origins, fshape):
        _check_window_origin(lenf, org)


def _window_of(input, size, footprint, origin, axes):
    """The checks the rank and generic filters share: the input as an array (complex
    refused, as SciPy does), the axes, and the footprint and origins over every axis."""
    input = np.asarray(input)
    if np.iscomplexobj(input):
        raise TypeError("Complex type not supported (input)")
    axes = _nf.check_axes(axes, input.ndim)
    footprint = _footprint_of(input, size, footprint, axes)
    return input, axes, footprint, _expand_origin(input.ndim, axes, origin)


def _rank_filter(input, rank, size, footprint, output, mode, cval, origin, operation, axes):
    if (size is not None) and (footprint is not None):
        warnings.warn("ignoring size because footprint is set", UserWarning, stacklevel=3)
    input, axes, footprint, origins = _window_of(input, size, footprint, origin, axes)
    mode = _expand_mode(input.ndim, axes, mode)
    _check_origins(input, footprint, axes, origins)
    filter_size = _nf.true_count(footprint)
    if operation == "median":
        rank = filter_size // 2
    elif operation == "percentile":
        percentile = rank
        if percentile < 0.0:
            percentile = percentile + 100.0     # (not +=: it may be the caller's 0-d array)
        if percentile < 0 or percentile > 100:
            raise RuntimeError(f"invalid percentile: percentile={rank!r} (needs -100..100)")
        if percentile == 100.0:
            rank = filter_size - 1
        else:
            rank = int(float(filter_size) * percentile / 100.0)
    given = rank
    if rank < 0:
        rank = rank + filter_size
    if rank < 0 or rank >= filter_size:
        raise RuntimeError(f"rank not within filter footprint size: rank={given!r} for "
                           f"{filter_size} elements")
    if rank == 0:
        return minimum_filter(input, None, footprint, output, mode, cval, origins, axes=None)
    if rank == filter_size - 1:
        return maximum_filter(input, None, footprint, output, mode, cval, origins, axes=None)
    output = _nf.get_output(output, input)
    if not isinstance(mode, str) and isinstance(mode, Iterable):
        raise RuntimeError("A sequence of modes is not supported by non-separable rank "
                           f"filters: mode={mode!r}")
    code = _filter_mode_code(mode)
    ints = [_nf.origin_index(o) for o in origins]
    # SciPy's 1-D fast path (its rule, gh-23293): a window of footprint.size samples
    lim2 = input.size - ((footprint.size - 1) // 2 - (ints[-1] if ints else 0))
    if input.ndim == 1 and (lim2 >= 0 or input.size == 1):
        return _nf.rank_1d(input, output, footprint.size, ints[0], code, cval, int(rank))
    return _nf.rank_nd(input, output, footprint, _nf.nd_origins(origins), code, cval, int(rank))


@dask_aware("ndimage.rank_filter")
def rank_filter(input, rank, size=None, footprint=None, output=None, mode="reflect", cval=0.0,
                origin=0, *, axes=None):
    """N-d rank filter (scipy.ndimage.rank_filter): the element of ``rank``
    (negative: counted from the largest) among the window's sorted values.

    Rank 0 and the last rank run as minimum_filter and maximum_filter (as in
    SciPy); a 1-D input takes SciPy's 1-D rule (a window of ``footprint.size``
    samples, integers compared as int64).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.rank_filter(np.array([5, 1, 4, 2, 8, 0, 3]), 1, size=3)
    array([5, 4, 2, 4, 2, 3, 3])
    >>> ndimage.rank_filter(np.arange(9.).reshape(3, 3), -2, size=3)
    array([[3., 4., 5.],
           [6., 7., 8.],
           [7., 8., 8.]])
    """
    rank = operator.index(rank)
    return _rank_filter(input, rank, size, footprint, output, mode, cval, origin, "rank",
                        axes)


@dask_aware("ndimage.median_filter")
def median_filter(input, size=None, footprint=None, output=None, mode="reflect", cval=0.0,
                  origin=0, *, axes=None):
    """N-d median filter (scipy.ndimage.median_filter): the element of rank
    ``n // 2`` among the window's ``n`` values (the upper median for even ``n``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.median_filter(np.array([1, 9, 2, 8, 3, 7, 4]), size=3)
    array([1, 2, 8, 3, 7, 4, 4])
    >>> x = np.zeros((4, 4), dtype=np.float32)
    >>> x[1, 2] = 100.0
    >>> ndimage.median_filter(x, size=3).max()
    np.float32(0.0)
    """
    return _rank_filter(input, 0, size, footprint, output, mode, cval, origin, "median", axes)


@dask_aware("ndimage.percentile_filter")
def percentile_filter(input, percentile, size=None, footprint=None, output=None,
                      mode="reflect", cval=0.0, origin=0, *, axes=None):
    """N-d percentile filter (scipy.ndimage.percentile_filter): the element of rank
    ``int(n * percentile / 100)`` among the window's ``n`` values (a negative
    percentile counts from 100).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.percentile_filter(np.arange(16.).reshape(4, 4), 20, size=3)
    array([[ 0.,  0.,  1.,  2.],
           [ 0.,  1.,  2.,  3.],
           [ 4.,  5.,  6.,  7.],
           [ 8.,  9., 10., 11.]])
    """
    return _rank_filter(input, percentile, size, footprint, output, mode, cval, origin,
                        "percentile", axes)


# ---- filters with a Python function ---------------------------------------------------

def _check_callable(function):
    try:
        from scipy import LowLevelCallable
    except ImportError:  # SciPy absent: nothing can be one
        LowLevelCallable = ()
    if LowLevelCallable and isinstance(function, LowLevelCallable):
        raise TypeError("scipy.LowLevelCallable is not supported by fastconv.ndimage: pass "
                        "a Python callable (or call scipy.ndimage with it)")
    if not callable(function):
        raise TypeError(f"function must be callable, got {function!r}")


@dask_aware("ndimage.generic_filter1d")
def generic_filter1d(input, function, filter_size, axis=-1, output=None, mode="reflect",
                     cval=0.0, origin=0, extra_arguments=(), extra_keywords=None):
    """A 1-D filter along ``axis`` computed by a Python function
    (scipy.ndimage.generic_filter1d).

    For each line, ``function(iline, oline, *extra_arguments, **extra_keywords)``
    receives the line as float64, extended by ``filter_size // 2 + origin``
    samples before it and the rest of ``filter_size - 1`` after it, and writes
    the line's result into ``oline`` (float64, the line's length); it is then
    stored in the output's dtype.  scipy.LowLevelCallable is not supported
    (TypeError).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> def diff(iline, oline):
    ...     oline[...] = iline[2:] - iline[:-2]
    >>> ndimage.generic_filter1d(np.array([0., 1., 4., 9., 16.]), diff, 3)
    array([ 1.,  4.,  8., 12.,  7.])
    """
    if extra_keywords is None:
        extra_keywords = {}
    input = np.asarray(input)
    if np.iscomplexobj(input):
        raise TypeError("Complex type not supported (input)")
    output = _nf.get_output(output, input)
    if filter_size < 1:
        raise RuntimeError(f"invalid filter size: filter_size={filter_size!r}")
    axis = normalize_axis_index(axis, input.ndim)
    _check_window_origin(filter_size, origin)
    code = _nf.extend_mode_to_code(mode)
    _check_callable(function)
    return _nf.generic_1d(input, output, function, operator.index(filter_size), axis, code,
                          cval, operator.index(origin), tuple(extra_arguments),
                          dict(extra_keywords))


@dask_aware("ndimage.generic_filter")
def generic_filter(input, function, size=None, footprint=None, output=None, mode="reflect",
                   cval=0.0, origin=0, extra_arguments=(), extra_keywords=None, *, axes=None):
    """An N-d filter computed by a Python function (scipy.ndimage.generic_filter).

    ``function(values, *extra_arguments, **extra_keywords)`` receives, for each
    output in C order, a float64 1-D array of the window's values (the
    footprint's true elements in C order, ``cval`` outside the array, as a
    double) and returns a number, stored in the output's dtype.  The windows
    are gathered a block of outputs at a time (bounded memory).
    scipy.LowLevelCallable is not supported (TypeError).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.generic_filter(np.arange(6.), lambda v: v.max() - v.min(), size=3)
    array([1., 2., 2., 2., 2., 1.])
    >>> ndimage.generic_filter(np.eye(3), np.sum, footprint=[[1, 0], [0, 1]])
    array([[2., 1., 0.],
           [1., 2., 0.],
           [0., 0., 2.]])
    """
    if (size is not None) and (footprint is not None):
        warnings.warn("ignoring size because footprint is set", UserWarning, stacklevel=2)
    if extra_keywords is None:
        extra_keywords = {}
    input, axes, footprint, origins = _window_of(input, size, footprint, origin, axes)
    _check_origins(input, footprint, axes, origins)
    output = _nf.get_output(output, input)
    code = _nf.extend_mode_to_code(mode)
    _check_callable(function)
    return _nf.generic_nd(input, output, function, footprint, _nf.nd_origins(origins), code,
                          cval, tuple(extra_arguments), dict(extra_keywords))


# ---- derivatives ------------------------------------------------------------------

@dask_aware("ndimage.prewitt")
def prewitt(input, axis=-1, output=None, mode="reflect", cval=0.0):
    """Prewitt derivative along ``axis`` (scipy.ndimage.prewitt).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.prewitt(np.array([[0, 0, 1, 1]] * 3), axis=1)
    array([[0, 3, 3, 0],
           [0, 3, 3, 0],
           [0, 3, 3, 0]])
    """
    return _edge_filter(input, axis, output, mode, cval, [1, 1, 1])


@dask_aware("ndimage.sobel")
def sobel(input, axis=-1, output=None, mode="reflect", cval=0.0):
    """Sobel derivative along ``axis`` (scipy.ndimage.sobel).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.sobel(np.array([[0, 0, 1, 1]] * 3), axis=1)
    array([[0, 4, 4, 0],
           [0, 4, 4, 0],
           [0, 4, 4, 0]])
    """
    return _edge_filter(input, axis, output, mode, cval, [1, 2, 1])


def _edge_filter(input, axis, output, mode, cval, smooth):
    """The central difference [-1, 0, 1] along ``axis``, then ``smooth`` along every
    other axis, in place in the output (SciPy's order of passes, so SciPy's bits)."""
    input = np.asarray(input)
    axis = normalize_axis_index(axis, input.ndim)
    output = _nf.get_output(output, input)
    modes = _nf.normalize_sequence(mode, input.ndim, "mode")
    correlate1d(input, [-1, 0, 1], axis, output, modes[axis], cval, 0)
    for ii in [ii for ii in range(input.ndim) if ii != axis]:
        correlate1d(output, smooth, ii, output, modes[ii], cval, 0)
    return output


@dask_aware("ndimage.generic_laplace")
def generic_laplace(input, derivative2, output=None, mode="reflect", cval=0.0,
                    extra_arguments=(), extra_keywords=None, *, axes=None):
    """Sum of second derivatives given by ``derivative2`` (scipy.ndimage.generic_laplace).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> d2 = lambda x, axis, out, mode, cval: ndimage.correlate1d(x, [1, -2, 1], axis, out,
    ...                                                            mode, cval)
    >>> ndimage.generic_laplace(np.eye(3), d2)
    array([[-2.,  2.,  0.],
           [ 2., -4.,  2.],
           [ 0.,  2., -2.]])
    """
    if extra_keywords is None:
        extra_keywords = {}
    input = np.asarray(input)
    output = _nf.get_output(output, input)
    axes = _nf.check_axes(axes, input.ndim)
    if len(axes) > 0:
        modes = _nf.normalize_sequence(mode, len(axes), "mode")
        derivative2(input, axes[0], output, modes[0], cval, *extra_arguments, **extra_keywords)
        for ii in range(1, len(axes)):
            tmp = derivative2(input, axes[ii], output.dtype, modes[ii], cval,
                              *extra_arguments, **extra_keywords)
            output += tmp
    else:
        output[...] = input[...]
    return output


@dask_aware("ndimage.laplace")
def laplace(input, output=None, mode="reflect", cval=0.0, *, axes=None):
    """Laplace filter from second differences [1, -2, 1] (scipy.ndimage.laplace).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.laplace(np.eye(3))
    array([[-2.,  2.,  0.],
           [ 2., -4.,  2.],
           [ 0.,  2., -2.]])
    """
    def derivative2(input, axis, output, mode, cval):
        return correlate1d(input, [1, -2, 1], axis, output, mode, cval, 0)
    return generic_laplace(input, derivative2, output, mode, cval, axes=axes)


@dask_aware("ndimage.gaussian_laplace")
def gaussian_laplace(input, sigma, output=None, mode="reflect", cval=0.0, *, axes=None,
                     **kwargs):
    """Laplacian of Gaussian (scipy.ndimage.gaussian_laplace).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.gaussian_laplace(np.eye(3), 1).round(3)
    array([[-0.385,  0.037,  0.348],
           [ 0.037, -0.073,  0.037],
           [ 0.348,  0.037, -0.385]])
    """
    input = np.asarray(input)

    def derivative2(input, axis, output, mode, cval, sigma, **kwargs):
        order = [0] * input.ndim
        order[axis] = 2
        return gaussian_filter(input, sigma, order, output, mode, cval, **kwargs)

    axes = _nf.check_axes(axes, input.ndim)
    num_axes = len(axes)
    sigma = _nf.normalize_sequence(sigma, num_axes, "sigma")
    if num_axes < input.ndim:
        sigma_temp = [0] * input.ndim
        for s, ax in zip(sigma, axes):
            sigma_temp[ax] = s
        sigma = sigma_temp
    return generic_laplace(input, derivative2, output, mode, cval, extra_arguments=(sigma,),
                           extra_keywords=kwargs, axes=axes)


@dask_aware("ndimage.generic_gradient_magnitude")
def generic_gradient_magnitude(input, derivative, output=None, mode="reflect", cval=0.0,
                               extra_arguments=(), extra_keywords=None, *, axes=None):
    """Root of the sum of squared derivatives given by ``derivative``
    (scipy.ndimage.generic_gradient_magnitude).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.generic_gradient_magnitude(np.array([[0.0, 0, 1, 1]] * 3), ndimage.sobel)
    array([[0., 4., 4., 0.],
           [0., 4., 4., 0.],
           [0., 4., 4., 0.]])
    """
    if extra_keywords is None:
        extra_keywords = {}
    input = np.asarray(input)
    output = _nf.get_output(output, input)
    axes = _nf.check_axes(axes, input.ndim)
    if len(axes) > 0:
        modes = _nf.normalize_sequence(mode, len(axes), "mode")
        derivative(input, axes[0], output, modes[0], cval, *extra_arguments, **extra_keywords)
        np.multiply(output, output, output)
        for ii in range(1, len(axes)):
            tmp = derivative(input, axes[ii], output.dtype, modes[ii], cval,
                             *extra_arguments, **extra_keywords)
            np.multiply(tmp, tmp, tmp)
            output += tmp
        np.sqrt(output, output, casting="unsafe")
    else:
        output[...] = input[...]
    return output


@dask_aware("ndimage.gaussian_gradient_magnitude")
def gaussian_gradient_magnitude(input, sigma, output=None, mode="reflect", cval=0.0, *,
                                axes=None, **kwargs):
    """Gradient magnitude with Gaussian derivatives (scipy.ndimage.gaussian_gradient_magnitude).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import ndimage
    >>> ndimage.gaussian_gradient_magnitude(np.eye(3), 1).round(3)
    array([[0.153, 0.202, 0.132],
           [0.202, 0.   , 0.202],
           [0.132, 0.202, 0.153]])
    """
    input = np.asarray(input)

    def derivative(input, axis, output, mode, cval, sigma, **kwargs):
        order = [0] * input.ndim
        order[axis] = 1
        return gaussian_filter(input, sigma, order, output, mode, cval, **kwargs)

    return generic_gradient_magnitude(input, derivative, output, mode, cval,
                                      extra_arguments=(sigma,), extra_keywords=kwargs, axes=axes)
