"""Validated description of one pooling call (pooling's plan, beside conv's in
_conv_plan.py): argument checks, output sizes, window tables, the kernels'
arguments, a bounded cache of repeated calls and the thread grain.
"""

import math

import numpy as np

from fastconv._caches import BoundedCache, plain
from fastconv._config import get_num_threads
from fastconv._conv_kernels import PoolCall
from fastconv._shapes import (
    MAX_EXTENT,
    as_int,
    batched_shape,
    check_fits,
    int_tuple,
    pool_output_size,
    pool_window_tables,
)
from fastconv._validation import as_bool

# ---------------------------------------------------------------- argument checking

def _rank(kernel_size, ndim, nd, name):
    """Spatial rank: fixed ``nd``, else a tuple kernel's length, else ndim - 2."""
    if nd is not None:
        return nd
    if isinstance(kernel_size, (tuple, list)):
        nd = len(kernel_size)
        if not 1 <= nd <= 3:
            raise ValueError(f"kernel_size must have 1, 2 or 3 entries (one per spatial axis), "
                             f"got {kernel_size!r}")
        return nd
    nd = ndim - 2
    if not 1 <= nd <= 3:
        raise ValueError(
            f"{name} must have 3, 4 or 5 dimensions (N, C, *spatial) when kernel_size is an "
            f"integer, got {ndim} dimensions; pass a tuple kernel_size or use the 1d/2d/3d "
            f"functions for unbatched input")
    return nd


class _Pool:
    """Validated geometry of one pooling, promoted to three spatial axes."""

    def __init__(self, shape, nd, kernel_size, stride, padding, dilation, ceil_mode,
                 name="x"):
        self.nd = nd
        self.shape, self.unbatched = batched_shape(shape, nd, name, "pooling")
        self.in_spatial = self.shape[2:]
        k = int_tuple(kernel_size, nd, "kernel_size", minimum=1)
        s = k if stride is None else int_tuple(stride, nd, "stride", minimum=1)
        p = int_tuple(padding, nd, "padding", minimum=0)
        d = int_tuple(dilation, nd, "dilation", minimum=1)
        ceil_mode = as_bool(ceil_mode, "ceil_mode")
        for axis in range(nd):
            if p[axis] > k[axis] // 2:
                raise ValueError(
                    f"padding must be at most half of kernel_size (padding <= kernel_size // 2, "
                    f"as in PyTorch), got padding={padding!r} and kernel_size={kernel_size!r}")
        out = []
        for axis, (n, kk, ss, pp, dd) in enumerate(zip(self.in_spatial, k, s, p, d)):
            if dd * (kk - 1) + 1 > MAX_EXTENT:
                raise ValueError(f"kernel_size={kernel_size!r} with dilation={dilation!r} is "
                                 f"too large")
            o = pool_output_size(n, kk, ss, pp, dd, ceil_mode)
            if o < 1:
                raise ValueError(
                    f"kernel_size={kernel_size!r} (dilation {dilation!r}) does not fit in the "
                    f"input: spatial axis {axis} has size {n} + padding {pp}+{pp}, output size "
                    f"would be {o}")
            out.append(o)
        self.kernel, self.stride, self.padding, self.dilation = k, s, p, d
        self.out_spatial = tuple(out)
        # before anything is allocated (a broadcast view of a huge shape)
        check_fits(math.prod(self.shape), 4, name, self.shape, "its shape")
        one = (1,) * (3 - nd)
        self.geo = (one + self.in_spatial, one + self.out_spatial, one + k, one + s,
                    (0,) * (3 - nd) + p, one + d)
        self.planes = self.shape[0] * self.shape[1]
        shape = self.shape[:2] + self.out_spatial
        self.out_shape = shape[1:] if self.unbatched else shape
        self.out_size = self.planes * math.prod(self.out_spatial)


    def tables(self, count_include_pad=True):
        """Per promoted axis: (tap_lo, tap_hi, first, factor)."""
        n, o, k, s, p, d = self.geo
        return [pool_window_tables(n[a], k[a], s[a], p[a], d[a], o[a], count_include_pad)
                for a in range(3)]

    def check_windows(self, tabs):
        """Refuse dilated windows that hold no input element at all (PyTorch would
        return an index outside the input for them)."""
        for a in range(3 - self.nd, 3):
            first = tabs[a][2]
            if (first < 0).any():
                i = int(np.argmax(first < 0))
                raise ValueError(
                    f"with dilation={self.dilation!r} and padding={self.padding!r}, output "
                    f"window {i} along spatial axis {a - 3 + self.nd} lies entirely in the "
                    f"padding (input size {self.in_spatial[a - 3 + self.nd]})")


# Plans of repeated calls (kernel arguments included), when their window tables
# are small (never data-sized): at most 128 entries of < 40 KiB.
_PLANS = BoundedCache("pool plans", 128)
_CACHED_TABLES_UPTO = 1024      # outputs + taps over the three axes

# Below this many input elements (1 MiB of float32) a call runs on one thread:
# waking a team (or waiting for a thread another process keeps off its core)
# costs more than the work, ~0.1 ms (PyTorch's grain: 32768 elements per thread).
_POOL_GRAIN = 1 << 18


def _pool_threads(elements):
    return get_num_threads() if elements >= _POOL_GRAIN else 1


# PoolCall's kinds
POOL_MAX, POOL_MAX_INDICES, POOL_AVG = 0, 1, 2


def forward_call(kind, plan, tables, dtype, divisor=0):
    """The compiled forward of a checked plan: a PoolCall (see _kernels/pool_call.pxi)
    that pools arrays of the plan's shape, with the W-axis window ``tables`` (and
    for a mean the divisor override, 0 for none).  float32 means over more than
    16 taps sum in double."""
    wide = kind == POOL_AVG and dtype == np.float32 and math.prod(plan.kernel) > 16
    return PoolCall(kind, plan, tables, dtype, divisor, wide, _POOL_GRAIN, get_num_threads)


def _plan_key(key, flags):
    """key + flags, or None where the call's arguments are not all plain (its
    shape is a tuple of ints already; the flags must be bools)."""
    for f in flags:
        if f.__class__ is not bool:
            return None
    for v in key[3:]:
        t = v.__class__
        if not (t is int or v is None or t is str or (t is tuple and plain(v))):
            return None
    return key + flags


def _cached_plan(key, flags, build):
    """build() -> (plan, args), cached under key + flags when key is plain,
    the flags are bools and the tables small."""
    key = _plan_key(key, flags)
    if key is None:
        return build()
    hit = _PLANS.get(key)
    if hit is None:
        hit = build()
        plan = hit[0]
        if sum(plan.out_spatial) + sum(plan.kernel) <= _CACHED_TABLES_UPTO:
            _PLANS.put(key, hit)
    return hit


def _intp(a):
    return np.require(a, dtype=np.intp, requirements=["C", "A"])


def _i64(a):
    return np.require(a, dtype=np.int64, requirements=["C", "A"])


def _divisor(divisor_override):
    if divisor_override is None:
        return 0
    v = as_int(divisor_override, "divisor_override")
    if v <= 0:
        raise ValueError(f"divisor_override must be a positive integer, got {divisor_override!r}")
    if v > MAX_EXTENT:
        raise ValueError(f"divisor_override={divisor_override!r} is too large")
    return v


def _input_shape(input_shape):
    if input_shape is None or isinstance(input_shape, (str, bytes)) or not hasattr(
            input_shape, "__iter__"):
        raise TypeError(f"input_shape must be a tuple of integers, got {input_shape!r}")
    shape = tuple(as_int(v, "input_shape") for v in input_shape)
    if any(v < 0 for v in shape):
        raise ValueError(f"input_shape must not have negative sizes, got {input_shape!r}")
    return shape


def _avg_plan(shape, nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, name):
    """(plan, the kernels' arguments after the buffers and plane count)."""
    def build():
        plan = _Pool(shape, nd, kernel_size, stride, padding, 1, ceil_mode, name)
        cip = as_bool(count_include_pad, "count_include_pad")
        div = _divisor(divisor_override)
        tabs = plan.tables(cip)
        tw = tabs[2]
        return plan, (plan.geo, _intp(tw[0]), _intp(tw[1]), _i64(tabs[0][3]),
                      _i64(tabs[1][3]), _i64(tw[3]), div)

    return _cached_plan(("avg", shape, nd, kernel_size, stride, padding, divisor_override,
                         name), (ceil_mode, count_include_pad), build)
