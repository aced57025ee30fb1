"""``fastconv.explain``: which algorithm and kernel a convolution call runs."""

from __future__ import annotations

from typing import Any

from fastconv import _conv_kernels, _select
from fastconv._conv_plan import _slabs, make_plan
from fastconv._typing import ArrayLike, Padding, Size
from fastconv._validation import conv_operands

__all__ = ["explain"]


def explain(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, *, stride: Size = 1,
            padding: Padding = 0, dilation: Size = 1, groups: int = 1,
            padding_mode: str = "zeros", pad_value: float = 0.0,
            flip: bool = False) -> dict[str, Any]:
    """Which algorithm and kernel ``fastconv.conv`` and its gradients run for these arguments.

    Takes the arguments of :func:`fastconv.conv` (only the shapes and dtypes of
    the arrays matter) and checks them as it does.  The answer follows the
    rules of the kernel choice (``fastconv._select``) on the current instruction
    set, thread count, Winograd switch and workspace limit.  Setting the
    environment variable ``FASTCONV_VERBOSE=1`` before importing fastconv
    prints the same facts for every call, one line each, to stderr.

    Returns
    -------
    dict
        ``forward``, ``input_grad``, ``weight_grad``: ``"algorithm:kernel"``
        (algorithms ``depthwise``, ``winograd``, ``gemm``; the input gradient
        may be ``transposed-forward``, the forward of the transposed
        convolution); ``isa``; ``threads`` (the team a call uses: 1 below the
        serial grain); ``dtype``; ``slabs``: None, or ``(axis, count)`` when
        an image's padded copy exceeds the workspace share and the forward
        runs slab by slab.

    Examples
    --------
    >>> import numpy as np, fastconv
    >>> x = np.zeros((8, 32, 56, 56), dtype=np.float32)
    >>> info = fastconv.explain(x, np.zeros((32, 1, 3, 3), np.float32), padding=1, groups=32)
    >>> info["forward"].split(":")[0], info["dtype"]
    ('depthwise', 'float32')
    >>> fastconv.explain(x, np.zeros((64, 32, 1, 1), np.float32))["forward"].split(":")[0]
    'gemm'
    """
    _, weight, _, dtype, _, x_shape, _ = conv_operands(x, weight, bias)
    plan = make_plan(x_shape, weight.shape, stride=stride, padding=padding, dilation=dilation,
                     groups=groups, padding_mode=padding_mode, pad_value=pad_value, flip=flip)
    size = dtype.itemsize
    _, _, _, cg, mg = plan.kernel_args
    dw = _select.is_depthwise(cg, mg)
    cut = (None if dw and _select.dw3_inplace(plan)
           else _slabs(plan, size, 1 if dw else plan.in_channels, plan.out_channels))
    return {
        "forward": "{}:{}".format(*_select.forward_kernel(plan, size)),
        "input_grad": "{}:{}".format(*_select.input_grad_kernel(plan, size)),
        "weight_grad": "{}:{}".format(*_select.weight_grad_kernel(plan, size)),
        "isa": _conv_kernels.current_isa(),
        "threads": _select.threads(plan),
        "dtype": dtype.name,
        "slabs": None if cut is None else (cut[0], len(cut[1])),
    }
