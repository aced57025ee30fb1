"""The arithmetic of shapes: the one place that knows the size formulas.

Every public function and every test gets output sizes, padding pairs and
parameter tuples from here.  All arithmetic is done on Python integers, so huge
parameters are caught here, before any C code runs.

Conventions: ``lo``/``hi`` are the padding before/after along one spatial axis;
``k`` the kernel size, ``s`` the stride, ``d`` the dilation.  The effective
(dilated) kernel extent is ``d * (k - 1) + 1``.
"""

import operator
import os

import numpy as np

__all__ = [
    "as_int",
    "batched_shape",
    "int_tuple",
    "padding_pairs",
    "conv_output_size",
    "conv_output_shape",
    "conv_transpose_output_size",
    "pool_output_size",
    "pool_window_tables",
    "MAX_EXTENT",
    "check_fits",
]

# Largest size any axis (padded input, output, kernel extent) may have.  Index
# arithmetic in the kernels is 64-bit; this bound keeps products of a few such
# values far from overflow and turns absurd parameters into a ValueError.
MAX_EXTENT = 2**40


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):   # not a POSIX system
        return 1 << 40


# An array bigger than the machine's memory is refused with a ValueError
# naming the parameter that asked for it, before anything is allocated.
MEMORY_BYTES = _physical_memory()


def check_fits(count, itemsize, name, value, what):
    """ValueError naming ``name`` if ``count`` elements of ``itemsize`` bytes
    (``what``) would not fit in this machine's memory.

    Examples
    --------
    >>> try:
    ...     check_fits(10**15, 4, "padding", 10**15, "the output")
    ... except ValueError as e:
    ...     print(str(e)[:38])
    padding=1000000000000000 is too large:
    """
    if count * itemsize > MEMORY_BYTES:
        raise ValueError(
            f"{name}={show(value)} is too large: {what} would have {count} elements "
            f"({count * itemsize / 1e9:.1f} GB), more than this machine's memory "
            f"({MEMORY_BYTES / 1e9:.1f} GB)")


def show(value):
    """``repr(value)`` for an error message, short even for an array.

    >>> show(np.zeros((64, 3, 7, 7)))
    'an array of shape (64, 3, 7, 7)'
    >>> show((1, 2))
    '(1, 2)'
    """
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_int(value, name):
    """Return ``value`` as a Python int, refusing bools, floats and strings.

    Examples
    --------
    >>> as_int(3, "stride")
    3
    >>> as_int(1.5, "stride")
    Traceback (most recent call last):
    ...
    TypeError: stride must be an integer, got 1.5 (float)
    """
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name} must be an integer, got {show(value)} ({type(value).__name__})")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {show(value)} ({type(value).__name__})") from None


def batched_shape(shape, nd, name, what="convolution"):
    """(shape with a batch axis, True if it had none) for spatial rank ``nd``.

    Examples
    --------
    >>> batched_shape((3, 8, 8), 2, "x")
    ((1, 3, 8, 8), True)
    """
    shape = tuple(shape)
    if len(shape) == nd + 2:
        return shape, False
    if len(shape) == nd + 1:
        return (1,) + shape, True
    raise ValueError(
        f"{name} must have {nd + 2} dimensions (N, C, *spatial) or {nd + 1} (C, *spatial) "
        f"for a {nd}-d {what}, got shape {shape}")


def int_tuple(value, ndim, name, minimum=None):
    """Normalise an int or a sequence of ``ndim`` ints to a tuple of ints.

    Parameters
    ----------
    value : int or sequence of int
        One value for every spatial axis, or one per axis.
    ndim : int
        Number of spatial axes.
    name : str
        Parameter name used in error messages.
    minimum : int, optional
        Smallest allowed value.

    Examples
    --------
    >>> int_tuple(2, 3, "stride", minimum=1)
    (2, 2, 2)
    >>> int_tuple((1, 2), 2, "dilation", minimum=1)
    (1, 2)
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an integer or a tuple of {ndim} integers, got {value!r}")
    if hasattr(value, "__len__") or hasattr(value, "__iter__"):
        items = tuple(value)
        if len(items) != ndim:
            raise ValueError(
                f"{name} must be an integer or a tuple of {ndim} integers "
                f"(one per spatial axis), got {value!r} of length {len(items)}")
        out = tuple(as_int(v, name) for v in items)
    else:
        out = (as_int(value, name),) * ndim
    if minimum is not None:
        for v in out:
            if v < minimum:
                raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    for v in out:
        if abs(v) > MAX_EXTENT:
            raise ValueError(f"{name}={value!r} is too large (limit {MAX_EXTENT})")
    return out


def _same_pair(n, k, s, d):
    """'same' padding: output ceil(n / s); the extra goes after (TF/JAX 'SAME')."""
    out = -(-n // s)
    total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
    return (total // 2, total - total // 2)


def padding_pairs(padding, in_spatial, kernel, stride, dilation):
    """Resolve ``padding`` to one ``(lo, hi)`` pair per spatial axis.

    Parameters
    ----------
    padding : int, str, sequence of int, or sequence of (int, int)
        ``'valid'`` (none), ``'same'`` (output size ``ceil(in / stride)``),
        ``'full'`` (``dilation * (k - 1)`` on each side), one int for all sides,
        one int per axis (both sides), or one ``(lo, hi)`` pair per axis.
    in_spatial, kernel, stride, dilation : tuple of int
        Input spatial shape, kernel shape, strides and dilations.

    Returns
    -------
    tuple of (int, int)

    Examples
    --------
    >>> padding_pairs("same", (10,), (4,), (1,), (1,))
    ((1, 2),)
    >>> padding_pairs(((0, 1), 2), (5, 5), (3, 3), (1, 1), (1, 1))
    ((0, 1), (2, 2))
    """
    ndim = len(kernel)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * ndim
        if mode == "same":
            return tuple(_same_pair(n, k, s, d)
                         for n, k, s, d in zip(in_spatial, kernel, stride, dilation))
        if mode == "full":
            return tuple((d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilation))
        raise ValueError(
            f"padding must be 'valid', 'same', 'full', an integer or a tuple, got {padding!r}")
    if isinstance(padding, bytes) or padding is None:
        raise TypeError(f"padding must be an integer, a string or a tuple, got {padding!r}")
    if not (hasattr(padding, "__len__") or hasattr(padding, "__iter__")):
        p = as_int(padding, "padding")
        pairs = ((p, p),) * ndim
    else:
        items = tuple(padding)
        if len(items) != ndim:
            raise ValueError(
                f"padding must have one entry per spatial axis ({ndim}), "
                f"got {padding!r} of length {len(items)}")
        pairs = []
        for item in items:
            if isinstance(item, (str, bytes)):
                raise TypeError(f"padding entries must be integers or (lo, hi) pairs, got {item!r}")
            if hasattr(item, "__len__") or hasattr(item, "__iter__"):
                pair = tuple(item)
                if len(pair) != 2:
                    raise ValueError(f"padding pairs must be (lo, hi), got {item!r} in {padding!r}")
                pairs.append((as_int(pair[0], "padding"), as_int(pair[1], "padding")))
            else:
                p = as_int(item, "padding")
                pairs.append((p, p))
        pairs = tuple(pairs)
    for lo, hi in pairs:
        if lo < 0 or hi < 0:
            raise ValueError(f"padding must be >= 0, got {padding!r}")
        if lo > MAX_EXTENT or hi > MAX_EXTENT:
            raise ValueError(f"padding={padding!r} is too large (limit {MAX_EXTENT})")
    return pairs


def conv_output_size(n, k, s, d, lo, hi):
    """Output length of a convolution along one axis, or None if the kernel does not fit.

    ``floor((n + lo + hi - d * (k - 1) - 1) / s) + 1``

    Examples
    --------
    >>> conv_output_size(56, 3, 1, 1, 1, 1)
    56
    >>> conv_output_size(224, 7, 2, 1, 3, 3)
    112
    >>> conv_output_size(2, 3, 1, 1, 0, 0) is None
    True
    """
    span = n + lo + hi - d * (k - 1) - 1
    if span < 0:
        return None
    return span // s + 1


def conv_output_shape(in_spatial, kernel, stride, pads, dilation):
    """Output spatial shape of a convolution; ValueError if a kernel does not fit.

    Examples
    --------
    >>> conv_output_shape((8, 8), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1))
    (4, 4)
    """
    out = []
    for axis, (n, k, s, (lo, hi), d) in enumerate(zip(in_spatial, kernel, stride, pads, dilation)):
        size = conv_output_size(n, k, s, d, lo, hi)
        if size is None:
            raise ValueError(
                f"the dilated kernel (size {k}, dilation {d}: extent {d * (k - 1) + 1}) is larger "
                f"than the padded input (size {n} + padding {lo}+{hi} = {n + lo + hi}) "
                f"along spatial axis {axis}")
        if n + lo + hi > MAX_EXTENT or d * (k - 1) + 1 > MAX_EXTENT:
            raise ValueError(f"padded size {n + lo + hi} along spatial axis {axis} is too large")
        out.append(size)
    return tuple(out)


def conv_transpose_output_size(n, k, s, d, lo, hi, output_padding):
    """Output length of a transposed convolution along one axis.

    ``(n - 1) * s - lo - hi + d * (k - 1) + output_padding + 1``

    Examples
    --------
    >>> conv_transpose_output_size(4, 3, 2, 1, 1, 1, 1)
    8
    """
    return (n - 1) * s - lo - hi + d * (k - 1) + output_padding + 1


def pool_output_size(n, k, s, lo, d, ceil_mode, hi=None):
    """Output length of pooling along one axis, with PyTorch's ceil_mode rule.

    With ``ceil_mode`` the division rounds up, but the last window must start
    inside the input or the left padding; a window may then overhang the
    padded input, even when the dilated kernel is longer than it (as PyTorch).
    Returns 0 when no window fits.

    Examples
    --------
    >>> pool_output_size(112, 2, 2, 0, 1, False)
    56
    >>> pool_output_size(5, 2, 2, 0, 1, True)
    3
    >>> pool_output_size(4, 3, 2, 0, 2, True), pool_output_size(4, 3, 2, 0, 2, False)
    (1, 0)
    """
    hi = lo if hi is None else hi
    span = n + lo + hi - d * (k - 1) - 1
    if ceil_mode:
        out = (span + s - 1) // s + 1   # floor division, as PyTorch's div_rtn
        if (out - 1) * s >= n + lo:
            out -= 1
    else:
        out = span // s + 1
    return max(out, 0)


def pool_window_tables(n, k, s, p, d, out, count_include_pad=True):
    """Per-axis window tables of pooling along one axis (NumPy int arrays).

    Window ``i`` has taps ``i * s - p + j * d`` for ``j < k``; the ones inside
    ``[0, n)`` are its valid taps.

    Returns
    -------
    tap_lo, tap_hi : ndarray, shape (k,)
        Tap ``j`` is valid exactly for the windows ``tap_lo[j] <= i < tap_hi[j]``.
    first : ndarray, shape (out,)
        Position of the first valid tap of each window (-1 if it has none).
    factor : ndarray, shape (out,)
        The window's share of PyTorch's average-pooling divisor along this axis
        (``d == 1``): the taps inside ``[-p, n + p)`` if ``count_include_pad``,
        else the valid taps.  The ceil_mode overhang past ``n + p`` never counts.

    Examples
    --------
    >>> lo, hi, first, factor = pool_window_tables(5, 3, 2, 1, 1, 3)
    >>> lo.tolist(), hi.tolist(), first.tolist(), factor.tolist()
    ([1, 0, 0], [3, 3, 2], [0, 1, 3], [3, 3, 3])
    >>> pool_window_tables(5, 3, 2, 1, 1, 3, count_include_pad=False)[3].tolist()
    [2, 3, 2]
    """
    j = np.arange(k, dtype=np.int64)
    shift = j * d - p                       # tap j of window i sits at i * s + shift
    tap_lo = np.clip(-(shift // s), 0, out)  # ceil(-shift / s)
    tap_hi = np.clip((n - 1 - shift) // s + 1, 0, out)
    tap_hi = np.maximum(tap_hi, tap_lo)
    start = np.arange(out, dtype=np.int64) * s - p
    j0 = np.where(start < 0, -(start // d), 0)   # first tap at a position >= 0
    pos = start + j0 * d
    first = np.where((j0 < k) & (pos < n), pos, -1)
    end = start + d * (k - 1) + 1
    if count_include_pad:
        factor = np.minimum(end, n + p) - start
    else:
        factor = np.minimum(end, n) - np.maximum(start, 0)
    return tap_lo, tap_hi, first, factor
