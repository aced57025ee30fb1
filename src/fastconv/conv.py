"""Multichannel convolution in 1, 2 and 3 spatial dimensions (forward)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Callable, TypeVar

import numpy as np

from fastconv import _alloc
from fastconv._conv_plan import forward_call, kernel_weight, make_plan, run_forward
from fastconv._dask import dask_aware
from fastconv._fastpath import NO, RECIPES, first_call, frozen_kwargs, ndarray
from fastconv._typing import ArrayLike, FloatArray, Padding, Size
from fastconv._validation import (
    as_array,
    as_kernel_input,
    check_out,
    conv_operands,
    direct_output,
)

__all__ = ["conv", "conv1d", "conv2d", "conv3d"]

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    P = ParamSpec("P")
R = TypeVar("R")


def _conv_checked(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                  padding_mode="zeros", pad_value=0.0, flip=False, out=None):
    """conv's full path: (the result, its recipe; None with ``out``)."""
    x, weight, bias, dtype, nd, x_shape, unbatched = conv_operands(x, weight, bias)
    plan = make_plan(x_shape, weight.shape, stride=stride, padding=padding, dilation=dilation,
                     groups=groups, padding_mode=padding_mode, pad_value=pad_value, flip=flip)
    if bias is not None and bias.shape != (plan.out_channels,):
        raise ValueError(f"bias must have shape ({plan.out_channels},) (one value per output "
                         f"channel), got {bias.shape}")
    if out is None:
        recipe = (plan, dtype, unbatched, forward_call(plan, dtype, unbatched))
        return _forward(x, weight, bias, plan, dtype, unbatched), recipe
    result_shape = plan.y_shape[1:] if unbatched else plan.y_shape
    check_out(out, result_shape, dtype)
    xk = as_kernel_input(x, dtype).reshape(x_shape)
    wk = kernel_weight(plan, weight, dtype)
    bk = as_kernel_input(bias, dtype) if bias is not None else None
    direct = direct_output(out, x, weight, bias)
    y = out.reshape(plan.y_shape) if direct else _alloc.empty(plan.y_shape, dtype)
    run_forward(plan, xk, wk, bk, y)
    if not direct:
        np.copyto(out, y[0] if unbatched else y)
    return out, None


def _forward(x, weight, bias, plan, dtype, unbatched):
    """conv of checked operands into a new array (the full path and the fast path)."""
    xk = as_kernel_input(x, dtype)
    if unbatched:
        xk = xk.reshape(plan.x_shape)
    wk = kernel_weight(plan, weight, dtype)
    bk = as_kernel_input(bias, dtype) if bias is not None else None
    y = _alloc.empty(plan.y_shape, dtype)
    run_forward(plan, xk, wk, bk, y)
    return y[0] if unbatched else y


_CONV = object()        # the recipe key's tag


def _fast_conv(func, args, kwargs):
    """conv(x, weight[, bias], **kwargs) from its recipe, or NO (see fastconv._fastpath)."""
    if len(args) == 2:
        x, weight = args
        bias = kwargs.get("bias")
    elif len(args) == 3:
        x, weight, bias = args
    else:
        return NO
    if x.__class__ is not ndarray or weight.__class__ is not ndarray:
        return NO
    if bias is None:
        b = None
    elif bias.__class__ is ndarray:
        b = (bias.shape, bias.dtype)
    else:
        return NO
    kw = frozen_kwargs(kwargs, ("bias",)) if kwargs else ()
    if kw is NO or kwargs.get("out") is not None:
        return NO
    key = (_CONV, x.shape, x.dtype, weight.shape, weight.dtype, b, kw)
    recipe = RECIPES.get(key)
    if recipe is not None:
        plan, dtype, unbatched, call = recipe
        if call is not None:
            y = call(x, weight, bias)
            if y is not None:
                return y
        return _forward(x, weight, bias, plan, dtype, unbatched)
    return first_call(key, _conv_checked, func, args, kwargs)


@dask_aware("conv", fast=_fast_conv)
def conv(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, *, stride: Size = 1,
         padding: Padding = 0, dilation: Size = 1, groups: int = 1, padding_mode: str = "zeros",
         pad_value: float = 0.0, flip: bool = False, out: np.ndarray | None = None) -> FloatArray:
    """Batched multichannel convolution, as ``torch.nn.functional.conv1d/2d/3d``.

    By default this is the cross-correlation that neural networks call
    convolution: ``y[n, o, i] = sum_{c, t} x[n, c, i*stride + t*dilation - lo] * w[o, c, t]``.
    With ``flip=True`` the kernel is flipped along every spatial axis first, which
    gives true convolution (``scipy.signal.convolve``, ``numpy.convolve``).

    Parameters
    ----------
    x : array_like, shape (N, C_in, *spatial) or (C_in, *spatial)
        Input.  Without the batch axis the result has none either.
    weight : array_like, shape (C_out, C_in // groups, *kernel)
        Filters; the spatial rank (1, 2 or 3) is ``weight.ndim - 2``.
    bias : array_like, shape (C_out,), optional
        Added to every output position of each channel.
    stride : int or tuple of int, default 1
        Step between output positions, one per spatial axis or one for all.
    padding : int, tuple, or {'valid', 'same', 'full'}, default 0
        Padding of the input: one int for every side, one int per axis (both
        sides), or one ``(lo, hi)`` pair per axis.  ``'valid'``: none.
        ``'same'``: output size ``ceil(in / stride)``, total padding
        ``max(0, (out - 1) * stride + dilation * (k - 1) + 1 - in)`` split as
        ``lo = total // 2`` (PyTorch's 'same' at stride 1; TF/JAX 'SAME').
        ``'full'``: ``dilation * (k - 1)`` on both sides (numpy/scipy 'full').
    dilation : int or tuple of int, default 1
        Spacing between kernel taps.
    groups : int, default 1
        Input and output channels are split into ``groups`` independent blocks;
        ``groups == C_in`` with ``C_out == C_in`` is a depthwise convolution.
    padding_mode : {'zeros', 'constant', 'reflect', 'replicate', 'circular', 'symmetric'}
        What the padding holds; exactly ``numpy.pad``'s modes constant, reflect,
        edge (alias ``'edge'``), wrap (alias ``'wrap'``) and symmetric, including
        padding wider than the input (repeated reflection/wrapping).
    pad_value : float, default 0.0
        The padding value for ``padding_mode='constant'``.
    flip : bool, default False
        True convolution instead of cross-correlation.
    out : ndarray, optional
        Where to write the result: exactly the result's shape and dtype.

    Returns
    -------
    ndarray, shape (N, C_out, *out_spatial)
        ``out_i = floor((in_i + lo_i + hi_i - dilation_i * (k_i - 1) - 1) / stride_i) + 1``.
        Its dtype is ``np.result_type(x, weight, bias, np.float32)`` (float32 or
        float64; float16 computes in float32).

    Raises
    ------
    TypeError
        Non-numeric or complex inputs, non-integer parameters.
    ValueError
        Inconsistent shapes or bad parameter values; the message names the parameter.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> w = np.array([[[1.0, 0.0, -1.0]]])
    >>> fastconv.conv(x, w)
    array([[[-2., -2., -2.]]])
    >>> fastconv.conv(x, w, flip=True)
    array([[[2., 2., 2.]]])
    >>> fastconv.conv(x, w, padding="same", padding_mode="replicate")
    array([[[-1., -2., -2., -2., -1.]]])
    """
    return _conv_checked(x, weight, bias, stride, padding, dilation, groups, padding_mode,
                         pad_value, flip, out)[0]


def fixed_rank(func: Callable[P, R], nd: int, name: str) -> Callable[P, R]:
    """``func`` restricted to weights of spatial rank ``nd`` (conv2d, conv_transpose3d...).

    The result has ``func``'s signature, for type checkers (ParamSpec) and for
    ``help()`` / IDEs at run time (``__signature__``, ``__annotations__``)."""
    fast = _FIXED_FAST.get(func)
    inner = getattr(func, "__wrapped__", func)

    def f(x, weight, *args, **kwargs):
        w = as_array(weight, "weight")
        if w.ndim != nd + 2:
            raise ValueError(f"{name} expects a weight with {nd + 2} dimensions "
                             f"({nd} kernel axes), got shape {w.shape}")
        if fast is not None:
            # straight to the recipe (a call it serves holds no dask array)
            result = fast(inner, (x, w) + args, kwargs)
            if result is not NO:
                return result
        return func(x, w, *args, **kwargs)

    f.__signature__ = inspect.signature(func)
    f.__annotations__ = dict(func.__annotations__)
    f.__module__ = func.__module__
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"{nd}-d form of :func:`fastconv.{func.__name__}`: the weight must have "
                 f"{nd + 2} dimensions.\n\nSee :func:`fastconv.{func.__name__}` for the "
                 "parameters.")
    return f


_FIXED_FAST = {conv: _fast_conv}
conv1d = fixed_rank(conv, 1, "conv1d")
conv2d = fixed_rank(conv, 2, "conv2d")
conv3d = fixed_rank(conv, 3, "conv3d")
