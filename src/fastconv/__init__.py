"""fastconv: fast, exact convolution and pooling for NumPy arrays on the CPU.

Multichannel convolution in 1-3 spatial dimensions with PyTorch's vocabulary
(stride, padding, dilation, groups), padding modes and true convolution, its
gradients and the transposed convolution, and max/mean pooling, run by typed
Cython + OpenMP kernels with SIMD microkernels.

>>> import numpy as np, fastconv
>>> x = np.ones((1, 2, 4, 4), dtype=np.float32)
>>> w = np.ones((3, 2, 3, 3), dtype=np.float32)
>>> fastconv.conv2d(x, w, padding=1).shape
(1, 3, 4, 4)
"""

# ruff: noqa: E402
import os as _os

# GNU OpenMP reads its wait policy once, when the library loads (the first
# import of a kernel module below).  By default a team's idle threads spin;
# on a machine where another process keeps a core busy, a parallel region then
# waits for a spinning thread the OS has descheduled: measured 100-1000x the
# one-thread time on small calls.  Passive (sleeping) idle threads avoid that;
# a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins, and the environment is left
# as it was (only this process's OpenMP runtime sees the setting).
_policy = not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(_os.environ)
if _policy:
    _os.environ["OMP_WAIT_POLICY"] = "passive"
try:
    from fastconv import _conv_kernels  # noqa: F401  (loads OpenMP)
finally:
    if _policy:
        del _os.environ["OMP_WAIT_POLICY"]
del _policy

from fastconv._caches import clear_caches
from fastconv._config import (
    get_num_threads,
    get_winograd,
    set_num_threads,
    set_winograd,
    show_config,
)
from fastconv._explain import explain
from fastconv._version import __version__
from fastconv._workspace import get_workspace_limit, set_workspace_limit
from fastconv.conv import conv, conv1d, conv2d, conv3d
from fastconv.grad import conv_backward, conv_bias_grad, conv_input_grad, conv_weight_grad
from fastconv.pool import (
    avg_pool,
    avg_pool1d,
    avg_pool1d_backward,
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool3d,
    avg_pool3d_backward,
    avg_pool_backward,
    max_pool,
    max_pool1d,
    max_pool1d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_pool3d,
    max_pool3d_backward,
    max_pool_backward,
)
from fastconv.transpose import conv_transpose, conv_transpose1d, conv_transpose2d, conv_transpose3d

__all__ = [
    "__version__",
    "conv", "conv1d", "conv2d", "conv3d",
    "conv_input_grad", "conv_weight_grad", "conv_bias_grad", "conv_backward",
    "conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "max_pool", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool_backward", "max_pool1d_backward", "max_pool2d_backward", "max_pool3d_backward",
    "avg_pool", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "avg_pool_backward", "avg_pool1d_backward", "avg_pool2d_backward", "avg_pool3d_backward",
    "get_num_threads", "set_num_threads", "get_winograd", "set_winograd", "show_config",
    "clear_caches", "get_workspace_limit", "set_workspace_limit", "explain",
]
