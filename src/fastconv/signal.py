"""Drop-in replacements for ``scipy.signal``'s convolutions, multithreaded.

``from fastconv import signal`` replaces ``from scipy import signal`` for
:func:`convolve`, :func:`correlate`, :func:`fftconvolve`, :func:`oaconvolve`,
:func:`convolve2d`, :func:`correlate2d`, :func:`choose_conv_method` and
:func:`correlation_lags`: same arguments, same output shapes (SciPy's alignment
of 'same' for even sizes included), same result dtypes, same errors (ValueError
or TypeError, with messages that name the parameter).

What differs: the direct sums run in fastconv's compiled kernels (on all threads),
the FFT path cuts long axes into blocks (overlap-save) so memory stays bounded,
and ``method='auto'`` never trades the exactness of integer inputs nor the
locality of NaN/inf for speed.

>>> import numpy as np
>>> from fastconv import signal
>>> signal.convolve([1, 2, 3], [0, 1, 0.5])
array([0. , 1. , 2.5, 4. , 1.5])
>>> signal.correlate([1, 2, 3], [0, 1, 0.5], mode="same")
array([2. , 3.5, 3. ])
"""

import math
import time
import warnings

import numpy as np

from fastconv import _fftconv, _select
from fastconv._dask import dask_aware
from fastconv._fastpath import NO, RECIPES, freeze
from fastconv._sigdirect import correlate_padded, direct_recipe, run_direct
from fastconv._sigmodes import (
    as_input,
    check_boundary,
    check_method,
    check_mode,
    direct_result_dtype,
    fft_result_dtype,
    full_range,
    normalize_axes,
    range_to_pads,
    same_ndim,
    valid_swap,
)

__all__ = ["convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d",
           "choose_conv_method", "correlation_lags"]


def _flip(a):
    return a[(slice(None, None, -1),) * a.ndim]


def _reverse_conj(a):
    r = _flip(a)
    return np.conj(r) if r.dtype.kind == "c" else r


# ---------------------------------------------------------------- repeated calls
# A repeated small call (same classes, shapes, dtypes and parameters: the key of
# fastconv._fastpath) whose first call ran one FIR kernel call decided by the shapes
# alone runs that call again from its recipe, without the checks and dispatch (they
# passed for exactly this key): the same kernel call, so the same bits.

_CONVOLVE, _CONV2D, _CORR2D = object(), object(), object()


def _recipe_key(tag, in1, in2, *params):
    """The recipe key of a call, or None for a call that never has one (other array
    classes, parameters of other types, verbose mode)."""
    if in1.__class__ is not np.ndarray or in2.__class__ is not np.ndarray or _select.VERBOSE:
        return None
    frozen = freeze(params)
    if frozen is NO:
        return None
    return tag, in1.shape, in1.dtype, in2.shape, in2.dtype, frozen


def _keep_recipe(key, swap, flip, x, v, pads, dtype, boundary, fill, reverse=False):
    """After a full call that ran ``correlate_padded(x, v, pads, dtype, boundary,
    fill)`` on its inputs (swapped, ``v`` flipped or not) and made only shape-decided
    choices: keep what a repeat needs, where it is one FIR kernel call."""
    if key is None:
        return
    direct = direct_recipe(x.shape, v.shape, pads, dtype, boundary, fill)
    if direct is not None:
        RECIPES.put(key, (swap, flip, reverse, np.dtype(dtype), fill, direct))


def _from_recipe(key, in1, in2):
    """The result of a repeated call from its recipe, or None."""
    recipe = RECIPES.get(key)
    if recipe is None:
        return None
    swap, flip, reverse, dtype, fill, direct = recipe
    x, w = (in2, in1) if swap else (in1, in2)
    y = run_direct(direct, x, _flip(w) if flip else w, dtype, fill)
    return np.ascontiguousarray(y[::-1, ::-1] if reverse else y)


def _nonempty(in1, in2):
    for name, a in (("in1", in1), ("in2", in2)):
        if a.size == 0:
            raise ValueError(f"{name} must not be empty, got shape {a.shape}")


@dask_aware("convolve")
def convolve(in1, in2, mode="full", method="auto"):
    """Convolve two N-dimensional arrays, as ``scipy.signal.convolve``.

    Parameters
    ----------
    in1, in2 : array_like
        Inputs with the same number of dimensions (any number, any shapes).
    mode : {'full', 'valid', 'same'}, default 'full'
        'full': the whole linear convolution. 'valid': only outputs that do not
        depend on zero padding; one input must be at least as large as the other
        in every axis (else ValueError). 'same': the size of ``in1``, centred on
        the full output (SciPy's alignment for even sizes).
    method : {'auto', 'direct', 'fft'}, default 'auto'
        'direct': sums of products in fastconv's compiled kernels; every output is
        within the float bound of its own terms, integers are exact (wrapping
        like integer sums), NaN/inf stay where they are.  'fft': fastconv's FFT
        path (overlap-save blocks), accurate norm-wise; a NaN/inf spreads over
        its block (for real input it may reach the block paired with it: the
        lane transform takes two real blocks as one complex one).  'auto': the
        faster of the two on this machine class (a cost model measured on both
        paths) among those that keep what the inputs'
        dtype promises: 'direct' for integer, bool and object inputs (exact);
        for float/complex inputs 'fft' only when it is predicted faster (a cost
        model of both paths measured on this machine class), every input is
        finite (NaN/inf stay local) and the signal's dynamic range is narrow:
        its peak magnitude at most ``max(32, 2 sqrt(K))`` times its median (K =
        the smaller input's size).  The FFT's error follows the peak while the
        direct sum's follows each output's own terms; inside that range the FFT
        results were measured within the direct path's per-element bound
        ``2 sqrt(K) eps conv(|in1|, |in2|)``.  A spike over a quiet signal, or
        a mostly-zero image, therefore stays on the direct path.

    Returns
    -------
    ndarray
        ``numpy.result_type(in1, in2)`` for every method (integers stay integers,
        float32 stays float32), as SciPy.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.convolve(np.array([1, 2, 3]), np.array([1, 1]), mode="same")
    array([1, 3, 5])
    >>> signal.convolve(np.ones((3, 3), np.float32), np.ones((2, 2), np.float32),
    ...                 mode="valid")
    array([[4., 4.],
           [4., 4.]], dtype=float32)
    """
    key = _recipe_key(_CONVOLVE, in1, in2, mode, method)
    if key is not None:
        y = _from_recipe(key, in1, in2)
        if y is not None:
            return y
    volume = as_input(in1, "in1")
    kernel = as_input(in2, "in2")
    if volume.ndim == kernel.ndim == 0:
        return volume * kernel
    same_ndim(volume, kernel)
    check_mode(mode)
    check_method(method)
    _nonempty(volume, kernel)
    swap = valid_swap(mode, volume.shape, kernel.shape)
    if swap:
        volume, kernel = kernel, volume
    # a recipe only where the values decided nothing (float inputs: no integer rule)
    if volume.dtype.kind != "f" or kernel.dtype.kind != "f":
        key = None
    if method == "auto":
        if _integers_past_float(volume, kernel):
            method = "direct"
        else:
            method = _shape_choice(volume, kernel, mode)
            if method is None:
                key = None
                method = _value_choice(volume, kernel)
    dtype = direct_result_dtype(volume.dtype, kernel.dtype)
    if method == "fft":
        return _convolve_fft(volume, kernel, mode, dtype)
    if mode == "full" and kernel.size > volume.size:
        # commutative: the longer input as the signal gives the kernels short sums
        volume, kernel = kernel, volume
        swap = not swap
    pads = [range_to_pads(k, *full_range(n, k, mode), n)
            for n, k in zip(volume.shape, kernel.shape)]
    v = _flip(kernel)
    y = np.ascontiguousarray(correlate_padded(volume, v, pads, dtype))
    _keep_recipe(key, swap, True, volume, v, pads, dtype, "constant", 0)
    return y


def _convolve_fft(volume, kernel, mode, dtype):
    cdt = fft_result_dtype(volume.dtype, kernel.dtype)
    # axes where an input has one element are a broadcast product, not a transform
    axes = [a for a in range(volume.ndim) if volume.shape[a] > 1 and kernel.shape[a] > 1]
    out = _fftconv.fft_convolve(volume, kernel, axes,
                                [full_range(volume.shape[a], kernel.shape[a], mode)
                                 for a in axes], cdt)
    if mode == "same":
        sl = tuple(slice((n - m) // 2, (n - m) // 2 + m) for n, m in zip(out.shape,
                                                                          volume.shape))
        out = out[sl]
    elif mode == "valid":
        sl = tuple(slice(0, min(n, m - k + 1)) if volume.shape[a] == 1 or kernel.shape[a] == 1
                   else slice(None) for a, (n, m, k) in
                   enumerate(zip(out.shape, volume.shape, kernel.shape)))
        out = out[sl]
    if dtype.kind in "iu":
        out = np.round(out)
    elif dtype.kind == "b":
        return np.round(out) != 0
    first = out.reshape(-1)[:1]
    if first.size and not np.isfinite(first[0]):
        warnings.warn("Use of fft convolution on input with NAN or inf results in NAN or inf "
                      "output. Consider using method='direct' instead.", RuntimeWarning,
                      stacklevel=3)
    return np.ascontiguousarray(out, dtype=dtype)


@dask_aware("correlate")
def correlate(in1, in2, mode="full", method="auto"):
    """Cross-correlate two N-dimensional arrays, as ``scipy.signal.correlate``.

    ``z[k] = sum_l in1[l + k - K] * conj(in2[l])``: the convolution of ``in1``
    with ``in2`` reversed along every axis and conjugated, so the parameters,
    modes, methods (see :func:`convolve`) and result dtypes are those of
    :func:`convolve`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.correlate(np.array([1, 2, 3, 4]), np.array([1, -1]), mode="valid")
    array([-1, -1, -1])
    >>> signal.correlate(np.array([1j, 2]), np.array([1j]))
    array([1.+0.j, 0.-2.j])
    """
    a = as_input(in1, "in1")
    b = as_input(in2, "in2")
    if a.ndim == b.ndim == 0:
        return a * (np.conj(b) if b.dtype.kind == "c" else b)
    same_ndim(a, b)
    check_mode(mode)
    check_method(method)
    return convolve(a, _reverse_conj(b), mode, method)


@dask_aware("fftconvolve")
def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolve two N-dimensional arrays using FFTs, as ``scipy.signal.fftconvolve``.

    Parameters
    ----------
    in1, in2 : array_like
        Inputs with the same number of dimensions.  Along axes not in ``axes`` the
        sizes must be equal or 1 (they broadcast).
    mode : {'full', 'valid', 'same'}, default 'full'
    axes : int or sequence of int, optional
        Axes to convolve along (default: all).

    Returns
    -------
    ndarray
        SciPy's dtype: float64 for integer, bool and object inputs, float32 for
        float16/float32, complex when either input is.

    Notes
    -----
    Long axes are cut into overlap-save blocks (the same results as one big
    transform up to rounding, with temporaries of a few blocks), so this is also
    ``oaconvolve``.  A NaN or inf spreads over the outputs of its block (for real
    input it may reach the block paired with it: the lane transform takes two
    real blocks as one complex one).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> np.round(signal.fftconvolve([1, 2, 3], [1, 1]), 12)
    array([1., 3., 5., 3.])
    """
    a = as_input(in1, "in1")
    b = as_input(in2, "in2")
    if a.ndim == b.ndim == 0:
        return a * b
    same_ndim(a, b)
    check_mode(mode)
    if a.size == 0 or b.size == 0:
        return np.array([])
    s1, s2 = a.shape, b.shape
    axes, swap = _fft_axes(s1, s2, mode, axes)
    if swap:
        a, b = b, a
        s1, s2 = s2, s1
    if not axes:
        # no axis left to transform (SciPy multiplies, keeping the inputs' dtype)
        out = a * b
    else:
        cdt = fft_result_dtype(a.dtype, b.dtype)
        ranges = [full_range(s1[ax], s2[ax], mode) for ax in axes]
        out = _fftconv.fft_convolve(a, b, axes, ranges, cdt)
    if mode == "same":
        # SciPy centres every axis on in1's size, the broadcast ones included
        sl = tuple(slice((n - m) // 2, (n - m) // 2 + m) for n, m in zip(out.shape, s1))
        out = out[sl]
    return np.ascontiguousarray(out)


def _fft_axes(s1, s2, mode, axes):
    """fftconvolve's checks of in1's and in2's shapes ``s1``, ``s2`` (one rank, neither
    empty): the axes it transforms (those of ``axes`` where neither size is 1) and
    whether SciPy's 'valid' rule swaps the inputs."""
    axes = normalize_axes(axes, len(s1))
    axes = [ax for ax in axes if s1[ax] != 1 and s2[ax] != 1]
    for ax in range(len(s1)):
        if ax not in axes and not (s1[ax] == s2[ax] or s1[ax] == 1 or s2[ax] == 1):
            raise ValueError(f"incompatible shapes for in1 and in2: {s1} and {s2} (axis {ax} "
                             "is not convolved, so its sizes must be equal or 1)")
    return axes, valid_swap(mode, s1, s2, axes)


@dask_aware("oaconvolve")
def oaconvolve(in1, in2, mode="full", axes=None):
    """Convolve two N-dimensional arrays by overlap-add, as ``scipy.signal.oaconvolve``.

    The same results as :func:`fftconvolve` (whose long axes already run in
    blocks, overlap-save); see there for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> np.round(signal.oaconvolve(np.ones(6), np.ones(2), mode="valid"), 12)
    array([2., 2., 2., 2., 2.])
    """
    return fftconvolve(in1, in2, mode=mode, axes=axes)


def _as_fill(fillvalue, dtype):
    if fillvalue.__class__ in (int, float) and dtype.kind == "f":
        return dtype.type(fillvalue)    # what the general path gives, without its arrays
    fv = np.asarray(fillvalue)
    if fv.size != 1:
        raise ValueError(f"fillvalue must be a scalar or an array with one element, got shape "
                         f"{fv.shape}")
    fv = fv.reshape(())
    if fv.dtype.kind == "c" and dtype.kind != "c":
        raise ValueError(f"fillvalue={fillvalue!r} is complex but the output dtype {dtype} is "
                         "not")
    if fv.dtype.kind not in "biufc":
        raise TypeError(f"fillvalue must be a number, got {fillvalue!r}")
    return fv.astype(dtype)[()] if dtype.kind != "O" else fv[()]


def _two_d(in1, in2, name, mode, boundary, fillvalue):
    a = as_input(in1, "in1")
    b = as_input(in2, "in2")
    if not a.ndim == b.ndim == 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays, got in1.ndim={a.ndim} and "
                         f"in2.ndim={b.ndim}")
    check_mode(mode)
    bmode = check_boundary(boundary)
    _nonempty(a, b)
    dtype = direct_result_dtype(a.dtype, b.dtype)
    fill = _as_fill(fillvalue, dtype)
    return a, b, bmode, fill, dtype


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Convolve two 2-D arrays, as ``scipy.signal.convolve2d``.

    Parameters
    ----------
    in1, in2 : array_like, 2-D
    mode : {'full', 'valid', 'same'}, default 'full'
    boundary : {'fill', 'wrap', 'symm'}, default 'fill'
        How ``in1`` is extended: by ``fillvalue``, circularly ('wrap', alias
        'circular'), or mirrored with the edge repeated ('symm', alias
        'symmetric'; ``numpy.pad``'s 'symmetric').
    fillvalue : scalar, default 0

    Returns
    -------
    ndarray
        ``numpy.result_type(in1, in2)``; direct sums (see :func:`convolve`'s
        'direct' method).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.convolve2d(np.eye(3), np.ones((2, 2)), mode="same", boundary="wrap")
    array([[2., 1., 1.],
           [1., 2., 1.],
           [1., 1., 2.]])
    """
    key = _recipe_key(_CONV2D, in1, in2, mode, boundary, fillvalue)
    if key is not None:
        y = _from_recipe(key, in1, in2)
        if y is not None:
            return y
    a, b, bmode, fill, dtype = _two_d(in1, in2, "convolve2d", mode, boundary, fillvalue)
    swap = valid_swap(mode, a.shape, b.shape)
    if swap:
        a, b = b, a
    pads = [range_to_pads(k, *full_range(n, k, mode), n) for n, k in zip(a.shape, b.shape)]
    v = _flip(b)
    y = np.ascontiguousarray(correlate_padded(a, v, pads, dtype, boundary=bmode, fill=fill))
    _keep_recipe(key, swap, True, a, v, pads, dtype, bmode, fill)
    return y


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Cross-correlate two 2-D arrays, as ``scipy.signal.correlate2d``.

    The parameters are those of :func:`convolve2d`.  As in SciPy, 'same' with an
    even-sized ``in2`` is one sample off :func:`correlate`'s 'same', and in
    'valid' mode with ``in2`` the larger input the result is
    ``correlate2d(in2, in1)`` reversed (not conjugated).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.correlate2d(np.arange(9.0).reshape(3, 3), np.ones((2, 2)), mode="valid")
    array([[ 8., 12.],
           [20., 24.]])
    """
    key = _recipe_key(_CORR2D, in1, in2, mode, boundary, fillvalue)
    if key is not None:
        y = _from_recipe(key, in1, in2)
        if y is not None:
            return y
    a, b, bmode, fill, dtype = _two_d(in1, in2, "correlate2d", mode, boundary, fillvalue)
    swapped = valid_swap(mode, a.shape, b.shape)
    if swapped:
        a, b = b, a
    v = np.conj(b) if b.dtype.kind == "c" else b
    pads = [range_to_pads(k, *full_range(n, k, mode, correlate2d=True), n)
            for n, k in zip(a.shape, b.shape)]
    out = correlate_padded(a, v, pads, dtype, boundary=bmode, fill=fill)
    if v is b:
        _keep_recipe(key, swapped, False, a, v, pads, dtype, bmode, fill, reverse=swapped)
    return np.ascontiguousarray(out[::-1, ::-1] if swapped else out)


def correlation_lags(in1_len, in2_len, mode="full"):
    """Lag indices of a 1-D cross-correlation, as ``scipy.signal.correlation_lags``.

    Examples
    --------
    >>> from fastconv import signal
    >>> signal.correlation_lags(4, 2)
    array([-1,  0,  1,  2,  3])
    >>> signal.correlation_lags(4, 2, mode="same")
    array([-1,  0,  1,  2])
    """
    import operator
    try:
        n1, n2 = operator.index(in1_len), operator.index(in2_len)
    except TypeError:
        raise TypeError(f"in1_len and in2_len must be integers, got {in1_len!r} and "
                        f"{in2_len!r}") from None
    check_mode(mode)
    if mode == "full":
        return np.arange(-n2 + 1, n1)
    if mode == "same":
        lags = np.arange(-n2 + 1, n1)
        mid = lags.size // 2
        bound = n1 // 2
        return lags[mid - bound:mid + bound + (n1 % 2)]
    d = n1 - n2
    return np.arange(d + 1) if d >= 0 else np.arange(d, 1)


# ---------------------------------------------------------------- method choice

# CPU seconds (one thread; both paths spread over threads alike) per
# multiply-add of the direct kernels (1-D: fastconv.signal's FIR kernel; 2-D and
# up: measured on its blocked form for planes; 3-D runs in the conv kernels and was
# not re-measured), per output of the direct path, and per
# output x log2(block) unit of the FFT path.  Measured on the dev machine (AMD
# EPYC Zen 4); the numbers and the crossovers they give are in
# docs/performance.md ("fastconv.signal: direct or FFT").
_DIRECT_MAC_S = {(1, 4): 0.018e-9, (1, 8): 0.035e-9, (2, 4): 0.023e-9, (2, 8): 0.044e-9}
_DIRECT_OUT_S = {(1, 4): 0.5e-9, (1, 8): 0.8e-9, (2, 4): 1.0e-9, (2, 8): 1.26e-9}
_FFT_S = {(1, 4): 0.16e-9, (1, 8): 0.25e-9, (2, 4): 0.12e-9, (2, 8): 0.2e-9,
          (3, 4): 0.36e-9, (3, 8): 1.0e-9}
_CALL_S = 30e-6
# Below this many (in1 size x in2 size) the direct path's predicted time is less than
# the FFT path's fixed cost whatever the shapes: _predict's direct term is at most
# V K (min(V, K) MAC + OUT) 4 + _CALL_S (V K bounds the outputs, min(V, K) the taps)
# and its FFT term at least 3 _CALL_S, so 'auto' picks 'direct' without predicting.
_DIRECT_BELOW = 2 * _CALL_S / (4 * (64 * max(_DIRECT_MAC_S.values())
                                    + max(_DIRECT_OUT_S.values())))


def _predict(volume, kernel, mode):
    """Predicted seconds of (direct, fft) for convolve(volume, kernel, mode)."""
    out = [full_range(n, k, mode)[1] for n, k in zip(volume.shape, kernel.shape)]
    ks = [min(a, b) for a, b in zip(volume.shape, kernel.shape)]
    taps = math.prod(ks)
    dt = np.result_type(volume.dtype, kernel.dtype)
    item = 4 if dt in (np.float32, np.complex64, np.float16) else 8
    rank = 1 if sum(k > 1 for k in ks) <= 1 else 2
    per_out = taps * _DIRECT_MAC_S[rank, item] + _DIRECT_OUT_S[rank, item]
    direct = math.prod(out) * per_out * (4 if dt.kind == "c" else 1) + _CALL_S
    # the overlap-save block along each transformed axis: a few kernel lengths
    units = sum(math.log2(min(o + k - 1, max(8 * k, 1024))) + 1
                for o, k in zip(out, ks) if k > 1) + 6
    frank = min(3, max(1, sum(k > 1 for k in ks)))    # 1-2 axes: fc_fft.h; more: pocketfft
    fft = math.prod(out) * units * _FFT_S[frank, item] * (2 if dt.kind == "c" else 1) + 3 * _CALL_S
    return direct, fft


def _integers_past_float(volume, kernel):
    """SciPy's first rule of 'auto', with its errors: with an integer input, whether
    max|in1| max|in2| min(sizes) exceeds float64's exact integers (then 'direct').
    Its int() of the maxima raises OverflowError for an infinite value beside an
    integer input, ValueError for a NaN or an empty integer input, as in SciPy."""
    if volume.dtype.kind not in "ui" and kernel.dtype.kind not in "ui":
        return False
    big = int(np.max(np.abs(volume))) * int(np.max(np.abs(kernel)))
    return big * min(volume.size, kernel.size) > 2 ** 52 - 1


def _choose(volume, kernel, mode):
    """The 'auto' method: see convolve's docstring."""
    return _shape_choice(volume, kernel, mode) or _value_choice(volume, kernel)


def _shape_choice(volume, kernel, mode):
    """'direct' where the dtypes and shapes decide 'auto', else None."""
    dt = np.result_type(volume.dtype, kernel.dtype)
    if dt.kind not in "fc" or volume.dtype.kind not in "fc" and kernel.dtype.kind not in "fc":
        return "direct"
    if min(volume.size, kernel.size) <= 64 and volume.size * kernel.size < _DIRECT_BELOW:
        return "direct"     # (what _predict would say: see _DIRECT_BELOW)
    direct, fft = _predict(volume, kernel, mode)
    if fft >= direct:
        return "direct"
    return None


def _value_choice(volume, kernel):
    """'auto' where the FFT is predicted faster: 'direct' for a wide dynamic range or
    a non-finite value, else 'fft'."""
    taps = min(volume.size, kernel.size)
    big = max(volume.size, kernel.size)
    for a in (volume, kernel):
        if a.size * 2 >= big:
            if _wide_range(a, taps):
                return "direct"
        elif not np.isfinite(a).all():
            return "direct"
    return "fft"


# The signal's peak over its median magnitude beyond which 'auto' keeps the direct
# sums: the FFT's error follows the peak, the direct sum's each output's own terms.
# Measured (float32, 1e5 samples x 200-2048 taps): Gaussian and uniform signals
# (peak/median 2-7) stay at 0.01-0.15 of the per-element bound 2 sqrt(K) eps
# conv(|x|, |w|) with FFT; half the signal 1000x quieter (peak/median ~1600) goes
# to 10x the bound, one spike 10^4 over the noise to 1.6x.
def _range_limit(taps):
    return max(32.0, 2.0 * math.sqrt(taps))


def _wide_range(a, taps):
    """True if ``a`` holds NaN/inf or its dynamic range is too wide for the FFT."""
    peak = _peak(a)
    if not np.isfinite(peak):
        return True
    if peak == 0:
        return False
    # the median of a strided sample (~16384 elements: its median is within a few %
    # of the whole array's, against a threshold of 32x; 65536 took 0.6 ms to sort)
    per_axis = max(1, int(16384 ** (1 / a.ndim)))
    sample = np.abs(a[tuple(slice(None, None, max(1, n // per_axis)) for n in a.shape)])
    return bool(peak > _range_limit(taps) * np.median(sample))


def _peak(a):
    """max |a| (NaN/inf if ``a`` holds one) without a temporary of a's size: the
    extremes for real data, |a| in slices of 2**16 elements for complex data."""
    if a.dtype.kind != "c":
        hi, lo = a.max(), a.min()
        if not (np.isfinite(hi) and np.isfinite(lo)):
            return np.inf
        return float(max(hi, -lo))
    flat = a.reshape(-1)       # a copy only for a non-contiguous view
    peak = 0.0
    for i in range(0, flat.size, 1 << 16):
        m = float(np.abs(flat[i:i + (1 << 16)]).max())
        if not np.isfinite(m):
            return np.inf
        peak = max(peak, m)
    return peak


def choose_conv_method(in1, in2, mode="full", measure=False):
    """The method :func:`convolve`/:func:`correlate` pick, as ``scipy.signal.choose_conv_method``.

    Answers for fastconv's own paths (see :func:`convolve`'s ``method='auto'``).

    Parameters
    ----------
    in1, in2 : array_like
    mode : {'full', 'valid', 'same'}, default 'full'
    measure : bool, default False
        Time both methods on these inputs and return the faster, with the times
        (any value with a truth value, as SciPy takes it).

    Returns
    -------
    method : {'direct', 'fft'}
    times : dict, only with ``measure=True``
        Seconds per call of each method (best of a few runs).

    Examples
    --------
    >>> import numpy as np
    >>> from fastconv import signal
    >>> signal.choose_conv_method(np.arange(5), np.arange(3))
    'direct'
    """
    volume = as_input(in1, "in1")
    kernel = as_input(in2, "in2")
    check_mode(mode)
    if measure:         # any truthy value, as SciPy takes it
        times = {}
        for method in ("fft", "direct"):
            times[method] = _best_time(lambda m=method: convolve(volume, kernel, mode, m))
        return ("fft" if times["fft"] < times["direct"] else "direct"), times
    if _integers_past_float(volume, kernel) or volume.ndim == kernel.ndim == 0:
        return "direct"
    same_ndim(volume, kernel)
    if volume.size == 0 or kernel.size == 0:
        return "direct"
    if valid_swap(mode, volume.shape, kernel.shape):
        volume, kernel = kernel, volume
    return _choose(volume, kernel, mode)


def _best_time(fn, repeat=3):
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
