"""Which kernel runs: the one home of the choice, for the drivers and for
``fastconv.explain``.

The forward of a convolution goes down an ordered list of rules; the first
that applies names the algorithm:

1. ``depthwise``  one input channel per group, at most ``DEPTHWISE_MAX_OUT``
   output channels per group: the direct dw_* kernels (``inplace``:
   3x3 read from the unpadded planes; ``rows``; ``vgrid``: narrow rows);
2. ``winograd``   stride 1, 3x3 / 3x3x3 / 1-D of >= 7 taps, when enabled
   (``fastconv.set_winograd``) and the layer has the channels and tiles that
   pay (``_conv_kernels.use_winograd``); a call whose outputs come out
   non-finite is redone by rule 3;
3. ``gemm``       the direct GEMM on rows of the padded image (``bcast``:
   image values broadcast against packed weights, AVX-512, few channels or
   taps in threes; else ``rows``).

Calls below ``SERIAL_BELOW`` multiply-adds run on one thread; images whose
padded copy exceeds a thread's share of the workspace run in slabs.  The
choice between kernels that need the phase-split geometry (rows/bcast, the
depthwise kernel) is made by one Cython function each, which the drivers call
and ``explain`` asks.  No rule changes the bits of a result across thread
counts; the kernel choice itself may (each kernel sums in its own order).

``FASTCONV_VERBOSE=1`` prints one line per convolution call to stderr, in the
manner of oneDNN's verbose mode: ``fastconv_verbose,<op>,<algorithm>,<kernel>,
isa=...,threads=...,<shapes>``.
"""

import math
import os
import sys

from fastconv import _conv_kernels
from fastconv._config import get_num_threads

# Groups that read one input channel and write at most this many output
# channels run the direct depthwise kernels; wider ones fill a GEMM block better.
DEPTHWISE_MAX_OUT = 2

# Below this many multiply-adds (about 0.1-0.2 ms of one core) a call runs on
# one thread: waking a team, and waiting for a thread that another process
# keeps off its core, costs more than it saves (docs/performance.md, threads).
# The bits never depend on it.
SERIAL_BELOW = 1 << 22

VERBOSE = os.environ.get("FASTCONV_VERBOSE", "0") not in ("", "0")


def verbose():
    """Whether calls log their kernel choice (FASTCONV_VERBOSE)."""
    return VERBOSE


def is_depthwise(cg, mg):
    """Rule 1: groups of one input channel and few output channels."""
    return cg == 1 and mg <= DEPTHWISE_MAX_OUT


def team(work):
    """Team size for a call of ``work`` multiply-adds (or comparisons): one thread
    below ``SERIAL_BELOW``, else the threads setting.  The ndimage and signal
    kernels follow it too."""
    return get_num_threads() if work >= SERIAL_BELOW else 1


def threads(plan):
    """Team size for the kernels of this plan."""
    return team(plan.batch * plan.out_channels * plan.reduction_length
                * math.prod(plan.out_spatial))


def dw3_inplace(plan):
    """The depthwise 3x3 kernel that reads x in place (no padded copy) may run."""
    return (plan.nd == 2 and plan.kernel == (3, 3) and all(1 <= s <= 2 for s in plan.stride)
            and plan.dilation == (1, 1) and all(lo == 1 for lo, _ in plan.pads)
            and plan.mode in ("zeros", "constant") and plan.pad_value == 0.0
            and math.copysign(1.0, plan.pad_value) > 0)


def forward_algorithm(plan, itemsize):
    """The first rule of the forward that applies: 'depthwise', 'winograd' or 'gemm'."""
    _, _, _, cg, mg = plan.kernel_args
    if is_depthwise(cg, mg):
        return "depthwise"
    if _conv_kernels.use_winograd(plan.nd, plan.kernel, plan.stride, plan.dilation,
                                  plan.out_spatial, cg, mg, itemsize):
        return "winograd"
    return "gemm"


def forward_kernel(plan, itemsize):
    """(algorithm, kernel) of the forward of this plan (a whole image)."""
    geo, _, _, cg, mg = plan.kernel_args
    algorithm = forward_algorithm(plan, itemsize)
    if algorithm == "depthwise":
        return algorithm, _conv_kernels.depthwise_forward_kernel(geo, plan.pad_value, itemsize)
    if algorithm == "winograd":
        return algorithm, {1: "F(2,3)", 2: "F(2x2,3x3)", 3: "F(2x2x2,3x3x3)"}[plan.nd]
    return algorithm, _conv_kernels.forward_gemm_kernel(geo, cg, mg, itemsize)


def input_grad_kernel(plan, itemsize):
    """(algorithm, kernel) of the input gradient of this plan."""
    tplan = plan.transposed
    if tplan is not None:
        algorithm, kernel = forward_kernel(tplan, itemsize)
        return "transposed-forward", f"{algorithm}:{kernel}"
    _, _, _, cg, mg = plan.kernel_args
    if is_depthwise(cg, mg):
        return "depthwise", "dw_input_grad"
    return "gemm", "col2im"


def weight_grad_kernel(plan, itemsize):
    """(algorithm, kernel) of the weight gradient of this plan."""
    _, _, _, cg, mg = plan.kernel_args
    if is_depthwise(cg, mg):
        return "depthwise", "dw_weight_grad"
    return "gemm", "wgrad_t"


def log(op, plan, itemsize, algorithm, kernel):
    """One verbose line (FASTCONV_VERBOSE=1) for a call of ``op`` on ``plan``."""
    shapes = "x{}:w{}:y{}".format("x".join(map(str, plan.x_shape)),
                                  "x".join(map(str, plan.w_shape)),
                                  "x".join(map(str, plan.y_shape)))
    print(f"fastconv_verbose,{op},{algorithm},{kernel},isa={_conv_kernels.current_isa()},"
          f"threads={threads(plan)},f{8 * itemsize},{shapes}", file=sys.stderr)
