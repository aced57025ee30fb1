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
    input_grad_call,
    kernel_weight,
    make_plan,
    run_input_grad,
    run_weight_grad,
)
from fastconv._dask import dask_aware
from fastconv._fastpath import NO, RECIPES, first_call, frozen_kwargs, ndarray
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


def _input_grad(plan, gy, weight, dtype, unbatched, converted, call=None):
    """dL/dx of a checked plan; gy batched, of plan.y_shape; ``call``: the
    recipe's compiled forward of the transposed plan, or None."""
    gk = _kernel_grad_output(gy, dtype, converted)
    dx = run_input_grad(plan, gk, kernel_weight(plan, weight, dtype), dtype, call)
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
    return _bias_sum(grad_output, result_dtype(grad_output))


def _bias_sum(grad_output, dtype):
    """grad_output (N, C_out, *spatial) summed over all axes but C_out, in float64."""
    return grad_output.sum(axis=_SUM_AXES[grad_output.ndim], dtype=np.float64).astype(dtype)


_SUM_AXES = {n: (0,) + tuple(range(2, n)) for n in range(3, 65)}   # NumPy: <= 64 axes


_NEEDS = ("input", "weight", "bias")


def _backward_checked(grad_output, x, weight, stride=1, padding=0, dilation=1, groups=1,
                      padding_mode="zeros", pad_value=0.0, flip=False, needs=_NEEDS):
    """conv_backward's full path: (the gradients, their recipe)."""
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
    dtypes = _backward_dtypes(grad_output, x, weight, needs)
    # the compiled input gradient serves the repeated calls (this one runs the
    # full path, the reference the tests hold them to)
    call = input_grad_call(plan, dtypes[0]) if dtypes[0] is not None else None
    return (_backward(plan, grad_output, gy, x, weight, x_shape, unbatched, *dtypes),
            (plan, x_shape, unbatched, dtypes, call))


def _backward_dtypes(grad_output, x, weight, needs):
    """The compute dtypes of the gradients asked for (None: not asked for)."""
    return (result_dtype(grad_output, weight) if "input" in needs else None,
            result_dtype(x, grad_output) if "weight" in needs else None,
            (result_dtype(grad_output), result_dtype(grad_output, x, weight))
            if "bias" in needs else None)


def _backward(plan, grad_output, gy, x, weight, x_shape, unbatched, dt_input, dt_weight, dt_bias,
              call=None):
    """conv_backward of checked operands (the full path and the fast path);
    ``call``: input_grad_call's compiled forward, or None."""
    converted = {}
    gx = gw = gb = None
    if dt_input is not None:
        gx = _input_grad(plan, gy, weight, dt_input, unbatched, converted, call)
    if dt_weight is not None:
        gw = _weight_grad(plan, x, gy, dt_weight, x_shape, weight.shape, converted)
    if dt_bias is not None:
        # conv_bias_grad's sum, then the result dtype of all three operands
        g = grad_output[None] if unbatched else grad_output
        gb = _bias_sum(g, dt_bias[0]).astype(dt_bias[1], copy=False)
    return gx, gw, gb


_BACKWARD = object()        # the recipe key's tag


def _fast_backward(func, args, kwargs):
    """conv_backward(grad_output, x, weight, **kwargs) from its recipe, or NO
    (see fastconv._fastpath)."""
    if len(args) != 3:
        return NO
    grad_output, x, weight = args
    if (grad_output.__class__ is not ndarray or x.__class__ is not ndarray
            or weight.__class__ is not ndarray):
        return NO
    kw = frozen_kwargs(kwargs) if kwargs else ()
    if kw is NO:
        return NO
    key = (_BACKWARD, grad_output.shape, grad_output.dtype, x.shape, x.dtype, weight.shape,
           weight.dtype, kw)
    recipe = RECIPES.get(key)
    if recipe is not None:
        plan, x_shape, unbatched, dtypes, call = recipe
        return _backward(plan, grad_output, grad_output.reshape(plan.y_shape), x, weight,
                         x_shape, unbatched, *dtypes, call)
    return first_call(key, _backward_checked, func, args, kwargs)


@dask_aware("conv_backward", fast=_fast_backward)
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
    return _backward_checked(grad_output, x, weight, stride, padding, dilation, groups,
                             padding_mode, pad_value, flip, needs)[0]
