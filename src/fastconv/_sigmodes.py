"""Argument checks, output geometry and result dtypes of :mod:`fastconv.signal`.

Every function of ``fastconv.signal`` reduces to one correlation form,
``y = corr(pad(x), v)`` over some axes (``v`` the flipped kernel for a
convolution, the conjugated one for a correlation), with ``(lo, hi)`` padding
pairs per axis.  This module owns the arithmetic that maps SciPy's modes
(including its alignment of 'same' for even sizes, which differs between
``correlate`` and ``correlate2d``) to those pairs, and SciPy's dtype rules.
"""

import operator

import numpy as np

MODES = ("full", "valid", "same")
METHODS = ("auto", "direct", "fft")
# SciPy's boundary names -> numpy.pad's
BOUNDARIES = {"fill": "constant", "pad": "constant", "wrap": "wrap", "circular": "wrap",
              "symm": "symmetric", "symmetric": "symmetric"}


def check_mode(mode):
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be 'full', 'valid' or 'same', got mode={mode!r}")
    return mode


def check_method(method):
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be 'auto', 'direct' or 'fft', got method={method!r}")
    return method


def check_boundary(boundary):
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        raise ValueError("boundary must be 'fill', 'wrap' (or 'circular') or 'symm' (or "
                         f"'symmetric'), got boundary={boundary!r}")
    return BOUNDARIES[boundary]


def as_input(value, name):
    """``np.asarray`` without a copy; no dtype restriction (SciPy takes objects too)."""
    if value is None:
        raise TypeError(f"{name} must be array-like, got None")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biufcO":
        raise TypeError(f"{name} must have a numeric dtype, got {arr.dtype}")
    return arr


def same_ndim(in1, in2):
    if in1.ndim != in2.ndim:
        raise ValueError(f"in1 and in2 must have the same number of dimensions, got "
                         f"in1.ndim={in1.ndim} (shape {in1.shape}) and in2.ndim={in2.ndim} "
                         f"(shape {in2.shape})")


def valid_swap(mode, shape1, shape2, axes=None):
    """SciPy's rule: in 'valid' mode the larger input goes first; raise if neither is."""
    if mode != "valid" or not shape1:
        return False
    axes = range(len(shape1)) if axes is None else axes
    ok1 = all(shape1[i] >= shape2[i] for i in axes)
    ok2 = all(shape2[i] >= shape1[i] for i in axes)
    if not (ok1 or ok2):
        raise ValueError(f"mode='valid' needs one input at least as large as the other in "
                         f"every axis, got shapes {tuple(shape1)} and {tuple(shape2)}")
    return not ok1


def full_range(n1, n2, mode, *, correlate2d=False):
    """(start, length) of the requested output within the full convolution axis.

    'same' is the centre ``n1`` outputs of the ``n1 + n2 - 1`` full ones, starting at
    ``(n2 - 1) // 2`` (SciPy's ``_centered``); ``correlate2d`` starts one later for
    even ``n2`` (SciPy documents that one-sample offset)."""
    if mode == "full":
        return 0, n1 + n2 - 1
    if mode == "valid":
        return n2 - 1, n1 - n2 + 1
    return (n2 // 2 if correlate2d else (n2 - 1) // 2), n1


def range_to_pads(n2, start, length, n1):
    """(lo, hi) padding of ``x`` for ``corr(pad(x), v)`` to give that output range."""
    lo = n2 - 1 - start
    hi = start + length - n1
    return lo, hi


def normalize_axes(axes, ndim):
    """SciPy's ``_init_nd_shape_and_axes`` for ``axes``: a list of distinct axes."""
    if axes is None:
        return list(range(ndim))
    if isinstance(axes, (str, bytes)):
        raise ValueError(f"axes must be an int or a sequence of ints, got axes={axes!r}")
    try:
        seq = [operator.index(axes)]
    except TypeError:
        try:
            seq = [operator.index(a) for a in axes]
        except TypeError:
            raise ValueError(f"axes must be an int or a sequence of ints, got axes={axes!r}") \
                from None
    if not seq:
        raise ValueError("axes, when given, cannot be empty")
    out = []
    for a in seq:
        if not -ndim <= a < ndim:
            raise ValueError(f"axes={axes!r}: axis {a} is out of range for {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axes must be unique, got axes={axes!r}")
    return out


def fft_dtype(dt):
    """The dtype SciPy's FFTs compute one input in: bool/int/object -> float64,
    float16 -> float32, otherwise itself."""
    dt = np.dtype(dt)
    if dt.kind in "biuO":
        return np.dtype(np.float64)
    if dt == np.float16:
        return np.dtype(np.float32)
    return dt


def fft_result_dtype(d1, d2):
    """Result dtype of fftconvolve/oaconvolve (SciPy's rule, per input then promoted)."""
    return np.result_type(fft_dtype(d1), fft_dtype(d2))


def direct_result_dtype(d1, d2):
    """Result dtype of convolve/correlate (any method) and convolve2d/correlate2d."""
    return np.result_type(d1, d2)
