"""Transposed convolution ("deconvolution"), as torch.nn.functional.conv_transposeNd.

It is the input gradient of :func:`fastconv.conv` with the roles of the channels
swapped, and runs on the same kernels.
"""

from __future__ import annotations

import math

import numpy as np

from fastconv._conv_plan import kernel_weight, make_plan, run_input_grad
from fastconv._dask import dask_aware
from fastconv._shapes import (
    as_int,
    check_fits,
    conv_transpose_output_size,
    int_tuple,
    padding_pairs,
)
from fastconv._typing import ArrayLike, FloatArray, Padding, Size
from fastconv._validation import as_kernel_input, check_out, conv_operands
from fastconv.conv import fixed_rank

__all__ = ["conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


@dask_aware("conv_transpose")
def conv_transpose(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, *,
                   stride: Size = 1, padding: Padding = 0, output_padding: Size = 0,
                   dilation: Size = 1, groups: int = 1,
                   out: np.ndarray | None = None) -> FloatArray:
    """Transposed convolution: the adjoint of :func:`fastconv.conv` (with a bias).

    Parameters
    ----------
    x : array_like, shape (N, C_in, *spatial) or (C_in, *spatial)
    weight : array_like, shape (C_in, C_out // groups, *kernel)
        PyTorch's layout for transposed convolutions.
    bias : array_like, shape (C_out,), optional
    stride, dilation : int or tuple of int, default 1
    padding : int, tuple of int, or tuple of (lo, hi) pairs, default 0
        The padding of the forward convolution this transposes: the output
        loses ``lo`` positions at the start and ``hi`` at the end of each axis.
    output_padding : int or tuple of int, default 0
        Extra size added at the end of each axis (resolves the ambiguity of
        strided convolutions); each must be ``< max(stride, dilation)``.
    groups : int, default 1
    out : ndarray, optional
        Where to write the result: exactly the result's shape and dtype.

    Returns
    -------
    ndarray, shape (N, C_out, *out)
        ``out_i = (in_i - 1) * stride_i - lo_i - hi_i + dilation_i * (k_i - 1)
        + output_padding_i + 1``.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.array([[[1.0, 2.0]]])
    >>> w = np.array([[[1.0, 10.0, 100.0]]])
    >>> fastconv.conv_transpose(x, w, stride=2)
    array([[[  1.,  10., 102.,  20., 200.]]])
    """
    x, weight, bias, dtype, nd, x_shape, unbatched = conv_operands(x, weight, bias)
    n, cin = x_shape[:2]
    in_spatial = x_shape[2:]
    kernel = weight.shape[2:]
    if weight.shape[0] != cin:
        raise ValueError(f"x has {cin} channels but weight (C_in, C_out/groups, *kernel) has "
                         f"shape {weight.shape}: its first axis must equal C_in")
    if isinstance(padding, str):
        raise ValueError(f"padding for conv_transpose must be integers or (lo, hi) pairs, "
                         f"got {padding!r}")
    stride = int_tuple(stride, nd, "stride", minimum=1)
    dilation = int_tuple(dilation, nd, "dilation", minimum=1)
    output_padding = int_tuple(output_padding, nd, "output_padding", minimum=0)
    pads = padding_pairs(padding, in_spatial, kernel, stride, dilation)
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"output_padding must be smaller than max(stride, dilation) on "
                             f"every axis, got output_padding={output_padding}, stride={stride},"
                             f" dilation={dilation}")
    out_spatial = tuple(
        conv_transpose_output_size(i, k, s, d, lo, hi, op)
        for i, k, s, d, (lo, hi), op in zip(in_spatial, kernel, stride, dilation, pads,
                                            output_padding))
    if any(o < 1 for o in out_spatial):
        raise ValueError(f"conv_transpose output size {out_spatial} is not positive: padding "
                         f"{padding!r} is too large for input size {in_spatial} and kernel "
                         f"{kernel}")
    # before anything is allocated: a stride or dilation that asks for absurd memory
    big = "stride" if max(stride) >= max(dilation) else "dilation"
    check_fits(n * weight.shape[1] * math.prod(out_spatial), dtype.itemsize, big,
               stride if big == "stride" else dilation, "the output")
    groups = as_int(groups, "groups")
    if groups < 1 or cin % groups:
        raise ValueError(f"groups must be >= 1 and divide the {cin} input channels, "
                         f"got groups={groups}")
    cout = weight.shape[1] * groups
    # the forward convolution whose input gradient this is: input (N, C_out, *out)
    plan = make_plan((n, cout) + out_spatial, weight.shape, stride=stride, padding=pads,
                     dilation=dilation, groups=groups, padding_mode="zeros", pad_value=0.0,
                     flip=False, x_name="output", w_name="weight")
    if bias is not None and bias.shape != (plan.in_channels,):
        raise ValueError(f"bias must have shape ({plan.in_channels},), got {bias.shape}")
    result_shape = (plan.x_shape[1:] if unbatched else plan.x_shape)
    if out is not None:
        check_out(out, result_shape, dtype)

    xk = as_kernel_input(x, dtype).reshape(x_shape)
    # output_padding can make the forward output longer than x; the extra
    # positions carry zero gradient
    grow = [(0, f - i) for f, i in zip(plan.out_spatial, in_spatial)]
    if any(hi for _, hi in grow):
        xk = np.pad(xk, [(0, 0), (0, 0)] + grow)
    y = run_input_grad(plan, xk, kernel_weight(plan, weight, dtype), dtype)
    if bias is not None:
        y += as_kernel_input(bias, dtype).reshape((1, -1) + (1,) * nd)
    result = y[0] if unbatched else y
    if out is None:
        return result
    np.copyto(out, result)
    return out


conv_transpose1d = fixed_rank(conv_transpose, 1, "conv_transpose1d")
conv_transpose2d = fixed_rank(conv_transpose, 2, "conv_transpose2d")
conv_transpose3d = fixed_rank(conv_transpose, 3, "conv_transpose3d")
