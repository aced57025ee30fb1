"""The benchmark workloads of ``shared/workloads.md`` as data.

One table, used by ``python -m fastconv bench``, the asv suite (asv_bench/) and
the tests, so that every speed figure is quoted on the same shapes.  Arithmetic
counts come from the shapes (never typed in): a forward convolution costs
``2 * N * C_out * prod(out) * C_in / groups * prod(kernel)`` flops; its backward
(input gradient + weight gradient) twice that.

Examples
--------
>>> from fastconv.bench.workloads import conv_workload
>>> w = conv_workload("vgg3x3")
>>> w.out_shape
(8, 64, 56, 56)
>>> round(w.gflop, 2)
1.85
"""

from dataclasses import dataclass
from math import prod

import numpy as np

from fastconv._shapes import conv_output_shape, pool_output_size

__all__ = [
    "CONV_WORKLOADS",
    "POOL_WORKLOADS",
    "ConvWorkload",
    "PoolWorkload",
    "conv_workload",
    "pool_workload",
]


@dataclass(frozen=True)
class ConvWorkload:
    """One convolution layer: input and weight shapes and the conv parameters (ints)."""

    name: str
    x_shape: tuple
    w_shape: tuple
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1

    @property
    def ndim(self):
        """Number of spatial axes."""
        return len(self.w_shape) - 2

    @property
    def kernel(self):
        return tuple(self.w_shape[2:])

    @property
    def params(self):
        """Keyword arguments for ``fastconv.conv`` (and the peers)."""
        return {"stride": self.stride, "padding": self.padding,
                    "dilation": self.dilation, "groups": self.groups}

    @property
    def out_shape(self):
        nd = self.ndim
        out = conv_output_shape(self.x_shape[2:], self.kernel, (self.stride,) * nd,
                                ((self.padding, self.padding),) * nd, (self.dilation,) * nd)
        return (self.x_shape[0], self.w_shape[0]) + out

    @property
    def flops(self):
        """Multiply-adds x 2 of the forward convolution."""
        n, c_out = self.out_shape[:2]
        return 2 * n * c_out * prod(self.out_shape[2:]) * self.w_shape[1] * prod(self.kernel)

    @property
    def gflop(self):
        return self.flops / 1e9

    @property
    def backward_gflop(self):
        """Input gradient + weight gradient: two convolutions' worth."""
        return 2 * self.gflop

    def describe(self):
        return (f"x{self.x_shape} w{self.w_shape} s{self.stride} p{self.padding} "
                f"d{self.dilation} g{self.groups}")

    def arrays(self, dtype=np.float32, seed=0, batch=None, grad=False):
        """Random ``(x, w)`` (and ``grad_output`` if ``grad``), C-contiguous.

        ``batch`` overrides N (for peers too slow to run on the whole batch).
        """
        rng = np.random.default_rng(seed)
        x_shape = self.x_shape if batch is None else (batch,) + tuple(self.x_shape[1:])
        x = rng.standard_normal(x_shape, dtype=np.float32).astype(dtype, copy=False)
        w = rng.standard_normal(self.w_shape, dtype=np.float32).astype(dtype, copy=False)
        w *= 1.0 / np.sqrt(prod(self.w_shape[1:]))
        if not grad:
            return x, w
        out_shape = (x_shape[0],) + self.out_shape[1:]
        g = rng.standard_normal(out_shape, dtype=np.float32).astype(dtype, copy=False)
        return x, w, g


@dataclass(frozen=True)
class PoolWorkload:
    """One pooling layer over ``x_shape`` (N, C, H, W)."""

    name: str
    op: str                 # "max" or "avg"
    kernel: int
    stride: int
    padding: int = 0
    backward: bool = False  # forward with indices + backward (max only)
    x_shape: tuple = (8, 64, 112, 112)

    @property
    def ndim(self):
        return len(self.x_shape) - 2

    @property
    def out_shape(self):
        out = tuple(pool_output_size(n, self.kernel, self.stride, self.padding, 1, False)
                    for n in self.x_shape[2:])
        return tuple(self.x_shape[:2]) + out

    @property
    def bytes_moved(self):
        """Minimum float32 traffic: read the input once, write the output once
        (fwd+bwd: also read grad_output and write grad_input; indices not counted)."""
        moved = prod(self.x_shape) + prod(self.out_shape)
        return 4 * (2 * moved if self.backward else moved)

    def describe(self):
        k, s, p = self.kernel, self.stride, self.padding
        extra = " +bwd" if self.backward else ""
        return f"{self.op} x{self.x_shape} k{k} s{s} p{p}{extra}"

    def arrays(self, dtype=np.float32, seed=0, grad=False):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(self.x_shape, dtype=np.float32).astype(dtype, copy=False)
        if not grad:
            return (x,)
        g = rng.standard_normal(self.out_shape, dtype=np.float32).astype(dtype, copy=False)
        return x, g


CONV_WORKLOADS = (
    ConvWorkload("vgg3x3", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1, 1, 1),
    ConvWorkload("res3x3s2", (8, 64, 56, 56), (128, 64, 3, 3), 2, 1, 1, 1),
    ConvWorkload("pw1x1", (8, 256, 56, 56), (64, 256, 1, 1), 1, 0, 1, 1),
    ConvWorkload("stem7x7s2", (8, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1, 1),
    ConvWorkload("dil3x3d2", (8, 64, 56, 56), (64, 64, 3, 3), 1, 2, 2, 1),
    ConvWorkload("dw3x3", (8, 128, 56, 56), (128, 1, 3, 3), 1, 1, 1, 128),
    ConvWorkload("mnist5x5", (64, 1, 28, 28), (8, 1, 5, 5), 1, 0, 1, 1),
    ConvWorkload("eeg1d_k7", (16, 128, 4096), (64, 128, 7), 1, 3, 1, 1),
    ConvWorkload("vol3d", (2, 16, 32, 32, 32), (32, 16, 3, 3, 3), 1, 1, 1, 1),
)

POOL_WORKLOADS = (
    PoolWorkload("max2x2s2", "max", 2, 2, 0),
    PoolWorkload("max3x3s2p1", "max", 3, 2, 1),
    PoolWorkload("avg2x2s2", "avg", 2, 2, 0),
    PoolWorkload("avg3x3s1p1", "avg", 3, 1, 1),
    PoolWorkload("max2x2s2_fwdbwd", "max", 2, 2, 0, backward=True),
)

_CONV_BY_NAME = {w.name: w for w in CONV_WORKLOADS}
_POOL_BY_NAME = {w.name: w for w in POOL_WORKLOADS}


def conv_workload(name):
    """The convolution workload called ``name`` (KeyError lists the names)."""
    try:
        return _CONV_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no conv workload {name!r}; known: {', '.join(_CONV_BY_NAME)}") from None


def pool_workload(name):
    """The pooling workload called ``name`` (KeyError lists the names)."""
    try:
        return _POOL_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no pool workload {name!r}; known: {', '.join(_POOL_BY_NAME)}") from None
