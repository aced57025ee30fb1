"""Gradients of :func:`fastconv.conv`: exact adjoints for every option it accepts.

For ``y = conv(x, w) + b`` and an upstream gradient ``g = dL/dy``:

* ``conv_input_grad``  ``dL/dx``: ``g`` spread back through the (flipped,
  transposed) kernel; gradient that fell on the padding is folded back onto the
  input positions it was copied from (reflect, replicate, circular, symmetric);
  constant padding receives none.
* ``conv_weight_grad`` ``dL/dw``: the correlation of the (padded) input with ``g``,
  reduced over the batch in a fixed order (the same bits for any thread count).
* ``conv_bias_grad``   ``dL/db``: ``g`` summed over every axis but the channels.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from fastconv._conv_plan import (
    kernel_weight,
    make_plan,
    run_input_grad,
    run_weight_grad,
)
from fastconv._dask import dask_aware
from fastconv._shapes import as_int, batched_shape, show
from fastconv._typing import ArrayLike, FloatArray, Padding, Shape, Size
from fastconv._validation import as_array, as_kernel_input, result_dtype, spatial_rank

__all__ = ["conv_input_grad", "conv_weight_grad", "conv_bias_grad", "conv_backward"]


def _shape_arg(value, name):
    """A shape given by the caller: a sequence of non-negative ints."""
    if (isinstance(value, (str, bytes)) or not hasattr(value, "__len__")
            or (isinstance(value, np.ndarray) and value.ndim != 1)):
        raise TypeError(f"{name} must be a tuple of integers, got {show(value)}")
    shape = tuple(as_int(v, name) for v in value)
    if any(v < 0 for v in shape):
        raise ValueError(f"{name} must not contain negative sizes, got {show(value)}")
    return shape


def _check_grad_output(grad_output, plan, unbatched):
    expected = plan.y_shape[1:] if unbatched else plan.y_shape
    if grad_output.shape != expected:
        raise ValueError(f"grad_output has shape {grad_output.shape}, but the convolution's "
                         f"output has shape {expected}")
    return grad_output.reshape(plan.y_shape)


@dask_aware("conv_input_grad")
def conv_input_grad(grad_output: ArrayLike, weight: ArrayLike, input_shape: Shape, *,
                    stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
                    padding_mode: str = "zeros", pad_value: float = 0.0,
                    flip: bool = False) -> FloatArray:
    """Gradient of :func:`fastconv.conv` with respect to its input.

    Parameters
    ----------
    grad_output : array_like, shape (N, C_out, *out) or (C_out, *out)
        Gradient of the loss with respect to the convolution's output.
    weight : array_like, shape (C_out, C_in // groups, *kernel)
        The forward weight.
    input_shape : tuple of int
        Shape of the forward input ``x``, (N, C_in, *spatial) or (C_in, *spatial).
    stride, padding, dilation, groups, padding_mode, pad_value, flip
        Exactly as passed to :func:`fastconv.conv`.

    Returns
    -------
    ndarray, shape ``input_shape``
        dtype ``np.result_type(grad_output, weight, np.float32)``.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> g = np.ones((1, 1, 3))
    >>> w = np.array([[[1.0, 2.0, 3.0]]])
    >>> fastconv.conv_input_grad(g, w, (1, 1, 5))
    array([[[1., 3., 6., 5., 3.]]])
    """
    grad_output = as_array(grad_output, "grad_output")
    weight = as_array(weight, "weight")
    input_shape = _shape_arg(input_shape, "input_shape")
    nd = spatial_rank(weight.ndim)
    batched, unbatched = batched_shape(input_shape, nd, "input_shape")
    plan = make_plan(batched, weight.shape, x_name="input_shape", stride=stride,
                     padding=padding, dilation=dilation, groups=groups,
                     padding_mode=padding_mode, pad_value=pad_value, flip=flip)
    gy = _check_grad_output(grad_output, plan, unbatched)
    return _input_grad(plan, gy, weight, result_dtype(grad_output, weight), unbatched, {})


def _kernel_grad_output(gy, dtype, converted):
    """gy as the kernels take it in dtype, converted once per dtype of a call."""
    if dtype not in converted:
        converted[dtype] = as_kernel_input(gy, dtype)
    return converted[dtype]


def _input_grad(plan, gy, weight, dtype, unbatched, converted):
    """dL/dx of a checked plan; gy batched, of plan.y_shape."""
    gk = _kernel_grad_output(gy, dtype, converted)
    dx = run_input_grad(plan, gk, kernel_weight(plan, weight, dtype), dtype)
    return dx[0] if unbatched else dx


def _weight_grad(plan, x, gy, dtype, x_shape, weight_shape, converted):
    """dL/dw of a checked plan; gy batched, of plan.y_shape."""
    gk = _kernel_grad_output(gy, dtype, converted)
    xk = as_kernel_input(x, dtype).reshape(x_shape)
    dw = run_weight_grad(plan, xk, gk, dtype).reshape(weight_shape)
    if plan.flip:
        # the kernels saw the flipped weight; flip its gradient back
        flipped = (slice(None), slice(None)) + (slice(None, None, -1),) * plan.nd
        dw = np.ascontiguousarray(dw[flipped])
    return dw


@dask_aware("conv_weight_grad")
def conv_weight_grad(x: ArrayLike, grad_output: ArrayLike, weight_shape: Shape, *,
                     stride: Size = 1, padding: Padding = 0, dilation: Size = 1, groups: int = 1,
                     padding_mode: str = "zeros", pad_value: float = 0.0,
                     flip: bool = False) -> FloatArray:
    """Gradient of :func:`fastconv.conv` with respect to its weight.

    Parameters
    ----------
    x : array_like, shape (N, C_in, *spatial) or (C_in, *spatial)
        The forward input.
    grad_output : array_like, shape (N, C_out, *out) or (C_out, *out)
        Gradient of the loss with respect to the convolution's output.
    weight_shape : tuple of int
        (C_out, C_in // groups, *kernel).
    stride, padding, dilation, groups, padding_mode, pad_value, flip
        Exactly as passed to :func:`fastconv.conv`.

    Returns
    -------
    ndarray, shape ``weight_shape``
        Bit-identical for any thread count.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> g = np.ones((1, 1, 3))
    >>> fastconv.conv_weight_grad(x, g, (1, 1, 3))
    array([[[3., 6., 9.]]])
    """
    x = as_array(x, "x")
    grad_output = as_array(grad_output, "grad_output")
    weight_shape = _shape_arg(weight_shape, "weight_shape")
    nd = spatial_rank(len(weight_shape), "weight_shape")
    x_shape, unbatched = batched_shape(x.shape, nd, "x")
    plan = make_plan(x_shape, weight_shape, w_name="weight_shape", stride=stride,
                     padding=padding, dilation=dilation, groups=groups,
                     padding_mode=padding_mode, pad_value=pad_value, flip=flip)
    gy = _check_grad_output(grad_output, plan, unbatched)
    return _weight_grad(plan, x, gy, result_dtype(x, grad_output), x_shape, weight_shape, {})


@dask_aware("conv_bias_grad")
def conv_bias_grad(grad_output: ArrayLike) -> FloatArray:
    """Gradient of :func:`fastconv.conv` with respect to its bias.

    Parameters
    ----------
    grad_output : array_like, shape (N, C_out, *out)
        Batched gradient of the loss with respect to the output (for an unbatched
        one, pass ``grad_output[None]``).

    Returns
    -------
    ndarray, shape (C_out,)
        Summed in float64 (pairwise, deterministic) and returned in the compute dtype.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> fastconv.conv_bias_grad(np.ones((2, 3, 4)))
    array([8., 8., 8.])
    """
    grad_output = as_array(grad_output, "grad_output")
    if grad_output.ndim < 3:
        raise ValueError(f"grad_output must have shape (N, C_out, *spatial), got "
                         f"{grad_output.shape}")
    dtype = result_dtype(grad_output)
    axes = (0,) + tuple(range(2, grad_output.ndim))
    return grad_output.sum(axis=axes, dtype=np.float64).astype(dtype)


_NEEDS = ("input", "weight", "bias")


@dask_aware("conv_backward")
def conv_backward(grad_output: ArrayLike, x: ArrayLike, weight: ArrayLike, *, stride: Size = 1,
                  padding: Padding = 0, dilation: Size = 1, groups: int = 1,
                  padding_mode: str = "zeros", pad_value: float = 0.0, flip: bool = False,
                  needs: str | Iterable[str] = ("input", "weight", "bias"),
                  ) -> tuple[FloatArray | None, FloatArray | None, FloatArray | None]:
    """All gradients of :func:`fastconv.conv` in one call.

    Parameters
    ----------
    grad_output, x, weight
        Upstream gradient, forward input and forward weight.
    stride, padding, dilation, groups, padding_mode, pad_value, flip
        Exactly as passed to :func:`fastconv.conv`.
    needs : collection of {'input', 'weight', 'bias'}
        Which gradients to compute.

    Returns
    -------
    (grad_x, grad_weight, grad_bias)
        ``None`` for a gradient that was not asked for.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x, w = np.ones((1, 1, 4)), np.ones((2, 1, 2))
    >>> gx, gw, gb = fastconv.conv_backward(np.ones((1, 2, 3)), x, w)
    >>> gx.shape, gw.shape, gb
    ((1, 1, 4), (2, 1, 2), array([3., 3.]))
    """
    if isinstance(needs, str):
        needs = (needs,)
    needs = tuple(needs)
    for item in needs:
        if item not in _NEEDS:
            raise ValueError(f"needs must contain only {_NEEDS}, got {needs!r}")
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    grad_output = as_array(grad_output, "grad_output")
    nd = spatial_rank(weight.ndim)
    x_shape, unbatched = batched_shape(x.shape, nd, "x")
    # one plan, checked once with the messages of conv(), for both gradients;
    # grad_output converted once per compute dtype
    plan = make_plan(x_shape, weight.shape, stride=stride, padding=padding, dilation=dilation,
                     groups=groups, padding_mode=padding_mode, pad_value=pad_value, flip=flip)
    gy = _check_grad_output(grad_output, plan, unbatched)
    converted = {}
    gx = gw = None
    if "input" in needs:
        gx = _input_grad(plan, gy, weight, result_dtype(grad_output, weight), unbatched,
                         converted)
    if "weight" in needs:
        gw = _weight_grad(plan, x, gy, result_dtype(x, grad_output), x_shape, weight.shape,
                          converted)
    gb = None
    if "bias" in needs:
        gb = conv_bias_grad(grad_output[None] if unbatched else grad_output)
        gb = gb.astype(result_dtype(grad_output, x, weight))
    return gx, gw, gb
