"""Checking and normalising array arguments (dtypes, layouts, ``out=``)."""

import numbers
from typing import NamedTuple

import numpy as np

from fastconv._shapes import MAX_EXTENT, batched_shape

__all__ = ["as_array", "result_dtype", "as_kernel_input", "check_out", "as_bool", "as_real",
           "spatial_rank", "conv_operands"]

_ALLOWED_KINDS = "biuf"
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def as_array(value, name):
    """Return ``value`` as an ndarray of a real numeric dtype, or raise TypeError.

    The array is not copied when it is one already (inputs are never modified).
    """
    if value is None:
        raise TypeError(f"{name} must be an array, got None")
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be array-like: {exc}") from None
    if arr.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(
            f"{name} must have a real numeric dtype (bool, integer or float), got {arr.dtype}")
    if arr.size > MAX_EXTENT:
        # e.g. a broadcast view: its contiguous copy could never be allocated
        raise ValueError(f"{name} has {arr.size} elements (shape {arr.shape}), more than "
                         f"fastconv handles ({MAX_EXTENT})")
    return arr


def result_dtype(*arrays):
    """The compute dtype: ``np.result_type(*arrays, float32)``; float32 or float64."""
    # the common cases without np.result_type (a microsecond of a tiny call)
    f32 = f64 = 0
    for a in arrays:
        if a is not None:
            d = a.dtype
            if d == _F32:
                f32 += 1
            elif d == _F64:
                f64 += 1
            else:
                break
    else:
        return _F64 if f64 else _F32
    dt = np.result_type(*[a.dtype for a in arrays if a is not None], np.float32)
    if dt == np.float32 or dt == np.float64:
        return np.dtype(dt)
    # e.g. longdouble
    names = [str(a.dtype) for a in arrays if a is not None]
    raise TypeError(f"unsupported dtype combination {names} (result {dt}): fastconv computes "
                    "in float32 or float64")


def as_kernel_input(arr, dtype, name="x"):
    """A C-contiguous, aligned, native-endian array of ``dtype``; a copy only if needed
    (ValueError naming ``name`` for a copy bigger than the machine's memory: a
    broadcast view of a huge shape)."""
    if arr.__class__ is np.ndarray and arr.dtype == dtype:
        flags = arr.flags
        if flags.c_contiguous and flags.aligned:
            return arr
    from fastconv._shapes import check_fits
    check_fits(arr.size, np.dtype(dtype).itemsize, name, arr, "a contiguous copy")
    # (np.require's way, without its Python overhead: ~4 us on a small kernel)
    out = np.asarray(arr, dtype=dtype, order="C")
    return out if out.flags.aligned else out.copy()


def check_out(out, shape, dtype, name="out"):
    """Validate a user-supplied output array."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} has shape {out.shape}, expected {tuple(shape)}")
    if out.dtype != dtype:
        raise ValueError(f"{name} has dtype {out.dtype}, expected {np.dtype(dtype)}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def direct_output(out, *inputs):
    """True if results can be written straight into ``out`` (else use a temporary)."""
    if not (out.flags.c_contiguous and out.flags.aligned and out.dtype.isnative):
        return False
    return not any(np.may_share_memory(out, a) for a in inputs if a is not None)


def as_bool(value, name):
    """Accept Python/NumPy bools only."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def as_real(value, name):
    """Accept a real scalar (not bool, not a string) and return a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, np.complexfloating):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return float(value)


def spatial_rank(weight_ndim, name="weight"):
    """Spatial rank (1, 2 or 3) of a convolution weight with ``weight_ndim`` axes."""
    nd = weight_ndim - 2
    if not 1 <= nd <= 3:
        raise ValueError(
            f"{name} must have 3, 4 or 5 dimensions (C_out, C_in/groups, *kernel) for 1-3 "
            f"spatial axes, got {weight_ndim} dimensions")
    return nd


class ConvOperands(NamedTuple):
    """The arrays of a convolution call, checked (see conv_operands)."""

    x: np.ndarray
    weight: np.ndarray
    bias: object            # ndarray or None
    dtype: np.dtype         # the compute dtype (float32 or float64)
    nd: int                 # spatial rank
    x_shape: tuple          # x's shape with a batch axis
    unbatched: bool         # x came without one


def conv_operands(x, weight, bias=None):
    """Check the arrays of conv / conv_transpose / explain: x (N, C, *spatial) or
    (C, *spatial), weight of 1-3 spatial axes, an optional bias."""
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    if bias is not None:
        bias = as_array(bias, "bias")
    dtype = result_dtype(x, weight, bias)
    nd = spatial_rank(weight.ndim)
    x_shape, unbatched = batched_shape(x.shape, nd, "x")
    return ConvOperands(x, weight, bias, dtype, nd, x_shape, unbatched)
