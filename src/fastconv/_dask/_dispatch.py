"""Lazy handlers of the public functions, one per decorated name.

Over spatial chunks (the halo graph of ``_engine.sliding``; how the chunks are cut:
see ``fastconv._dask._engine``), beyond the forward ops:

* conv_input_grad / conv_backward's input part, zeros or constant padding: the
  adjoint blocks of ``_adjoint_sliding``; a padding mode that folds the border's
  gradient back (reflect, replicate, circular, symmetric): ``FoldAxis`` and
  ``_fold_block`` (a chunk also reads the outputs whose gradient folds onto it).
* max_pool_backward: when its indices are the dask array that max_pool returned,
  which carries its windows' reach (``PoolWindows``); other indices carry none and
  stay one block per batch chunk.
* avg_pool_backward: ``_avg_bwd_block`` (a divisor the same for every window) or
  ``_avg_bwd_edges_block`` (ceil_mode, count_include_pad=False).
* avg_pool with ceil_mode or count_include_pad=False, and max_pool's indices with
  padding or ceil_mode: one call per output piece that keeps the whole call's edges
  (``_pool_piece``).

Each result gets the same terms in the same order as the in-memory call: the same
bits (tests/test_dask.py, tests/test_dask_spatial_grads.py), except where
conv_input_grad's GEMM + col2im kernel cuts the whole call's plane into several
pixel tiles (it adds a tile at a time): then within the float bound.
"""

import inspect

import dask.array as da
import numpy as np

from fastconv._dask import _engine as E
from fastconv._dask import is_dask


def dispatch(name, func, public, args, kwargs):
    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    p = dict(bound.arguments)
    extra = p.pop("kwargs", None) or {}
    p.update(extra)
    p.pop("args", None)
    return HANDLERS[name](public, p)


def _eager(value, name):
    """A small operand (weight, bias, in2) given as a dask array: refuse to compute it
    silently; a NumPy array is needed."""
    if is_dask(value):
        raise TypeError(f"{name} must be an in-memory array when the input is a dask array "
                        f"(it is broadcast to every block); call .compute() on it first")
    return value


def _batched(x, nd):
    """(x as (N, C, *spatial), unbatched flag)."""
    if x.ndim == nd + 1:
        return x[None], True
    return x, False


def _unbatch(y, unbatched):
    return y[0] if unbatched else y


def _conv_opts(p):
    return {k: p[k] for k in ("stride", "padding", "dilation", "groups", "padding_mode",
                              "pad_value", "flip")}


# ------------------------------------------------------------------ forward conv

def _conv_block(block, pads, public, weight, bias, opts):
    # pads: what is left of the constant padding at the array's edge; (0, 0) inside
    # and for the gathered modes, whose halo already holds the padded values
    return public(block, weight, bias, **dict(opts, padding=pads))


def _conv_inner(block, pads, public, weight, bias, opts):
    # a chunk without its halo: zero padding stands in for it (the halo engine
    # recomputes the outputs that read it), with no padded copy of the chunk
    return public(block, weight, bias,
                  **dict(opts, padding=pads, padding_mode="zeros", pad_value=0.0))


def _conv_operands(p):
    """x (lazy), weight and bias (in memory) of a conv or conv_transpose call."""
    from fastconv._validation import as_array

    if p.get("out") is not None:
        raise TypeError("out= is not supported with a dask input (the result is lazy)")
    weight = as_array(_eager(p["weight"], "weight"), "weight")
    bias = p["bias"]
    if bias is not None:
        bias = as_array(_eager(bias, "bias"), "bias")
    return p["x"], weight, bias


def conv(public, p):
    from fastconv._conv_plan import make_plan, spatial_rank
    from fastconv._validation import result_dtype

    x, weight, bias = _conv_operands(p)
    nd = spatial_rank(weight.ndim)
    opts = _conv_opts(p)
    plan = make_plan((1,) + x.shape if x.ndim == nd + 1 else x.shape, weight.shape, **opts)
    if bias is not None and bias.shape != (plan.out_channels,):
        raise ValueError(f"bias must have shape ({plan.out_channels},), got {bias.shape}")
    dtype = result_dtype(np.empty(0, x.dtype), weight, bias)
    axes = [E.Axis(n, d * (k - 1) + 1, s, lo, hi, o) for n, k, s, d, (lo, hi), o in
            zip(plan.in_spatial, plan.kernel, plan.stride, plan.dilation, plan.pads,
                plan.out_spatial)]
    mode = plan.mode
    # the block gets its padding explicitly; gathered modes need none
    block_opts = dict(opts, padding_mode=mode if mode in ("zeros", "constant") else "zeros")
    # an unbatched x goes in as it is: the halo graph adds the batch axis inside its
    # tasks (a getitem layer would cost one more task per chunk)
    return E.sliding(x, axes, mode, _conv_block, plan.out_channels, dtype,
                     threads=E.user_threads(), fill=plan.pad_value if mode == "constant" else 0.0,
                     inner=_conv_inner,
                     call_kwargs=dict(public=public, weight=weight, bias=bias, opts=block_opts))


# ------------------------------------------------------------------ gradients

def _shape_with_batch(shape, n):
    return (n,) + tuple(shape[1:])


def _input_grad_block(g, public, weight, input_shape, opts):
    return public(g, weight, _shape_with_batch(input_shape, g.shape[0]), **opts)


def _adjoint_block(block, pads, where, call, axes, out_channels, dtype, bias):
    """One result chunk of conv_input_grad / conv_transpose from its block of inputs
    (see ``_engine.TransposedAxis``): ``call(block, padding, spatial)`` is the
    in-memory call; the margins no input reaches hold zero (plus the bias)."""
    geo = []
    for ax, (a, b), (plo, _), m in zip(axes, where, pads, block.shape[2:]):
        geo.append(ax.block_geometry(a, b, ax.need(a, b)[0] + plo, m))
    shape = (block.shape[0], out_channels) + tuple(b - a for a, b in where)
    if any(g is None for g in geo):
        y = np.zeros(shape, dtype)
        if bias is not None:
            y += bias.astype(dtype).reshape((1, -1) + (1,) * len(axes))
        return y
    inner = tuple(n - f - k for n, (_, (f, k)) in zip(shape[2:], geo))
    y = call(block, [g[0] for g in geo], inner)
    if inner == shape[2:]:
        return y
    z = np.zeros(shape, dtype)
    if bias is not None:
        z += bias.astype(dtype).reshape((1, -1) + (1,) * len(axes))
    z[(slice(None), slice(None)) + tuple(slice(f, f + n) for (_, (f, _k)), n in
                                         zip(geo, inner))] = y
    return z


def _input_grad_call(block, padding, spatial, public, weight, in_channels, opts):
    return public(block, weight, (block.shape[0], in_channels) + spatial,
                  **dict(opts, padding=padding))


def _adjoint_sliding(g, axes, out_channels, dtype, call, call_kwargs, bias=None):
    """The result of an adjoint op over spatially chunked g (N, C, *spatial) or (C, ...)."""
    from functools import partial

    return E.sliding(g, axes, "zeros", _adjoint_block, out_channels, dtype,
                     threads=E.user_threads(), with_where=True,
                     call_kwargs=dict(call=partial(call, **call_kwargs), axes=axes,
                                      out_channels=out_channels, dtype=np.dtype(dtype),
                                      bias=bias))


class FoldAxis(E.TransposedAxis):
    """One axis of conv_input_grad with a padding mode that folds the border's gradient
    back (reflect, edge, wrap, symmetric): result chunk [a, b) receives from the padded
    positions ``J = src^-1([a, b))`` (its own positions and their mirror or wrapped
    images in the padding), so it reads the outputs whose windows meet ``J``.

    The block call (``layout``) takes those outputs with the whole call's padding mode
    and keeps the whole call's geometry wherever it reaches the array's edges (the
    padding there, and the input no window reads); it is used only where the terms it
    adds into the chunk are exactly the whole call's (checked per axis, tap by tap:
    its padding may fold other terms elsewhere, outside the chunk).  For circular
    padding a chunk near one edge also needs the outputs at the far edge: the block
    is then those at the start of the axis followed by those at its end, as one
    shorter axis that wraps the same way (checked term by term), so an edge chunk
    reads two strips, not its whole axis.  Where neither fits (padding wider than
    the block can mirror), the chunk reads the whole axis (the whole call's geometry
    on it)."""

    def __init__(self, n, kernel, dilation, stride, lo, hi, out, mode):
        super().__init__(n, dilation * (kernel - 1) + 1, stride, lo, hi, out)
        self.k, self.d = kernel, dilation
        self.fold_mode = mode
        self.gather_mode = "wrap" if mode == "wrap" else "zeros"
        self._layouts = {}

    def key(self):
        return super().key() + (self.k, self.d, self.fold_mode)

    def span(self, o1, o2):
        """The block of outputs [o1, o2): its real part [r0, r1) of the result and its
        padding (lo', hi').  A block with the last output keeps the whole call's end of
        the axis (the input that no window reads, and the padding ``hi``)."""
        s0 = o1 * self.s - self.lo
        r0 = max(s0, 0)
        if o2 == self.n:
            return (r0, self.out), (r0 - s0, self.hi)
        s1 = (o2 - 1) * self.s - self.lo + self.e
        r1 = min(s1, self.out)
        return (r0, r1), (r0 - s0, s1 - r1)

    def _same_terms(self, a, b, o, tb, shift):
        """Whether the block's terms (outputs ``o`` of the whole call, landing at ``tb``
        in the block's result) that land in the chunk [a, b) (at ``[a, b) - shift`` in
        the block) are exactly the whole call's terms of those outputs that land in it."""
        from fastconv._padmaps import source_index

        taps = np.arange(self.k) * self.d - self.lo
        tg = source_index(o[:, None] * self.s + taps, self.out, self.fold_mode)
        hit = (tg >= a) & (tg < b)
        return bool(np.array_equal(hit, (tb >= a - shift) & (tb < b - shift))
                    and np.array_equal(tb[hit] + shift, tg[hit]))

    def _exact(self, a, b, o1, o2):
        from fastconv._padmaps import source_index

        if (o1, o2) == (0, self.n):
            return True                 # the whole call's geometry on this axis
        (r0, r1), (plo, _) = self.span(o1, o2)
        if r1 <= r0:
            return False
        t = np.arange(o2 - o1)
        taps = np.arange(self.k) * self.d - plo
        tb = source_index(t[:, None] * self.s + taps, r1 - r0, self.fold_mode)
        return self._same_terms(a, b, o1 + t, tb, r0)

    def _two_ends(self, a, b, j):
        """Circular padding: the outputs [0, nl) and [n - r, n) as one axis of the
        result length ``out - (n - nl - r) s`` that wraps the same way, or None."""
        from fastconv._padmaps import source_index

        cut = int(np.argmax(np.diff(j))) + 1
        left, right = j[:cut], j[cut:]
        nl = min((int(left[-1]) + self.lo) // self.s + 1, self.n)
        first = max(-(-(int(right[0]) + self.lo - self.e + 1) // self.s), 0)
        r = self.n - first
        short = self.out - (self.n - nl - r) * self.s
        if nl + r >= self.n or short < 1:
            return None
        shift = 0 if a < int(right[0]) else self.out - short
        if not 0 <= a - shift < b - shift <= short:
            return None
        t = np.arange(nl + r)
        taps = np.arange(self.k) * self.d - self.lo
        tb = source_index(t[:, None] * self.s + taps, short, "wrap")
        if not self._same_terms(a, b, np.where(t < nl, t, t + self.n - nl - r), tb, shift):
            return None
        return (-r, nl), r, short, (self.lo, self.hi), (a - shift, b - shift)

    def layout(self, a, b):
        """Result chunk [a, b): (the outputs to gather, as a range that wraps around for
        circular padding; how far to roll them so the axis's start comes first; the
        call's result length; its padding; the chunk's place in its result)."""
        got = self._layouts.get((a, b))
        if got is not None:
            return got
        from fastconv._padmaps import source_index

        end = (self.n - 1) * self.s - self.lo + self.e      # the padded extent read
        pad = np.r_[-self.lo:0, self.out:max(end, self.out)]
        src = source_index(pad, self.out, self.fold_mode)
        j = np.union1d(np.arange(a, min(b, end)), pad[(src >= a) & (src < b)])
        got = None
        if j.size == 0:
            got = (0, 0), 0, 0, (0, 0), (0, 0)
        else:
            o1, o2 = super().need(int(j[0]), int(j[-1]) + 1)
            o1, o2 = max(o1, 0), min(o2, self.n)
            if not self._exact(a, b, o1, o2):
                o1, o2 = 0, self.n
            if self.fold_mode == "wrap" and j.size > 1 and int(np.diff(j).max()) > 1:
                got = self._two_ends(a, b, j)
                if got is not None and got[0][1] - got[0][0] >= o2 - o1:
                    got = None
        if got is None:
            (r0, r1), pq = self.span(o1, o2)
            got = (o1, o2), 0, r1 - r0, pq, (a - r0, b - r0)
        self._layouts[(a, b)] = got
        return got

    def need(self, a, b):
        return self.layout(a, b)[0]


def _fold_block(block, pads, where, public, weight, in_channels, opts, axes, dtype):
    """One result chunk of conv_input_grad with a folding padding mode: the in-memory
    call on the outputs that reach it, laid out by ``FoldAxis.layout`` (the whole call's
    padding mode at the array's edges), cropped to the chunk.  Each result adds the
    same terms in the same order as the whole call (one pixel tile, see the module
    doc)."""
    shape = block.shape[:1] + (in_channels,) + tuple(b - a for a, b in where)
    out = np.zeros(shape, dtype)
    if any(m == 0 for m in block.shape[2:]):
        return out
    real, padding, src, dst = [], [], [], []
    for i, (ax, (a, b)) in enumerate(zip(axes, where)):
        _, roll, n, pq, (c0, c1) = ax.layout(a, b)
        if roll:
            # gathered as [the end's outputs][the start's]: the start's first
            block = np.roll(block, -roll, axis=2 + i)
        real.append(n)
        padding.append(pq)
        lo, hi = max(c0, 0), min(c1, n)
        if lo >= hi:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - c0, hi - c0))
    y = public(block, weight, (block.shape[0], in_channels) + tuple(real),
               **dict(opts, padding=tuple(padding)))
    lead = (slice(None), slice(None))
    out[lead + tuple(dst)] = y[lead + tuple(src)]
    return out


def _spatially_chunked(a, nd):
    return any(len(c) > 1 for c in a.chunks[a.ndim - nd:])


def conv_input_grad(public, p):
    from fastconv._conv_plan import make_plan, spatial_rank
    from fastconv._validation import as_array, result_dtype

    g = p["grad_output"]
    weight = as_array(_eager(p["weight"], "weight"), "weight")
    input_shape = tuple(int(s) for s in p["input_shape"])
    nd = spatial_rank(weight.ndim)
    gb, unbatched = _batched(g, nd)
    ishape = ((1,) + input_shape) if unbatched else input_shape
    # validate the whole call's shapes now (a small stand-in batch)
    opts = _conv_opts(p)
    public(np.zeros((1,) + gb.shape[1:], g.dtype), weight, (1,) + ishape[1:], **opts)
    dtype = result_dtype(np.empty(0, g.dtype), weight)
    plan = make_plan(ishape, weight.shape, **opts)
    if plan.mode in ("zeros", "constant") and _spatially_chunked(g, nd):
        # the padded positions take no gradient: a halo exchange over g's chunks
        axes = [E.TransposedAxis(no, d * (k - 1) + 1, s, lo, hi, ni)
                for no, k, s, d, (lo, hi), ni in zip(plan.out_spatial, plan.kernel,
                                                     plan.stride, plan.dilation, plan.pads,
                                                     plan.in_spatial)]
        return _adjoint_sliding(g, axes, plan.in_channels, dtype, _input_grad_call,
                                dict(public=public, weight=weight,
                                     in_channels=plan.in_channels, opts=opts))
    if _spatially_chunked(g, nd):
        # the border's gradient folds back onto the input's edge: each result chunk
        # reads the outputs whose windows meet it or its images in the padding
        axes = [FoldAxis(no, k, d, s, lo, hi, ni, plan.mode)
                for no, k, s, d, (lo, hi), ni in zip(plan.out_spatial, plan.kernel,
                                                     plan.stride, plan.dilation, plan.pads,
                                                     plan.in_spatial)]
        return E.sliding(g, axes, [ax.gather_mode for ax in axes], _fold_block,
                         plan.in_channels, dtype,
                         threads=E.user_threads(), with_where=True,
                         call_kwargs=dict(public=public, weight=weight,
                                          in_channels=plan.in_channels, opts=opts,
                                          axes=axes, dtype=np.dtype(dtype)))
    y = E.batch_map(_input_grad_block, gb, ishape[1:], dtype, threads=E.user_threads(),
                    public=public, weight=weight, input_shape=ishape, opts=opts)
    return _unbatch(y, unbatched)


def _weight_grad_block(x, g, public, weight_shape, opts):
    return public(x, g, weight_shape, **opts)[None]


def conv_weight_grad(public, p):
    from fastconv._validation import result_dtype

    x, g = p["x"], p["grad_output"]
    weight_shape = tuple(int(s) for s in p["weight_shape"])
    nd = len(weight_shape) - 2
    opts = _conv_opts(p)
    xd, g = E.as_dask(x), E.as_dask(g)
    xb, unbatched = _batched(xd, nd)
    gb, _ = _batched(g, nd)
    if xb.shape[0] != gb.shape[0]:
        raise ValueError(f"x and grad_output have different batch sizes "
                         f"({xb.shape[0]} and {gb.shape[0]})")
    public(np.zeros((1,) + xb.shape[1:], xb.dtype), np.zeros((1,) + gb.shape[1:], gb.dtype),
           weight_shape, **opts)
    dtype = result_dtype(np.empty(0, xb.dtype), np.empty(0, gb.dtype))
    parts = E.batch_map(_weight_grad_block, xb, weight_shape, dtype, gb, per_chunk=True,
                        threads=E.user_threads(), public=public, weight_shape=weight_shape,
                        opts=opts)
    return E.sequential_sum(parts, weight_shape, dtype)


def _bias_block(g):
    axes = (0,) + tuple(range(2, g.ndim))
    return g.sum(axis=axes, dtype=np.float64)[None]


def conv_bias_grad(public, p):
    from fastconv._validation import result_dtype

    g = p["grad_output"]
    if g.ndim < 2:
        public(np.zeros(g.shape, g.dtype))     # its ValueError
    dtype = result_dtype(np.empty(0, g.dtype))
    parts = E.batch_map(_bias_block, g, (g.shape[1],), np.float64, per_chunk=True)
    return E.sequential_sum(parts, (g.shape[1],), np.float64, cast=dtype)


def conv_backward(public, p):
    import fastconv

    needs = tuple(p["needs"])
    opts = _conv_opts(p)
    g, x, w = p["grad_output"], p["x"], _eager(p["weight"], "weight")
    w = np.asarray(w)
    gx = gw = gb = None
    if "input" in needs:
        gx = fastconv.conv_input_grad(E.as_dask(g), w, x.shape, **opts)
    if "weight" in needs:
        gw = fastconv.conv_weight_grad(E.as_dask(x), E.as_dask(g), w.shape, **opts)
    if "bias" in needs:
        gb = fastconv.conv_bias_grad(E.as_dask(g))
    return gx, gw, gb


# ------------------------------------------------------------------ transposed conv

def _transpose_block(x, public, weight, bias, opts):
    return public(x, weight, bias, **opts)


def _transpose_call(block, padding, spatial, public, weight, bias, opts):
    y = public(block, weight, bias, **dict(opts, padding=padding, output_padding=0))
    assert y.shape[2:] == spatial
    return y


def conv_transpose(public, p):
    from fastconv._shapes import int_tuple, padding_pairs
    from fastconv._validation import result_dtype

    x, weight, bias = _conv_operands(p)
    nd = weight.ndim - 2
    xb, unbatched = _batched(x, nd)
    opts = {k: p[k] for k in ("stride", "padding", "output_padding", "dilation", "groups")}
    meta = public(np.zeros((1,) + xb.shape[1:], x.dtype), weight, bias, **opts)
    dtype = result_dtype(np.empty(0, x.dtype), weight, bias)
    if _spatially_chunked(x, nd):
        kernel = weight.shape[2:]
        stride = int_tuple(opts["stride"], nd, "stride", minimum=1)
        dilation = int_tuple(opts["dilation"], nd, "dilation", minimum=1)
        pads = padding_pairs(opts["padding"], xb.shape[2:], kernel, stride, dilation)
        axes = [E.TransposedAxis(n, d * (k - 1) + 1, s, lo, hi, o)
                for n, k, s, d, (lo, hi), o in zip(xb.shape[2:], kernel, stride, dilation,
                                                   pads, meta.shape[2:])]
        block_opts = {"stride": stride, "dilation": dilation, "groups": opts["groups"]}
        return _adjoint_sliding(x, axes, meta.shape[1], dtype, _transpose_call,
                                dict(public=public, weight=weight, bias=bias,
                                     opts=block_opts), bias=bias)
    y = E.batch_map(_transpose_block, xb, meta.shape[1:], dtype, threads=E.user_threads(),
                    public=public, weight=weight, bias=bias, opts=opts)
    return _unbatch(y, unbatched)


# ------------------------------------------------------------------ pooling

def _pool_geometry(x, p, kind):
    from fastconv.pool import _Pool, _rank

    nd = _rank(p["kernel_size"], x.ndim, p.get("_nd"), "x")
    dilation = p.get("dilation", 1)
    plan = _Pool(x.shape, nd, p["kernel_size"], p["stride"], p["padding"], dilation,
                 p["ceil_mode"])
    return nd, plan


def _max_block(block, pads, public, opts, want, starts, full_spatial):
    y, ind = public(block, **dict(opts, return_indices=True))
    if want == "values":
        return y
    if starts is None:
        return ind
    # local flat offsets in the block's plane -> the whole input's plane
    local = np.unravel_index(ind, block.shape[2:])
    glob = tuple(c + s for c, s in zip(local, starts))
    return np.ravel_multi_index(glob, full_spatial).astype(np.int64)


def _pool_sliding(public, p, kind, values=False):
    from fastconv._validation import result_dtype

    x = p["x"]
    nd, plan = _pool_geometry(x, p, kind)
    xb, unbatched = _batched(x, nd)
    dtype = result_dtype(np.empty(0, x.dtype))
    spatial_chunked = any(len(c) > 1 for c in xb.chunks[2:])
    simple = all(q == 0 for q in plan.padding) and not p["ceil_mode"]
    padded_avg = (kind == "avg" and not p["ceil_mode"]
                  and (p["count_include_pad"] or p["divisor_override"] is not None))
    if spatial_chunked and not simple and (kind == "max" and values or padded_avg):
        # max values: the padding and ceil_mode's overhang as -inf in the halo; avg
        # whose divisor counts the padding (or is given): the padding as zeros
        plan.check_windows(plan.tables())          # the in-memory call's refusal
        axes = [E.Axis(n, d * (k - 1) + 1, s, q, (o - 1) * s + d * (k - 1) + 1 - n - q, o)
                for n, k, s, d, q, o in zip(plan.in_spatial, plan.kernel, plan.stride,
                                            plan.dilation, plan.padding, plan.out_spatial)]
        opts = {"kernel_size": plan.kernel, "stride": plan.stride, "padding": 0}
        if kind == "max":
            opts["dilation"] = plan.dilation
        else:
            opts["divisor_override"] = p["divisor_override"]
        return xb, unbatched, axes, opts, dtype, plan
    if spatial_chunked and not simple:
        # other padding or ceil_mode windows: batch-parallel only (see the module doc)
        xb = xb.rechunk({a: -1 for a in range(2, xb.ndim)})
    opts = {"kernel_size": plan.kernel, "stride": plan.stride, "padding": plan.padding}
    if kind == "max":
        opts.update(dilation=plan.dilation, ceil_mode=p["ceil_mode"])
    else:
        opts.update(ceil_mode=p["ceil_mode"], count_include_pad=p["count_include_pad"],
                    divisor_override=p["divisor_override"])
    if any(len(c) > 1 for c in xb.chunks[2:]):
        axes = [E.Axis(n, d * (k - 1) + 1, s, 0, 0, o) for n, k, s, d, o in
                zip(plan.in_spatial, plan.kernel, plan.stride, plan.dilation, plan.out_spatial)]
    else:
        axes = None
    return xb, unbatched, axes, opts, dtype, plan


def _pool_call(block, pads, public, opts):
    return public(block, **opts)


def _max_padded_call(block, pads, public, opts):
    # -inf never wins a max, and every window holds an input element (checked), so
    # the maximum is the in-memory call's
    block = np.pad(block, ((0, 0), (0, 0)) + tuple(pads), constant_values=-np.inf)
    return public(block, **opts)


def _avg_padded_call(block, pads, public, opts):
    # +0.0 in place of the padding: the window sums start from +0.0, so adding it
    # changes no bit, and the divisor (the window's size, or the override) is the
    # in-memory call's
    block = np.pad(block, ((0, 0), (0, 0)) + tuple(pads))
    return public(block, **opts)


def _pool_piece(ax, o1, o2):
    """Where the windows of outputs [o1, o2) of a pooling axis (``ax``: extent e,
    stride s, padding lo, input length ``ax.n``) are computed by one in-memory call
    that keeps the whole call's padding, ceil_mode and divisors: (u, (start, end),
    (f_lo, f_hi)).  The call's input is the data ``[start, end)`` with ``f_lo`` and
    ``f_hi`` filler elements around it where it does not reach the array's edge (at
    an edge it ends there and the call's own padding is the whole call's); it starts
    at ``u``, a multiple of the stride, so its window j is the whole call's window
    ``j + u / s``.  The windows wanted never read the filler; every other window of
    the call holds a filler or input element (none lies all in padding)."""
    s0 = o1 * ax.s - ax.lo
    s1 = (o2 - 1) * ax.s - ax.lo + ax.e
    if s0 < 0:
        start, f_lo = 0, 0
    else:
        start, f_lo = s0, s0 % ax.s + ax.s * -(-ax.e // ax.s)
    end, f_hi = (ax.n, 0) if s1 > ax.n else (s1, ax.e)
    return start - f_lo, (start, end), (f_lo, f_hi)


def _pool_piece_block(block, axes, where, pads):
    """The filler-padded input of one output piece (see ``_pool_piece``) from the
    engine's block (the pieces' windows clipped to the array), and per axis (u, f_lo)."""
    fill, geo = [], []
    for ax, (a, b) in zip(axes, where):
        u, (start, end), (f_lo, f_hi) = _pool_piece(ax, a, b)
        fill.append((f_lo, f_hi))
        geo.append((u, f_lo, start))
    if any(f != (0, 0) for f in fill):
        block = np.pad(block, ((0, 0), (0, 0)) + tuple(fill))
    return block, geo


def _crop_outputs(y, axes, where, geo):
    return y[(slice(None), slice(None)) + tuple(
        slice(a - u // ax.s, b - u // ax.s) for ax, (a, b), (u, _, _) in zip(axes, where, geo))]


def _avg_piece_call(block, pads, where, public, axes, opts):
    """avg_pool's outputs ``where`` with ceil_mode or count_include_pad=False: one call
    that keeps the whole call's edges (``_pool_piece``): the same window sums and
    divisors, the same bits."""
    block, geo = _pool_piece_block(block, axes, where, pads)
    return np.ascontiguousarray(_crop_outputs(public(block, **opts), axes, where, geo))


def _max_indices_piece_call(block, pads, where, public, axes, opts):
    """max_pool's indices of the outputs ``where`` with padding or ceil_mode (see
    ``_avg_piece_call``), moved from the call's input to the whole input's plane."""
    block, geo = _pool_piece_block(block, axes, where, pads)
    _, ind = public(block, **dict(opts, return_indices=True))
    ind = _crop_outputs(ind, axes, where, geo)
    local = np.unravel_index(ind, block.shape[2:])
    glob = tuple(q + u for q, (u, _, _) in zip(local, geo))
    return np.ravel_multi_index(glob, tuple(ax.n for ax in axes)).astype(np.int64)


def _pool_edges_sliding(public, p, kind):
    """avg_pool (ceil_mode, or count_include_pad=False with padding) or max_pool's
    indices (padding or ceil_mode) over spatial chunks, or None where x is not
    spatially chunked."""
    from fastconv._validation import result_dtype

    x = p["x"]
    nd, plan = _pool_geometry(x, p, kind)
    xb, unbatched = _batched(x, nd)
    if not _spatially_chunked(xb, nd):
        return None
    if kind == "max":
        plan.check_windows(plan.tables())          # the in-memory call's refusal
    axes = [E.Axis(n, d * (k - 1) + 1, s, q, max(0, (o - 1) * s + d * (k - 1) + 1 - n - q), o)
            for n, k, s, d, q, o in zip(plan.in_spatial, plan.kernel, plan.stride,
                                        plan.dilation, plan.padding, plan.out_spatial)]
    opts = {"kernel_size": plan.kernel, "stride": plan.stride, "padding": plan.padding,
            "ceil_mode": p["ceil_mode"]}
    if kind == "max":
        opts["dilation"] = plan.dilation
        call, dtype = _max_indices_piece_call, np.int64
    else:
        opts.update(count_include_pad=p["count_include_pad"],
                    divisor_override=p["divisor_override"])
        call, dtype = _avg_piece_call, result_dtype(np.empty(0, x.dtype))
    y = E.sliding(xb, axes, None, call, xb.shape[1], dtype, threads=E.user_threads(),
                  with_where=True, call_kwargs=dict(public=public, axes=axes, opts=opts))
    return _unbatch(y, unbatched)


def _run_pool(public, p, kind, want="values"):
    simple = all(q == 0 for q in _pool_geometry(p["x"], p, kind)[1].padding) \
        and not p["ceil_mode"]
    if not simple and ((kind == "max" and want == "indices") or (
            kind == "avg" and (p["ceil_mode"] or (not p["count_include_pad"]
                                                  and p["divisor_override"] is None)))):
        y = _pool_edges_sliding(public, p, kind)
        if y is not None:
            return y
    if kind == "avg":
        xb, unbatched, axes, opts, dtype, plan = _pool_sliding(public, p, kind)
        if "count_include_pad" not in opts:        # the padded halo (see _pool_sliding)
            y = E.sliding(xb, axes, "constant", _avg_padded_call, xb.shape[1], dtype,
                          threads=E.user_threads(), fill=0.0,
                          call_kwargs=dict(public=public, opts=opts))
            return _unbatch(y, unbatched)
    if kind == "max" and want == "values" and np.dtype(p["x"].dtype).kind == "f":
        xb, unbatched, axes, opts, dtype, plan = _pool_sliding(public, p, kind, values=True)
        if opts.get("ceil_mode") is None:          # the padded halo (see _pool_sliding)
            y = E.sliding(xb, axes, "constant", _max_padded_call, xb.shape[1], dtype,
                          threads=E.user_threads(), fill=-np.inf,
                          call_kwargs=dict(public=public, opts=opts))
            return _unbatch(y, unbatched)
    xb, unbatched, axes, opts, dtype, plan = _pool_sliding(public, p, kind)
    channels = xb.shape[1]
    block_axes = axes      # None: only batch/channel chunks, every block is one call
    threads = E.user_threads()
    if kind == "max" and want == "values" and block_axes is not None:
        # the values need no positions: the halo graph, as avg_pool
        opts = dict(opts, return_indices=False)
        kind = "max-values"
    if kind == "max":
        out_dtype = dtype if want == "values" else np.int64
        if block_axes is None:
            return _unbatch(_whole_spatial(xb, plan, out_dtype, threads, _max_block,
                                           dict(public=public, opts=opts, want=want,
                                                starts=None, full_spatial=None)), unbatched)
        y = _max_sliding(xb, block_axes, public, opts, want, out_dtype, threads)
        return _unbatch(y, unbatched)
    if block_axes is None:
        return _unbatch(_whole_spatial(xb, plan, dtype, threads, _pool_call,
                                       dict(public=public, opts=opts)), unbatched)
    y = E.sliding(xb, block_axes, None, _pool_call, channels, dtype, threads=threads,
                  call_kwargs=dict(public=public, opts=opts))
    return _unbatch(y, unbatched)


def _whole_spatial(xb, plan, dtype, threads, call, kw):
    """Blocks over batch and channel chunks (pooling is per channel)."""
    xb = xb.rechunk({a: -1 for a in range(2, xb.ndim)})
    chunks = xb.chunks[:2] + tuple((o,) for o in plan.out_spatial)

    def f(b, **k):
        return call(b, None, **k)

    return da.map_blocks(E.run_block, f, threads, xb, chunks=chunks, dtype=dtype,
                         meta=np.empty((0,) * xb.ndim, dtype), **kw)


def _max_sliding(xb, axes, public, opts, want, dtype, threads):
    """Spatially chunked max pooling; indices translated to the whole plane."""
    x = xb.rechunk({1: -1})
    per_axis = [ax.out_chunks(x.chunks[2 + i]) for i, ax in enumerate(axes)]
    full = tuple(ax.n for ax in axes)
    nd = len(axes)

    def piece(index):
        pc = x
        starts = []
        for i, ((a, b), ax) in enumerate(zip(index, axes)):
            start, end = ax.need(a, b)
            pc = pc[(slice(None),) * (2 + i) + (slice(start, end),)]
            starts.append(start)
        pc = E.single_except_batch(pc)
        chunks = (x.chunks[0], (x.shape[1],)) + tuple((b - a,) for a, b in index)
        return da.map_blocks(E.run_block, _max_block, threads, pc, None, public=public,
                             opts=opts, want=want, starts=tuple(starts), full_spatial=full,
                             chunks=chunks, dtype=dtype, meta=np.empty((0,) * (nd + 2), dtype))

    def nest(prefix, level):
        if level == nd:
            return piece(prefix)
        return [nest(prefix + (c,), level + 1) for c in per_axis[level]]

    return da.block(nest((), 0))


def max_pool(public, p):
    if p["return_indices"]:
        ind = _run_pool(public, p, "max", "indices")
        # the windows' reach, for max_pool_backward to split over spatial chunks: only
        # this very array carries it (any array made from it is another object)
        _, plan = _pool_geometry(p["x"], p, "max")
        try:
            ind._fastconv_windows = PoolWindows(plan)
        except AttributeError:      # an array type without instance attributes
            pass
        return _run_pool(public, p, "max", "values"), ind
    return _run_pool(public, p, "max", "values")


def avg_pool(public, p):
    return _run_pool(public, p, "avg")


def _pool_bwd_block(g, *rest, public, input_shape, kw):
    shape = (g.shape[0],) + tuple(input_shape[1:])
    return public(g, *rest, shape, **kw)


class PoolWindows:
    """The window geometry of a max_pool call whose indices are a dask array: every
    index lies in its own output's window, so an input chunk receives gradient only
    from the outputs whose windows meet it."""

    def __init__(self, plan):
        self.nd = plan.nd
        self.in_spatial = tuple(plan.in_spatial)
        self.out_spatial = tuple(plan.out_spatial)
        self.axes = [(d * (k - 1) + 1, s, q) for k, s, d, q in
                     zip(plan.kernel, plan.stride, plan.dilation, plan.padding)]

    def transposed_axes(self):
        return [E.TransposedAxis(o, e, s, q, max(0, (o - 1) * s + e - n - q), n)
                for (e, s, q), o, n in zip(self.axes, self.out_spatial, self.in_spatial)]


def _gradient_bits(g):
    """g's bits as int64 (float32 widened bit for bit), to travel with the indices."""
    if g.dtype == np.float64:
        return g.view(np.int64)
    return g.view(np.int32).astype(np.int64)


def _max_bwd_block(block, pads, where, public, axes, dtype, nd):
    """One chunk [a, b) of max_pool_backward's result from the outputs whose windows
    meet it (``block``: their gradient bits, then their indices, on the channel axis):
    the in-memory call over those windows' span, indices moved into it, cropped to
    the chunk.  Each result adds the same gradients in the same order as the whole
    call (outputs in row-major order, from +0): the same bits."""
    c = block.shape[1] // 2
    shape = (block.shape[0], c) + tuple(b - a for a, b in where)
    out = np.zeros(shape, dtype)
    if any(m == 0 for m in block.shape[2:]):
        return out
    bits, ind = block[:, :c], block[:, c:]
    g = (np.ascontiguousarray(bits).view(np.float64) if dtype == np.float64
         else bits.astype(np.int32).view(np.float32))
    pos = np.unravel_index(ind, tuple(ax.out for ax in axes))
    local, real, src, dst = [], [], [], []
    inside = np.ones(ind.shape, bool)
    for ax, (a, b), (plo, _), m, q in zip(axes, where, pads, block.shape[2:], pos):
        o1 = ax.need(a, b)[0] + plo
        r0 = max(o1 * ax.s - ax.lo, 0)
        r1 = min((o1 + m - 1) * ax.s - ax.lo + ax.e, ax.out)
        local.append(q - r0)
        inside &= (q >= r0) & (q < r1)
        real.append(r1 - r0)
        lo, hi = max(a, r0), min(b, r1)
        src.append(slice(lo - r0, hi - r0))
        dst.append(slice(lo - a, hi - a))
    if not inside.all():
        raise ValueError("max_pool_backward: an index lies outside its output's pooling "
                         "window (indices changed since max_pool returned them?)")
    if any(s.stop <= s.start for s in src):
        return out
    flat = np.ravel_multi_index(tuple(local), tuple(real))
    y = public(g, flat, (block.shape[0], c) + tuple(real), spatial_ndim=nd)
    lead = (slice(None), slice(None))
    out[lead + tuple(dst)] = y[lead + tuple(src)]
    return out


def _max_bwd_sliding(g, ind, windows, dtype, public):
    """max_pool_backward over grad_output's spatial chunks (N, C, *out) (see
    ``_max_bwd_block``); g and the indices travel as one int64 array."""
    g = g.astype(dtype)
    ind = ind.astype(np.int64).rechunk(g.chunks)
    packed = da.concatenate([_gradient_bits(g), ind], axis=1)
    axes = windows.transposed_axes()
    return E.sliding(packed, axes, "zeros", _max_bwd_block, g.shape[1], dtype,
                     threads=E.user_threads(), with_where=True,
                     call_kwargs=dict(public=public, axes=axes, dtype=np.dtype(dtype),
                                      nd=windows.nd))


def max_pool_backward(public, p):
    from fastconv._validation import result_dtype

    g, ind = p["grad_output"], p["indices"]
    windows = getattr(ind, "_fastconv_windows", None)
    input_shape = tuple(int(s) for s in p["input_shape"])
    g = E.as_dask(g)
    unbatched = False
    nd = p.get("spatial_ndim") or (len(input_shape) - 2)
    if len(input_shape) == nd + 1:
        g, unbatched = g[None], True
        input_shape = (1,) + input_shape
        ind = ind[None]
    ind = E.as_dask(ind)
    dtype = result_dtype(np.empty(0, g.dtype))
    if (windows is not None and windows.nd == nd and g.ndim == nd + 2
            and tuple(input_shape[2:]) == windows.in_spatial and g.shape == ind.shape
            and tuple(g.shape[2:]) == windows.out_spatial
            and tuple(g.shape[:2]) == tuple(input_shape[:2])
            and np.dtype(dtype) in (np.float32, np.float64)
            and (_spatially_chunked(g, nd) or _spatially_chunked(ind, nd))):
        return _unbatch(_max_bwd_sliding(g, ind, windows, dtype, public), unbatched)

    def f(gb, ib, public, input_shape, kw):
        return public(gb, ib, (gb.shape[0],) + tuple(input_shape[1:]), **kw)

    y = E.batch_map(f, g, input_shape[1:], dtype, ind, threads=E.user_threads(),
                    public=public, input_shape=input_shape, kw={"spatial_ndim": nd})
    return _unbatch(y, unbatched)


def _avg_bwd_block(block, pads, where, public, axes, kw, dtype):
    """One chunk [a, b) of avg_pool_backward's result from the windows that reach it
    (``block``, from window ``first`` on): the in-memory call over just those windows'
    span ``[first s - p, ...)`` without padding (with count_include_pad, or a
    divisor_override, every window's divisor is the same there), cropped to the
    chunk.  Each result adds the same quotients in the same order as the whole call
    (windows by row, then column taps): the same bits."""
    shape = block.shape[:2] + tuple(b - a for a, b in where)
    out = np.zeros(shape, dtype)
    if any(m == 0 for m in block.shape[2:]):
        return out
    starts, spans = [], []
    for ax, (a, b), (plo, _), m in zip(axes, where, pads, block.shape[2:]):
        first = ax.need(a, b)[0] + plo
        starts.append(first * ax.s - ax.lo)
        spans.append((m - 1) * ax.s + ax.e)
    y = public(block, block.shape[:2] + tuple(spans), **dict(kw, padding=0))
    src, dst = [], []
    for (a, b), c0, n in zip(where, starts, spans):
        lo, hi = max(a, c0), min(b, c0 + n)
        if lo >= hi:
            return out
        src.append(slice(lo - c0, hi - c0))
        dst.append(slice(lo - a, hi - a))
    lead = (slice(None), slice(None))
    out[lead + tuple(dst)] = y[lead + tuple(src)]
    return out


def _avg_bwd_edges_block(block, pads, where, public, axes, forward, kw, dtype):
    """One chunk [a, b) of avg_pool_backward's result where the divisors change at the
    edges (ceil_mode, count_include_pad=False): the in-memory call over the outputs
    that reach it, placed as ``_pool_piece`` places them (the whole call's padding at
    the array's edge, filler elsewhere: the same divisors), the call's other windows
    given a zero gradient (each adds +0 to a sum that starts at +0: no bit changes).
    Each result adds the same quotients in the same order as the whole call."""
    from fastconv._shapes import pool_output_size

    shape = block.shape[:2] + tuple(b - a for a, b in where)
    out = np.zeros(shape, dtype)
    if any(m == 0 for m in block.shape[2:]):
        return out
    lengths, outs, place, src, dst = [], [], [], [], []
    for ax, fax, (a, b), (plo, _), m in zip(axes, forward, where, pads, block.shape[2:]):
        o1 = ax.need(a, b)[0] + plo
        u, (start, end), (f_lo, f_hi) = _pool_piece(fax, o1, o1 + m)
        n = f_lo + end - start + f_hi
        lengths.append(n)
        outs.append(pool_output_size(n, fax.e, fax.s, fax.lo, 1, kw["ceil_mode"]))
        place.append(slice(o1 - u // fax.s, o1 - u // fax.s + m))
        lo, hi = max(a, start), min(b, end)
        if lo >= hi:
            return out
        src.append(slice(lo - u, hi - u))
        dst.append(slice(lo - a, hi - a))
    lead = (slice(None), slice(None))
    g = np.zeros(block.shape[:2] + tuple(outs), dtype)
    g[lead + tuple(place)] = block
    y = public(g, block.shape[:2] + tuple(lengths), **kw)
    out[lead + tuple(dst)] = y[lead + tuple(src)]
    return out


def avg_pool_backward(public, p):
    from fastconv._validation import result_dtype

    g = E.as_dask(p["grad_output"])
    input_shape = tuple(int(s) for s in p["input_shape"])
    kw = {k: p[k] for k in ("kernel_size", "stride", "padding", "ceil_mode",
                            "count_include_pad", "divisor_override", "_nd")}
    from fastconv._pool_plan import _rank

    # the rank as the in-memory call finds it (a tuple kernel_size names it: an
    # unbatched input_shape then has one axis fewer)
    nd = _rank(kw["kernel_size"], len(input_shape), kw["_nd"], "input_shape")
    kw["_nd"] = nd
    unbatched = len(input_shape) == nd + 1
    if unbatched:
        g, input_shape = g[None], (1,) + input_shape
    dtype = result_dtype(np.empty(0, g.dtype))

    # validate the whole call now (a stand-in batch of one)
    public(np.zeros((1,) + g.shape[1:], g.dtype), (1,) + tuple(input_shape[1:]), **kw)
    if (_spatially_chunked(g, nd) and not kw["ceil_mode"]
            and (kw["count_include_pad"] or kw["divisor_override"] is not None)):
        from fastconv._pool_plan import _Pool

        plan = _Pool(input_shape, nd, kw["kernel_size"], kw["stride"], kw["padding"], 1, False)
        if g.ndim == nd + 2 and len(g.chunks[1]) > 1:
            g = g.rechunk({1: -1})
        axes = [E.TransposedAxis(o, k, s, q, q, n) for o, k, s, q, n in
                zip(plan.out_spatial, plan.kernel, plan.stride, plan.padding, plan.in_spatial)]
        y = E.sliding(g, axes, "zeros", _avg_bwd_block, g.shape[1], dtype,
                      threads=E.user_threads(), with_where=True,
                      call_kwargs=dict(public=public, axes=axes, kw=kw, dtype=np.dtype(dtype)))
        return _unbatch(y, unbatched)

    if _spatially_chunked(g, nd):
        # ceil_mode, or count_include_pad=False: divisors that change at the edges
        from fastconv._pool_plan import _Pool

        plan = _Pool(input_shape, nd, kw["kernel_size"], kw["stride"], kw["padding"], 1,
                     kw["ceil_mode"])
        if g.ndim == nd + 2 and len(g.chunks[1]) > 1:
            g = g.rechunk({1: -1})
        axes = [E.TransposedAxis(o, k, s, q, q, n) for o, k, s, q, n in
                zip(plan.out_spatial, plan.kernel, plan.stride, plan.padding, plan.in_spatial)]
        forward = [E.Axis(n, k, s, q, q, o) for o, k, s, q, n in
                   zip(plan.out_spatial, plan.kernel, plan.stride, plan.padding, plan.in_spatial)]
        y = E.sliding(g, axes, "zeros", _avg_bwd_edges_block, g.shape[1], dtype,
                      threads=E.user_threads(), with_where=True,
                      call_kwargs=dict(public=public, axes=axes, forward=forward, kw=kw,
                                       dtype=np.dtype(dtype)))
        return _unbatch(y, unbatched)

    def f(gb, public, input_shape, kw):
        return public(gb, (gb.shape[0],) + tuple(input_shape[1:]), **kw)

    y = E.batch_map(f, g, input_shape[1:], dtype, threads=E.user_threads(),
                    public=public, input_shape=input_shape, kw=kw)
    return _unbatch(y, unbatched)


# ------------------------------------------------------------------ nn models

def _model_block(b, model):
    import copy

    # a private copy per task: layers reuse their buffers between calls, and the
    # threaded scheduler runs tasks concurrently
    return copy.deepcopy(model).forward(b)


def module_call(public, p):
    model, x = p["self"], p["x"]
    if getattr(model, "training", False):
        raise ValueError("a dask array goes through a model in eval mode only (batch "
                         "statistics and dropout would depend on the chunking): call "
                         "model.eval() first")
    probe = _model_block(np.zeros((1,) + x.shape[1:], x.dtype), model)
    return E.batch_map(_model_block, x, probe.shape[1:], probe.dtype,
                       threads=E.user_threads(), model=model)


def _lazy_signal(name):
    def handler(public, p):
        from fastconv._dask import _signal

        return getattr(_signal, name)(public, p)

    return handler


def _lazy_ndimage(name):
    def handler(public, p):
        from fastconv._dask import _ndimage

        return _ndimage.HANDLERS[name](public, p)

    return handler


HANDLERS = {
    "conv": conv,
    "conv_input_grad": conv_input_grad,
    "conv_weight_grad": conv_weight_grad,
    "conv_bias_grad": conv_bias_grad,
    "conv_backward": conv_backward,
    "conv_transpose": conv_transpose,
    "max_pool": max_pool,
    "avg_pool": avg_pool,
    "max_pool_backward": max_pool_backward,
    "avg_pool_backward": avg_pool_backward,
    "module": module_call,
    "convolve": _lazy_signal("convolve"),
    "correlate": _lazy_signal("correlate"),
    "fftconvolve": _lazy_signal("fftconvolve"),
    "oaconvolve": _lazy_signal("oaconvolve"),
}
HANDLERS.update({f"ndimage.{n}": _lazy_ndimage(f"ndimage.{n}") for n in (
    "correlate1d", "convolve1d", "correlate", "convolve", "gaussian_filter1d",
    "gaussian_filter", "uniform_filter1d", "uniform_filter", "minimum_filter1d",
    "maximum_filter1d", "minimum_filter", "maximum_filter", "prewitt", "sobel",
    "laplace", "generic_laplace", "gaussian_laplace", "generic_gradient_magnitude",
    "gaussian_gradient_magnitude", "rank_filter", "median_filter", "percentile_filter",
    "generic_filter", "generic_filter1d")})
