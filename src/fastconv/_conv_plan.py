"""Validated description of one convolution, shared by the forward pass, both
gradients and the transposed convolution.

``make_plan`` checks every argument that depends on shapes (in Python integers,
before any C runs) and returns a ``ConvPlan``; ``run_*`` hand a plan and
contiguous buffers to the Cython drivers.
"""

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from fastconv import _alloc, _conv_kernels, _drivers, _select
from fastconv._caches import BoundedCache, plain
from fastconv._config import get_num_threads
from fastconv._padmaps import MODE_CODES, normalize_padding_mode
from fastconv._select import dw3_inplace as _dw3_inplace
from fastconv._select import is_depthwise as _is_depthwise
from fastconv._shapes import (
    MAX_EXTENT,
    as_int,
    check_fits,
    conv_output_shape,
    int_tuple,
    padding_pairs,
    show,
)
from fastconv._validation import (
    as_bool,
    as_real,
    spatial_rank,  # noqa: F401  (fastconv._dask imports it here)
)
from fastconv._workspace import thread_share

# The weight gradient sums a fixed number of chunks (16, fewer for big weights:
# at most 8 MiB of partial sums) in order: enough for 16 threads, and the same
# split for any thread count. See run_weight_grad.
_PARTIAL_BUDGET = 8 << 20     # bytes
_MAX_CHUNKS = 16


@dataclass(frozen=True)
class ConvPlan:
    """Shapes and options of ``y = conv(x, w)`` in the (N, C, *spatial) layout."""

    nd: int                 # spatial rank, 1..3
    batch: int              # N
    in_channels: int        # C_in
    out_channels: int       # C_out
    groups: int
    in_spatial: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple             # ((lo, hi), ...) per axis
    out_spatial: tuple
    mode: str               # canonical padding mode
    pad_value: float
    flip: bool

    @cached_property
    def x_shape(self):
        return (self.batch, self.in_channels) + self.in_spatial

    @cached_property
    def y_shape(self):
        return (self.batch, self.out_channels) + self.out_spatial

    @cached_property
    def w_shape(self):
        return (self.out_channels, self.in_channels // self.groups) + self.kernel

    @cached_property
    def reduction_length(self):
        """K: the number of products summed into one output element."""
        return self.in_channels // self.groups * math.prod(self.kernel)

    @cached_property
    def grouped_weight_shape(self):
        """(G, C_out/G, K): the weight as the kernels take it."""
        return self.groups, self.out_channels // self.groups, self.reduction_length

    @cached_property
    def work(self):
        """Multiply-adds of the forward (the thread rule's measure)."""
        return self.batch * self.out_channels * self.reduction_length * math.prod(self.out_spatial)

    @cached_property
    def dw3_inplace(self):
        """The depthwise 3x3 kernel that reads x in place may run (_select.dw3_inplace)."""
        return _dw3_inplace(self)

    @cached_property
    def padded_elements(self):
        """Elements of one channel of an image's padded copy (phase rows rounded up)."""
        return math.prod(e + s - 1 for e, s in zip(self.padded_extent, self.stride))

    @cached_property
    def transposed(self):
        """The forward plan whose output is this plan's input gradient (see
        _input_grad_as_forward), or None where it does not apply."""
        if any(s != 1 for s in self.stride) or self.mode not in ("zeros", "constant"):
            return None
        pads = tuple((d * (k - 1) - lo, d * (k - 1) - hi)
                     for k, d, (lo, hi) in zip(self.kernel, self.dilation, self.pads))
        if any(lo < 0 or hi < 0 for lo, hi in pads):
            return None
        return ConvPlan(self.nd, self.batch, self.out_channels, self.in_channels, self.groups,
                        self.out_spatial, self.kernel, self.stride, self.dilation, pads,
                        self.in_spatial, "zeros", 0.0, False)

    @cached_property
    def transposed_weight(self):
        """How _input_grad_as_forward turns the weight around: (its (G, Mg, Cg,
        *kernel) shape, the flip of every kernel axis, the (G, Cg, Mg*k) shape)."""
        g = self.groups
        mg, cg = self.out_channels // g, self.in_channels // g
        return ((g, mg, cg) + self.kernel, (Ellipsis,) + (slice(None, None, -1),) * self.nd,
                (g, cg, mg * math.prod(self.kernel)))

    @property
    def padded_extent(self):
        """The part of each padded axis that some output reads."""
        return tuple((o - 1) * s + d * (k - 1) + 1 for o, k, s, d in
                     zip(self.out_spatial, self.kernel, self.stride, self.dilation))

    @cached_property
    def kernel_args(self):
        """(geo, N, G, C_in/G, C_out/G): what every driver takes.  geo = (in,
        kernel, out, (stride, dilation, lo), mode code), promoted to three
        axes: a few integers, whatever the data (the kernels compute padded
        positions' sources themselves).  Kept on the plan (plans of repeated
        shapes are cached, see make_plan)."""
        one = (1,) * (3 - self.nd)
        zero = (0,) * (3 - self.nd)
        steps = (one + self.stride, one + self.dilation,
                 zero + tuple(lo for lo, _ in self.pads))
        geo = (one + self.in_spatial, one + self.kernel, one + self.out_spatial, steps,
               MODE_CODES[self.mode])
        g = self.groups
        return geo, self.batch, g, self.in_channels // g, self.out_channels // g


# An output this big (2^28 elements: 1 GiB of float32) made mostly of padding
# is taken for a mistake (padding=10**9 on 5 samples), not allocated.
_PADDING_ONLY_OUTPUTS = 1 << 28

# Plans of the calls seen last (a training loop or a filter bank repeats a few
# shapes): about 1 KiB each, keyed on shapes and arguments of plain Python types.
_PLANS = BoundedCache("conv plans", 256)


def _plain_arg(v):
    t = v.__class__
    return t is int or t is str or (t is tuple and plain(v))


def make_plan(x_shape, w_shape, *, stride, padding, dilation, groups, padding_mode,
              pad_value, flip, x_name="x", w_name="weight"):
    """Validate the arguments of a convolution; ``x_shape`` must be batched.

    Plans of plain arguments are cached (bounded, see fastconv.clear_caches):
    one dict lookup for a repeated call."""
    pv = pad_value.__class__
    # shapes are tuples of Python ints already (ndarray.shape, or checked by the caller)
    if ((pv is float or pv is int) and flip.__class__ is bool and groups.__class__ is int
            and padding_mode.__class__ is str and _plain_arg(stride) and _plain_arg(padding)
            and _plain_arg(dilation)):
        # -0.0 == 0.0 but pads differently: the sign is part of the key
        key = (x_shape, w_shape, stride, padding, dilation, groups, padding_mode, pad_value,
               math.copysign(1.0, pad_value), flip, x_name, w_name)
        plan = _PLANS.get(key)
        if plan is None:
            plan = _make_plan(x_shape, w_shape, stride, padding, dilation, groups,
                              padding_mode, pad_value, flip, x_name, w_name)
            _PLANS.put(key, plan)
        return plan
    return _make_plan(x_shape, w_shape, stride, padding, dilation, groups, padding_mode,
                      pad_value, flip, x_name, w_name)


def _make_plan(x_shape, w_shape, stride, padding, dilation, groups, padding_mode,
               pad_value, flip, x_name, w_name):
    nd = len(w_shape) - 2
    batch, cin = x_shape[0], x_shape[1]
    in_spatial = tuple(int(v) for v in x_shape[2:])
    cout, cin_g = w_shape[0], w_shape[1]
    kernel = tuple(int(v) for v in w_shape[2:])
    groups = as_int(groups, "groups")
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if cin != cin_g * groups:
        raise ValueError(
            f"{x_name} has {cin} channels but {w_name} expects C_in/groups * groups = "
            f"{cin_g} * {groups} = {cin_g * groups} (weight shape {tuple(w_shape)}, "
            f"groups={groups})")
    if cout % groups:
        raise ValueError(f"groups={groups} does not divide the {cout} output channels of "
                         f"{w_name} (shape {tuple(w_shape)})")
    if any(n == 0 for n in in_spatial):
        raise ValueError(f"{x_name} has a zero-size spatial axis: shape {tuple(x_shape)}")
    if any(k == 0 for k in kernel):
        raise ValueError(f"{w_name} has a zero-size kernel axis: shape {tuple(w_shape)}")
    stride = int_tuple(stride, nd, "stride", minimum=1)
    dilation = int_tuple(dilation, nd, "dilation", minimum=1)
    pads = padding_pairs(padding, in_spatial, kernel, stride, dilation)
    out_spatial = conv_output_shape(in_spatial, kernel, stride, pads, dilation)
    mode = normalize_padding_mode(padding_mode)
    pad_value = as_real(pad_value, "pad_value")
    if mode != "constant" and pad_value != 0.0:
        raise ValueError(f"pad_value={pad_value!r} is only used with padding_mode='constant', "
                         f"got padding_mode={padding_mode!r}")
    if not math.isfinite(pad_value):
        raise ValueError(f"pad_value must be finite, got {pad_value!r}")
    flip = as_bool(flip, "flip")
    total = batch * cout * math.prod(out_spatial)
    if total > MAX_EXTENT:
        raise ValueError(f"the output would have {total} elements, more than fastconv handles")
    # absurd sizes: the parameter that asked for them, before anything is allocated
    check_fits(batch * cin * math.prod(in_spatial), 4, x_name, tuple(x_shape), "its shape")
    if total > _PADDING_ONLY_OUTPUTS and any(
            lo + hi > n + d * (k - 1)
            for n, k, d, (lo, hi) in zip(in_spatial, kernel, dilation, pads)):
        raise ValueError(
            f"padding={show(padding)} is too large: more padding than input along an axis, "
            f"for an output of {total} elements (outputs that read only padding; more than "
            f"{_PADDING_ONLY_OUTPUTS} such elements are refused)")
    check_fits(total, 4, x_name, tuple(x_shape), "the output")
    return ConvPlan(nd, batch, cin, cout, groups, in_spatial, kernel, stride, dilation, pads,
                    out_spatial, mode, pad_value, flip)


def kernel_weight(plan, weight, dtype):
    """Weight as a contiguous (G, C_out/G, K) array, flipped for true convolution."""
    if plan.flip:
        weight = weight[(slice(None), slice(None)) + (slice(None, None, -1),) * plan.nd]
    if weight.__class__ is np.ndarray and weight.dtype == dtype and _contiguous_aligned(weight):
        w = weight
    else:
        w = np.require(weight, dtype=dtype, requirements=["C", "A"])  # aligned: kernels load it
    return w.reshape(plan.grouped_weight_shape)


def _contiguous_aligned(a):
    flags = a.flags
    return flags.c_contiguous and flags.aligned


def _kernel_args(plan):
    return plan.kernel_args


def _threads(plan):
    """Team size for the kernels of this plan (_select.threads, its work cached)."""
    return _select.team(plan.work)


# the empty bias of a call without one (the kernels only read it)
_NO_BIAS = {np.dtype(t): np.empty(0, t) for t in (np.float32, np.float64)}
for _b in _NO_BIAS.values():
    _b.flags.writeable = False


# ---------------------------------------------------------------- slabs

def _padded_bytes(plan, itemsize, channels):
    """One image's padded copy as the kernels hold it (phase-split rows rounded up)."""
    return channels * itemsize * plan.padded_elements


def _slabs(plan, itemsize, channels, out_channels):
    """None if one image's padded copy (``channels`` of it) fits a thread's share
    of the workspace; else (axis, [(o0, o1), ...]): the outputs cut into slabs
    along one spatial axis so that each slab's padded input and its output fit.
    From the shapes and the limit only: the same slabs for any thread count."""
    share = thread_share()
    if _padded_bytes(plan, itemsize, channels) <= share:
        return None
    ext = [e + s - 1 for e, s in zip(plan.padded_extent, plan.stride)]
    best = None
    for a in range(plan.nd):
        out_a = plan.out_spatial[a]
        if out_a <= 1:
            continue
        s, halo = plan.stride[a], plan.dilation[a] * (plan.kernel[a] - 1) + 1
        row_in = channels * itemsize * math.prod(ext[:a] + ext[a + 1:])
        row_out = out_channels * itemsize * math.prod(plan.out_spatial[:a]
                                                      + plan.out_spatial[a + 1:])
        # m outputs read m*s + halo - 1 padded positions along a
        m = max(1, min((share // row_in - halo + 1) // s, share // max(row_out, 1)))
        if m >= out_a:
            continue
        if best is None or m * s > best[1] * plan.stride[best[0]]:
            best = (a, m)
        if share // row_in >= halo + s:     # the outermost axis that does the job
            break
    if best is None:
        return None
    a, m = best
    out_a = plan.out_spatial[a]
    return a, [(o0, min(o0 + m, out_a)) for o0 in range(0, out_a, m)]


def _slab_plan(plan, a, o0, o1):
    """The outputs [o0, o1) along axis a of one image: the same input, read
    from padded position o0*stride on (lo may become negative)."""
    lo, _ = plan.pads[a]
    n, s = plan.in_spatial[a], plan.stride[a]
    lo2 = lo - o0 * s
    hi2 = (o1 - o0 - 1) * s + plan.dilation[a] * (plan.kernel[a] - 1) + 1 - n - lo2
    pads = plan.pads[:a] + ((lo2, hi2),) + plan.pads[a + 1:]
    out = plan.out_spatial[:a] + (o1 - o0,) + plan.out_spatial[a + 1:]
    return ConvPlan(plan.nd, 1, plan.in_channels, plan.out_channels, plan.groups,
                    plan.in_spatial, plan.kernel, plan.stride, plan.dilation, pads, out,
                    plan.mode, plan.pad_value, plan.flip)


def _along(a, o0, o1, nd):
    return (slice(None), slice(None)) + (slice(None),) * a + (slice(o0, o1),) + \
        (slice(None),) * (nd - a - 1)


# ---------------------------------------------------------------- drivers

def run_forward(plan, x, w, bias, y, whole=True, log=True):
    """y (contiguous, plan.y_shape) = conv(x, w) + bias; x, w, bias contiguous of y's dtype.

    An image whose padded copy would not fit a thread's share of the workspace
    is computed slab by slab (whole=False: this plan is one such slab).  log:
    a FASTCONV_VERBOSE line for this call (not for the input gradient's forward)."""
    geo, n, g, cg, mg = plan.kernel_args
    itemsize = y.dtype.itemsize
    # rule 1 (depthwise) depends on the plan alone; the others on the settings too
    dw = _is_depthwise(cg, mg)
    algorithm = "depthwise" if dw else _select.forward_algorithm(plan, itemsize)
    if algorithm == "winograd" and not whole:
        algorithm = "gemm"
    if _select.VERBOSE and whole and log:
        _select.log("conv_forward", plan, itemsize, *_select.forward_kernel(plan, itemsize))
    cut = (_slabs(plan, itemsize, 1 if dw else plan.in_channels, plan.out_channels)
           if whole and not (dw and plan.dw3_inplace) else None)
    if cut is not None:
        a, ranges = cut
        for i in range(plan.batch):
            for o0, o1 in ranges:
                sub = _slab_plan(plan, a, o0, o1)
                ys = np.empty(sub.y_shape, dtype=y.dtype)
                run_forward(sub, x[i:i + 1], w, bias, ys, whole=False)
                y[i:i + 1][_along(a, o0, o1, plan.nd)] = ys
        return
    b = bias if bias is not None else _NO_BIAS[y.dtype]
    if dw:
        _drivers.depthwise_forward[x.dtype](x.ravel(), w.ravel(), b, y.reshape(-1), geo, n, g, mg,
                                            plan.pad_value, _threads(plan))
        return
    # Winograd hands a call whose outputs came out infinite or NaN back to the
    # direct convolution, which gives those the IEEE sums' infinities
    if (algorithm == "winograd"
            and not _drivers.conv_forward_winograd[x.dtype](
                x.ravel(), w.ravel(), b, y.reshape(-1), geo, plan.nd, n, g, cg, mg,
                plan.pad_value, _threads(plan))):
        return
    _drivers.conv_forward_rows[x.dtype](x.ravel(), w.ravel(), b, y.reshape(-1), geo, n, g, cg, mg,
                                        plan.pad_value, _threads(plan))


def forward_call(plan, dtype, unbatched):
    """The compiled forward of a repeated call (fastconv._fastpath's recipe), or
    None: a ConvCall (_kernels/conv_call.pxi) where the layer runs dw_forward3,
    the depthwise 3x3 kernel that reads its planes in place; it runs the same
    kernel as run_forward over the same planes (the same bits) or answers None
    where the full path must run."""
    _, _, _, cg, mg = plan.kernel_args
    if plan.flip or not _is_depthwise(cg, mg) or not plan.dw3_inplace:
        return None
    y_shape = plan.y_shape[1:] if unbatched else plan.y_shape
    try:
        return _conv_kernels.ConvCall(plan, dtype, y_shape, _select.SERIAL_BELOW,
                                      get_num_threads, _select.verbose)
    except ValueError:      # the C side's rule disagrees: no compiled call
        return None


def input_grad_call(plan, dtype):
    """The compiled forward (forward_call) that computes this plan's input
    gradient of a repeated call, or None."""
    tplan = plan.transposed
    return None if tplan is None else forward_call(tplan, dtype, False)


def _input_grad_as_forward(plan, gy, w, dtype, call=None):
    """Stride 1, no padding to fold back: the input gradient is the forward
    correlation of gy with the flipped, channel-transposed kernel, padded by
    dilation*(k-1) - padding on each side.  None if that padding is negative.
    ``call``: forward_call(plan.transposed, ...) of a repeated call, or None."""
    tplan = plan.transposed
    if tplan is None:
        return None
    # w: (G, Mg, Cg*k) -> (G, Cg, Mg, k) flipped: the weight of the transposed correlation
    split, flipped, merged = plan.transposed_weight
    wt = w.reshape(split).swapaxes(1, 2)[flipped]
    wt = np.ascontiguousarray(wt).reshape(merged)
    if call is not None:
        dx = call(gy, wt, None)
        if dx is not None:
            return dx
    dx = _alloc.empty(plan.x_shape, dtype)
    run_forward(tplan, gy, wt, None, dx, log=False)
    return dx


def run_input_grad(plan, gy, w, dtype, call=None):
    """d<conv(x, w), gy>/dx as a new (plan.x_shape) array; ``call``: the compiled
    forward of the transposed plan (input_grad_call), or None."""
    if _select.VERBOSE:
        _select.log("conv_input_grad", plan, dtype.itemsize,
                    *_select.input_grad_kernel(plan, dtype.itemsize))
    dx = _input_grad_as_forward(plan, gy, w, dtype, call)
    if dx is not None:
        return dx
    geo, n, g, cg, mg = _kernel_args(plan)
    if _is_depthwise(cg, mg):
        dx = np.zeros(plan.x_shape, dtype=dtype)
        # the kernel adds each slab's share into dx (its padded plane: one slab)
        cut = _slabs(plan, dtype.itemsize, 1, plan.out_channels)
        if cut is None:
            _drivers.depthwise_input_grad[gy.dtype](gy.ravel(), w.ravel(), dx.reshape(-1), geo,
                                                    n, g, mg, _threads(plan))
            return dx
        a, ranges = cut
        for i in range(plan.batch):
            for o0, o1 in ranges:
                sub = _slab_plan(plan, a, o0, o1)
                gs = np.ascontiguousarray(gy[i:i + 1][_along(a, o0, o1, plan.nd)])
                _drivers.depthwise_input_grad[gs.dtype](
                    gs.ravel(), w.ravel(), dx[i:i + 1].reshape(-1), sub.kernel_args[0], 1, g, mg,
                    _threads(sub))
        return dx
    dx = np.zeros(plan.x_shape, dtype=dtype)
    _drivers.conv_input_grad[gy.dtype](gy.ravel(), w.ravel(), dx.reshape(-1), geo, n, g, cg, mg,
                                       _threads(plan))
    return dx


def run_weight_grad(plan, x, gy, dtype, whole=True):
    """d<conv(x, w), gy>/dw as a new (G, C_out/G, K) array.

    The reduction over (image, pixel tile) is cut into a fixed number of chunks
    (from the shapes alone), each summed by one thread, then the chunks are added
    in order: the same bits for any thread count.
    """
    geo, n, g, cg, mg = _kernel_args(plan)
    if _select.VERBOSE and whole:
        _select.log("conv_weight_grad", plan, dtype.itemsize,
                    *_select.weight_grad_kernel(plan, dtype.itemsize))
    dw = _is_depthwise(cg, mg)
    cut = (_slabs(plan, dtype.itemsize, 1 if dw else plan.in_channels, plan.out_channels)
           if whole else None)
    if cut is not None:
        # slab by slab, image by image, summed in that order in float64
        a, ranges = cut
        total = np.zeros(plan.w_shape, dtype=np.float64).reshape(g, mg, -1)
        for i in range(plan.batch):
            for o0, o1 in ranges:
                sub = _slab_plan(plan, a, o0, o1)
                gs = np.ascontiguousarray(gy[i:i + 1][_along(a, o0, o1, plan.nd)])
                total += run_weight_grad(sub, x[i:i + 1], gs, dtype, whole=False)
        return total.astype(dtype)
    if dw:
        acc = np.zeros(plan.out_channels * plan.reduction_length, dtype=np.float64)
        _drivers.depthwise_weight_grad[x.dtype](x.ravel(), gy.ravel(), acc, geo, n, g, mg,
                                                plan.pad_value, _threads(plan))
        return acc.astype(dtype).reshape(g, mg, -1)
    k = plan.reduction_length
    rows = _conv_kernels.weight_grad_rows(mg, dtype.itemsize)
    wsize = g * k * rows
    nchunks = max(1, min(_MAX_CHUNKS, _PARTIAL_BUDGET // max(wsize * dtype.itemsize, 1)))
    partial = np.zeros((nchunks, wsize), dtype=dtype)
    _drivers.conv_weight_grad[x.dtype](x.ravel(), gy.ravel(), partial, geo, n, g, cg, mg,
                                       plan.pad_value, _threads(plan))
    # partial[0]: the chunks' sum, [g][k][m] with m padded to `rows`
    return np.ascontiguousarray(partial[0].reshape(g, k, rows)[:, :, :mg].transpose(0, 2, 1))
