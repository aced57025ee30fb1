"""Plain NumPy reference implementations and the float tolerance rule (DESIGN.md 5).

Nothing here uses fastconv: the reference resolves padding, pads with ``np.pad``
and sums products through ``sliding_window_view`` + ``einsum``, so it is an
independent oracle.  The sums are done in ``np.longdouble`` (80-bit extended on
x86, else float64) so that the reference is more accurate than the float64
result it checks.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.testing import assert_array_equal

__all__ = [
    "NP_PAD_MODE", "REF_DTYPE", "as_tuple", "resolve_padding", "pad_input", "conv_ref",
    "reduction_length", "tolerance", "assert_conv_close", "relayout", "snapshot",
    "assert_unchanged",
]

# fastconv padding_mode -> numpy.pad mode
NP_PAD_MODE = {
    "zeros": "constant",
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "edge": "edge",
    "circular": "wrap",
    "wrap": "wrap",
    "symmetric": "symmetric",
}

REF_DTYPE = np.longdouble if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps else np.float64

_EINSUM = {
    1: "ncpi,oci->nop",
    2: "ncpqij,ocij->nopq",
    3: "ncpqrijk,ocijk->nopqr",
}


def as_tuple(value, nd):
    """An int or a sequence of nd ints as a tuple of nd ints."""
    if np.ndim(value) == 0:
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    assert len(value) == nd
    return value


def resolve_padding(padding, in_spatial, kernel, stride, dilation):
    """One (lo, hi) pair per axis, written from the specification (not from fastconv._shapes)."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding == "full":
            return [(d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilation)]
        if padding == "same":
            pairs = []
            for n, k, s, d in zip(in_spatial, kernel, stride, dilation):
                out = math.ceil(n / s)
                total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
                pairs.append((total // 2, total - total // 2))
            return pairs
        raise ValueError(padding)
    if np.ndim(padding) == 0:
        return [(int(padding), int(padding))] * nd
    pairs = []
    for item in padding:
        if np.ndim(item) == 0:
            pairs.append((int(item), int(item)))
        else:
            lo, hi = item
            pairs.append((int(lo), int(hi)))
    assert len(pairs) == nd
    return pairs


def pad_input(x, pairs, padding_mode="zeros", pad_value=0.0):
    """np.pad over the spatial axes of a batched (N, C, *spatial) array."""
    mode = NP_PAD_MODE[padding_mode]
    width = [(0, 0), (0, 0)] + [tuple(p) for p in pairs]
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=pad_value)
    return np.pad(x, width, mode=mode)


def conv_ref(x, w, b=None, *, stride=1, padding=0, dilation=1, groups=1,
             padding_mode="zeros", pad_value=0.0, flip=False):
    """Reference convolution (cross-correlation unless flip) in REF_DTYPE.

    x: (N, C_in, *spatial) or (C_in, *spatial); w: (C_out, C_in // groups, *kernel).
    """
    w = np.asarray(w).astype(REF_DTYPE)
    x = np.asarray(x).astype(REF_DTYPE)
    nd = w.ndim - 2
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x[None]
    stride = as_tuple(stride, nd)
    dilation = as_tuple(dilation, nd)
    kernel = w.shape[2:]
    pairs = resolve_padding(padding, x.shape[2:], kernel, stride, dilation)
    xp = pad_input(x, pairs, padding_mode, pad_value)
    if flip:
        w = w[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    axes = tuple(range(2, 2 + nd))
    win = sliding_window_view(xp, extent, axis=axes)
    # output positions with the stride, kernel taps with the dilation
    win = win[(slice(None), slice(None))
              + tuple(slice(None, None, s) for s in stride)
              + tuple(slice(None, None, d) for d in dilation)]
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    cg, mg = c_in // groups, c_out // groups
    y = np.empty((n_batch, c_out) + win.shape[2:2 + nd], dtype=REF_DTYPE)
    for g in range(groups):
        y[:, g * mg:(g + 1) * mg] = np.einsum(
            _EINSUM[nd], win[:, g * cg:(g + 1) * cg], w[g * mg:(g + 1) * mg])
    if b is not None:
        y += np.asarray(b).astype(REF_DTYPE).reshape((1, c_out) + (1,) * nd)
    return y[0] if unbatched else y


def reduction_length(w, groups=1):
    """K = C_in / groups * prod(kernel): products summed into one output."""
    w_shape = np.shape(w)
    return int(w_shape[1] * np.prod(w_shape[2:]))


_UNIT_ROUNDOFF = {np.dtype(np.float32): 2.0 ** -24, np.dtype(np.float64): 2.0 ** -53}


def tolerance(x, w, b=None, *, dtype, pad_value=0.0, **params):
    """Per-element error bound of DESIGN.md 5: ``2 * sqrt(K) * u * S``.

    ``S = conv(|x|, |w|) + |b|`` in extended precision with the same padding
    (the padded values are ``|x|`` padded the same way, or ``|pad_value|``), and
    ``u`` the unit roundoff of the result dtype (2**-24 float32, 2**-53 float64).
    The float64 bound has the same form; it is meaningful because the reference
    is summed in extended precision (on x86; elsewhere the reference is float64
    and the bound is twice as loose in effect, still ~1e-15 * sqrt(K) * S).
    """
    u = _UNIT_ROUNDOFF[np.dtype(dtype)]
    if REF_DTYPE is np.float64 and np.dtype(dtype) == np.float64:
        u *= 2  # the reference itself rounds in float64
    k = reduction_length(w)
    s = conv_ref(np.abs(np.asarray(x, dtype=np.float64)), np.abs(np.asarray(w, dtype=np.float64)),
                 None if b is None else np.abs(np.asarray(b, dtype=np.float64)),
                 pad_value=abs(pad_value), **params)
    return 2.0 * math.sqrt(max(k, 1)) * u * s


def assert_conv_close(y, ref, bound, *, dtype=None):
    """Assert ``|y - ref| <= bound`` elementwise, reporting the worst element."""
    y = np.asarray(y)
    ref = np.asarray(ref)
    assert y.shape == ref.shape, f"shape {y.shape} != reference shape {ref.shape}"
    if dtype is not None:
        assert y.dtype == np.dtype(dtype), f"dtype {y.dtype} != expected {np.dtype(dtype)}"
    if y.size == 0:
        return
    assert np.all(np.isfinite(y)), (
        f"non-finite values in the result at {np.argwhere(~np.isfinite(y))[:5]}")
    err = np.abs(y.astype(REF_DTYPE) - ref.astype(REF_DTYPE))
    bound = np.broadcast_to(np.asarray(bound, dtype=REF_DTYPE), err.shape)
    bad = err > bound
    if np.any(bad):
        ratio = err / np.maximum(bound, np.finfo(np.float64).tiny)
        worst = np.unravel_index(int(np.argmax(ratio)), err.shape)
        raise AssertionError(
            f"{int(bad.sum())} of {err.size} elements exceed the tolerance; worst at {worst}: "
            f"got {float(y[worst])!r}, reference {float(ref[worst])!r}, "
            f"|error| {float(err[worst]):.3e} > bound {float(bound[worst]):.3e} "
            f"({float(ratio[worst]):.2f}x)")


# --------------------------------------------------------------------------- layouts

def relayout(v, layout):
    """The values of ``v`` in another memory layout (never sharing memory with v)."""
    v = np.asarray(v)
    if layout == "c":
        return v.copy()
    if layout == "fortran":
        return np.asfortranarray(v.copy())
    if layout == "negative":
        a = np.flip(np.flip(v).copy())
        assert v.size <= 1 or any(s < 0 for s in a.strides)
        return a
    if layout == "strided":
        big = np.zeros(tuple(2 * s for s in v.shape), v.dtype)
        a = big[(slice(None, None, 2),) * v.ndim]
        a[...] = v
        return a
    if layout == "bigendian":
        a = v.astype(v.dtype.newbyteorder(">"))
        assert v.dtype.itemsize == 1 or not a.dtype.isnative
        return a
    if layout == "readonly":
        a = v.copy()
        a.flags.writeable = False
        return a
    if layout == "misaligned":
        buf = np.zeros(v.nbytes + 1, np.uint8)
        a = buf[1:].view(v.dtype).reshape(v.shape)
        a[...] = v
        assert v.size == 0 or v.dtype.alignment == 1 or not a.flags.aligned
        return a
    raise ValueError(layout)


def snapshot(*arrays):
    """Copies, dtypes and strides of the arguments, for assert_unchanged."""
    return [None if a is None else (a.copy(), a.dtype, a.strides) for a in arrays]


def assert_unchanged(arrays, snaps):
    """Assert that no argument changed its values, dtype or strides since snapshot."""
    for a, s in zip(arrays, snaps):
        if a is None:
            continue
        copy, dt, strides = s
        assert a.dtype == dt and a.strides == strides
        assert_array_equal(a, copy, err_msg="an input was modified")
