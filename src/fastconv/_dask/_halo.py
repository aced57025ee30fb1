"""The halo exchange of a sliding-window op over spatially chunked arrays, as a graph.

Two tasks per chunk: ``extract`` cuts, from one input chunk, the small pieces (halo
strips, or far-edge rows that reflect/wrap padding reads) that *other* output
pieces need, into one bundle (one flat array); ``assemble`` builds the input of one
output piece from its main chunk (used in place, no task in between) and the
bundles of the chunks around it, and runs the op.  Only strips travel between workers, and the
scheduler sees 2 tasks per chunk instead of the ~10 of slicing and concatenating
(``map_overlap``).

At stride 1 the op runs on the main chunk alone and the bands of outputs near its
edges are recomputed from small gathered blocks (``_inner_and_bands``), or, for a 2-D
separable filter, one call takes the chunk and the four strips around it
(``_with_strips``).  Where each piece's parts come from depends only on the chunks and
the op's reach: that geometry is kept for the next graph over the same chunks
(``_plan``, ``_PLANS``).
"""

import functools
import itertools
import math

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer
from dask.tokenize import tokenize

from fastconv._caches import BoundedCache
from fastconv._padmaps import source_index


def _as_slice(dst, src):
    """(dst, src) index arrays -> slices where both are runs of consecutive indices."""
    def sl(a):
        if a.size and a[-1] - a[0] == a.size - 1 and np.all(np.diff(a) == 1):
            return slice(int(a[0]), int(a[-1]) + 1)
        return a
    return sl(dst), sl(src)


def _axis_plan(ax, in_chunks, out_chunk, constant):
    """For one axis and one output chunk: (length, pads, contributions, main chunk).

    contributions: list of (chunk index, dst, src) along this axis."""
    a, b = out_chunk
    start, end = ax.need(a, b)
    if constant:
        cs, ce = min(max(start, 0), ax.n), max(min(end, ax.n), 0)
        ce = max(ce, cs)
        idx = np.arange(cs, ce)
        pads = (cs - start, end - ce)
    else:
        idx = source_index(np.arange(start, end), ax.n, ax.mode)
        pads = (0, 0)
    contribs = []
    c0 = 0
    for k, c in enumerate(in_chunks):
        t = np.nonzero((idx >= c0) & (idx < c0 + c))[0]
        if t.size:
            src = idx[t] - c0
            # the longest run that is consecutive in both (a plain slice copy); the
            # rest (mirrored or wrapped edge rows) as one gathered part
            ok = (np.diff(t) == 1) & (np.diff(src) == 1)
            breaks = np.concatenate(([0], np.nonzero(~ok)[0] + 1, [t.size]))
            r = int(np.argmax(np.diff(breaks)))
            a, b = int(breaks[r]), int(breaks[r + 1])
            contribs.append((k, slice(int(t[a]), int(t[b - 1]) + 1),
                             slice(int(src[a]), int(src[b - 1]) + 1), b - a))
            rest = np.r_[0:a, b:t.size]
            if rest.size:
                dst_r, src_r = _as_slice(t[rest], src[rest])
                contribs.append((k, dst_r, src_r, rest.size))
        c0 += c
    main = max(range(len(contribs)), key=lambda i: contribs[i][3]) if contribs else None
    return idx.size, pads, [c[:3] for c in contribs], main


def _index(arr, lead, parts):
    """arr[lead..., parts...] with parts slices or index arrays (one axis each)."""
    if all(isinstance(p, slice) for p in parts):
        return arr[lead + tuple(parts)]
    for i, p in enumerate(parts):
        arr = arr[lead + (slice(None),) * i + (p,)]
    return arr


def _put(out, dst, value):
    if all(isinstance(d, slice) for d in dst):
        out[(slice(None), slice(None)) + tuple(dst)] = value
        return
    ix = np.ix_(*[np.arange(d.start, d.stop) if isinstance(d, slice) else d for d in dst])
    out[(slice(None), slice(None)) + ix] = value


def _as4(chunk, lead, view):
    """The chunk of ``x`` (``view`` applied to a peeled layer's source chunk) with
    ``lead`` < 2 leading axes as an (N, C, *spatial) view."""
    if view is not None:
        chunk = chunk[view]
    return chunk.reshape((1,) * (2 - lead) + chunk.shape) if lead < 2 else chunk


def _new_axes_view(x):
    """If ``x``'s own layer only inserts axes into another array's chunks (``a[None,
    None]``, one getitem task per chunk), ``(x key -> source key, index)``: the halo
    tasks then read the source chunks and apply the index themselves (a view), so the
    layer's tasks drop out of the graph (culled) instead of costing one task per chunk
    between the data and the op.  Else None."""
    from dask._task_spec import Task, TaskRef
    from dask.array.chunk import getitem

    layer = x.__dask_graph__().layers.get(x.name)
    if not isinstance(layer, MaterializedLayer) or len(layer) != np.prod(x.numblocks):
        return None
    full = slice(None)
    keys, view = {}, None
    for k in layer.keys():
        t = layer[k]
        if not (isinstance(t, Task) and t.func is getitem and len(t.args) == 2
                and isinstance(t.args[0], TaskRef) and not t.kwargs):
            return None
        idx = t.args[1]
        if not (isinstance(idx, tuple) and any(i is None for i in idx)
                and all(i is None or i == full for i in idx)):
            return None
        if view is None:
            view = idx
        elif idx != view:
            return None
        keys[k] = t.args[0].key
    return keys, view


def _extract(chunk, specs, lead, view):
    """The strips that other pieces need, packed into one flat array (one buffer to
    send: a dict of small arrays costs a serialized frame each); the readers know
    every strip's offset and shape from the graph."""
    chunk = _as4(chunk, lead, view)
    return np.concatenate([_index(chunk, (slice(None), slice(None)), src).ravel()
                           for src in specs])


def _length(part):
    return part.stop - part.start if isinstance(part, slice) else len(part)


def _assemble(main, *bundles, pid, main_dst, main_src, others, shape, pads, fill, call,
              call_kwargs, threads, lead, view, where=None, inner=None, strips=None):
    from fastconv._dask._engine import task_threads

    if where is not None:
        call_kwargs = dict(call_kwargs, where=where)
    main = _as4(main, lead, view)
    with task_threads(threads):
        if strips is not None:
            y = _with_strips(main, bundles, others, *strips)
        elif inner is not None:
            y = _inner_and_bands(main, bundles, main_dst, main_src, others, fill, call,
                                 call_kwargs, *inner)
        else:
            y = _assemble4(main, bundles, main_dst, main_src, others, shape, pads, fill, call,
                           call_kwargs)
    return y.reshape(y.shape[2 - lead:]) if lead < 2 else y


def _box_parts(box, dst, src):
    """One contribution (``dst`` in the halo'd block, ``src`` in its array) cut to the
    box ``((lo, hi), ...)`` of the block: (dst in the box, src), or None if disjoint."""
    out_d, out_s = [], []
    for (lo, hi), d, sr in zip(box, dst, src):
        if isinstance(d, slice):
            t0, t1 = max(d.start, lo), min(d.stop, hi)
            if t0 >= t1:
                return None
            out_d.append(slice(t0 - lo, t1 - lo))
            k0, k1 = t0 - d.start, t1 - d.start
            out_s.append(slice(sr.start + k0, sr.start + k1) if isinstance(sr, slice)
                         else sr[k0:k1])
        else:
            m = (d >= lo) & (d < hi)
            if not m.any():
                return None
            out_d.append(d[m] - lo)
            out_s.append((np.arange(sr.start, sr.stop) if isinstance(sr, slice) else sr)[m])
    return out_d, out_s


def _inner_and_bands(main, bundles, main_dst, main_src, others, fill, call, call_kwargs,
                     inner_call, inner_pads, bands):
    """The piece from the main chunk alone (``inner_call``: correct wherever a window
    lies inside the chunk, no halo'd copy of the chunk), then each band of outputs whose
    windows reach past the chunk recomputed from a small gathered block and written
    over it: every output the same terms in the same order as the whole call."""
    from fastconv._dask._engine import _constant_block

    y = inner_call(main, inner_pads, **call_kwargs)
    if not (y.flags.writeable and y.flags.c_contiguous):
        y = np.ascontiguousarray(y).copy()
    lead = (slice(None), slice(None))
    arrays = _arrays(main, bundles, others)
    for out_box, box, pads, cuts in bands:
        block = _gather(box, cuts, arrays, main.shape[:2], main.dtype)
        y[lead + tuple(slice(lo, hi) for lo, hi in out_box)] = _constant_block(
            block, pads, fill, call, call_kwargs)
    return y


def _arrays(main, bundles, others):
    """The main chunk and each strip it reads (cut from its bundle), as the parts that
    the cuts index (part 0: the chunk; part i: ``others[i - 1]``)."""
    return [main] + [bundles[bi][offset:offset + math.prod(strip)].reshape(strip)
                     for bi, _dst, (offset, strip) in others]


def _band_cuts(bands, main_dst, main_src, others):
    """Each band with the pieces of the main chunk and the strips that fill its block
    (part index: 0 the main chunk, i the strip others[i - 1]), found once per graph."""
    parts = _parts(main_dst, main_src, others)
    return tuple((out_box, box, pads, _cuts(box, parts)) for out_box, box, pads in bands)


def _parts(main_dst, main_src, others):
    """(dst in the halo'd block, src in the part) of the main chunk and each strip."""
    return [(main_dst, main_src)] + [(dst, tuple(slice(0, n) for n in strip[2:]))
                                     for _key, dst, (_offset, strip) in others]


def _cuts(box, parts):
    """The pieces of ``parts`` that fill ``box``: (part index, dst in the box, src)."""
    cuts = []
    for i, (dst, src) in enumerate(parts):
        cut = _box_parts(box, dst, src)
        if cut is not None:
            cuts.append((i,) + tuple(cut))
    return tuple(cuts)


def _gather(box, cuts, arrays, lead_shape, dtype):
    """A new array of ``box`` filled from the cuts of ``arrays`` (N, C, *part)."""
    block = np.empty(lead_shape + tuple(hi - lo for lo, hi in box), dtype=dtype)
    for i, dst, src in cuts:
        _put(block, dst, _index(arrays[i], (slice(None), slice(None)), src))
    return block


def _strips_plan(reach, at, size, main_dst, main_src, others, block_len):
    """For a 2-D piece whose outputs are those of its main chunk (``size``, at ``at`` in
    the piece's gathered block): the cuts that fill the four strips around the chunk
    (top, bottom, left and right; the side ones with the corners) that ``reach`` ((lo,
    hi) per axis) reads, or None where the block does not hold them all.  (``main_dst``
    may be a mirrored copy of the chunk: reflecting padding reads it twice.)"""
    (d0, d1), (H, W) = at, size
    (lo0, hi0), (lo1, hi1) = reach
    if d0 < lo0 or d1 < lo1 or d0 + H + hi0 > block_len[0] or d1 + W + hi1 > block_len[1]:
        return None
    rows = (d0 - lo0, d0 + H + hi0)
    boxes = (((d0 - lo0, d0), (d1, d1 + W)), ((d0 + H, d0 + H + hi0), (d1, d1 + W)),
             (rows, (d1 - lo1, d1)), (rows, (d1 + W, d1 + W + hi1)))
    parts = _parts(main_dst, main_src, others)
    plan = []
    for box in boxes:
        cuts = _cuts(box, parts)
        # every element of the strip from exactly one cut (the parts do not overlap)
        if sum(math.prod(_length(p) for p in dst) for _i, dst, _s in cuts) != \
                math.prod(hi - lo for lo, hi in box):
            return None
        plan.append((box, cuts))
    return tuple(plan)


def _with_strips(main, bundles, others, func, plan):
    """``func(chunk, top, bottom, left, right)`` on the 2-D main chunk and its halo
    strips gathered from the bundles: no padded copy of the chunk at all."""
    arrays = _arrays(main, bundles, others)
    strips = [_gather(box, cuts, arrays, main.shape[:2], main.dtype)[0, 0]
              for box, cuts in plan]
    return func(main[0, 0], *strips)[None, None]


def _inner_plan(axes, where, main_chunk, block_pads, block_len):
    """(inner pads, bands) of one piece for ``_inner_and_bands``, or None.

    ``where``: the piece's output range per axis; ``main_chunk``: its main chunk's
    input range; ``block_pads``/``block_len``: the halo'd block's constant padding and
    gathered length per axis."""
    inner_pads, ranges = [], []
    for ax, (a, b), (p, q), (P0, _), L in zip(axes, where, main_chunk, block_pads, block_len):
        if type(ax).__name__ != "Axis" or ax.s != 1:
            return None
        lo_pad = p - a + ax.lo                       # output a reads input a - lo
        hi_pad = (b - a) + ax.e - 1 - (q - p) - lo_pad
        i0, i1 = max(a, p + ax.lo), min(b, q + ax.lo - ax.e + 1)
        if lo_pad < 0 or hi_pad < 0 or i0 >= i1:
            return None
        inner_pads.append((lo_pad, hi_pad))
        ranges.append((b - a, i0 - a, i1 - a, ax.e, P0, L))

    def box(u, v, e, P0, L):
        # outputs [u, v) of the piece read the block's [u, v + e - 1), whose stored
        # part starts after the constant padding P0
        lo_v, hi_v = u - P0, v + e - 1 - P0
        lo_b = min(max(lo_v, 0), L)
        hi_b = max(min(hi_v, L), lo_b)
        return (lo_b, hi_b), (lo_b - lo_v, hi_v - hi_b)

    bands = []
    for k, (n, i0, i1, *_geo) in enumerate(ranges):
        for u, v in ((0, i0), (i1, n)):
            if u >= v:
                continue
            out_box = [(i0_, i1_) for (_, i0_, i1_, *_r) in ranges[:k]] + [(u, v)] + \
                      [(0, n_) for (n_, *_r) in ranges[k + 1:]]
            geo = [box(uu, vv, r[3], r[4], r[5]) for (uu, vv), r in zip(out_box, ranges)]
            bands.append((tuple(out_box), tuple(g[0] for g in geo), tuple(g[1] for g in geo)))
    return tuple(inner_pads), tuple(bands)


def _assemble4(main, bundles, main_dst, main_src, others, shape, pads, fill, call,
               call_kwargs):
    from fastconv._dask._engine import _constant_block

    shape = main.shape[:2] + shape
    if main_src is None:
        out = np.empty(shape, dtype=main.dtype)
    elif all(isinstance(d, slice) and d.start == 0 and d.stop == n
             for d, n in zip(main_dst, shape[2:])) and all(isinstance(s, slice)
                                                           for s in main_src):
        out = np.ascontiguousarray(main[(slice(None), slice(None)) + tuple(main_src)])
    else:
        out = np.empty(shape, dtype=main.dtype)
        _put(out, main_dst, _index(main, (slice(None), slice(None)), main_src))
    for bi, dst, (offset, strip) in others:
        _put(out, dst, bundles[bi][offset:offset + math.prod(strip)].reshape(strip))
    return _constant_block(out, pads, fill, call, call_kwargs)


# the geometry of recent graphs (several calls over the same chunks, e.g. a filter in a
# loop or one per derivative), which costs more to find (~5 ms for 16 chunks) than the
# rest of a graph: up to _PLANS_UP_TO pieces each (~1-2 KiB a piece pickled)
_PLANS = BoundedCache("dask halo plans", 4)
_PLANS_UP_TO = 64


def _plan(shape, chunks, axes, constant, lead, with_where, has_inner, reach):
    """The graph's geometry, without the array's name or the op: (pieces, bundle
    specs, output chunks per axis).  A piece: (pid, main chunk index, main_dst,
    main_src, the strips it reads as (bundle number, dst, (offset, shape)), the bundles'
    chunk indices, block shape, constant pads, output range, the inner-and-bands plan
    and the strips plan, or None for either).  Bundle specs: chunk index -> the
    sources cut from it, in order."""
    nd = len(axes)
    batches = range(len(chunks[0])) if lead == 2 else [0]

    def lead_shape(nb):
        """(N, C) of batch chunk nb's blocks as the tasks see them."""
        return ((chunks[0][nb] if lead == 2 else 1), (shape[lead - 1] if lead >= 1 else 1))

    def index(nb, spatial):
        return ((nb, 0) if lead == 2 else (0,) * lead) + tuple(spatial)

    per_axis_out = [ax.out_chunks(chunks[lead + i]) for i, ax in enumerate(axes)]
    plans = [[_axis_plan(ax, chunks[lead + i], oc, constant[i]) for oc in per_axis_out[i]]
             for i, ax in enumerate(axes)]
    bundle_specs = {}          # input chunk index -> [[src, ...], elements so far]
    pieces = []
    for nb in batches:
        for out_idx in itertools.product(*[range(len(p)) for p in per_axis_out]):
            pid = (nb,) + out_idx
            ap = [plans[i][j] for i, j in enumerate(out_idx)]
            block = tuple(p[0] for p in ap)
            pads = tuple(p[1] for p in ap)
            main_i = tuple(p[3] for p in ap)
            main_idx = None
            if None not in main_i:
                main_idx = index(nb, (p[2][i][0] for p, i in zip(ap, main_i)))
            main_dst = main_src = None
            others = []
            for ci in itertools.product(*[range(len(p[2])) for p in ap]):
                combo = [p[2][i] for p, i in zip(ap, ci)]
                ks = tuple(c[0] for c in combo)
                dst = tuple(c[1] for c in combo)
                src = tuple(c[2] for c in combo)
                if ci == main_i:
                    main_dst, main_src = dst, src
                    continue
                idx = index(nb, ks)
                specs = bundle_specs.setdefault(idx, [[], 0])
                strip = lead_shape(nb) + tuple(_length(part) for part in src)
                specs[0].append(src)
                others.append((idx, dst, (specs[1], strip)))
                specs[1] += math.prod(strip)
            where = tuple(per_axis_out[i][j] for i, j in enumerate(out_idx))
            plan = strip_plan = None
            if ((has_inner or reach is not None) and not with_where
                    and main_idx is not None and all(isinstance(d, slice) for d in main_dst)):
                starts = [sum(chunks[lead + i][:k]) for i, k in enumerate(main_idx[lead:])]
                sizes = [chunks[lead + i][k] for i, k in enumerate(main_idx[lead:])]
                whole = all(isinstance(sr, slice) and sr.start == 0 and sr.stop == c
                            for sr, c in zip(main_src, sizes))
                # (the piece's outputs are its main chunk's positions: a chunk narrower
                # than others nearby may not be the one its block reads most of)
                if (whole and reach is not None and nd == 2 and not any(constant)
                        and lead_shape(nb) == (1, 1)
                        and all((p, p + c) == w for p, c, w in zip(starts, sizes, where))):
                    strip_plan = _strips_plan(reach, [ax.lo for ax in axes], sizes,
                                              main_dst, main_src, others, block)
                if whole and strip_plan is None and has_inner:
                    plan = _inner_plan(axes, where, [(p, p + c) for p, c in zip(starts, sizes)],
                                       pads, block)
                    if plan is not None:
                        plan = (plan[0], _band_cuts(plan[1], main_dst, main_src, others))
            if main_idx is None:           # the piece lies entirely in constant padding
                main_idx = index(nb, (0,) * nd)
                main_src = None
            bidx, refs = [], []
            for idx, dst, where_in_bundle in others:
                if idx not in bidx:
                    bidx.append(idx)
                refs.append((bidx.index(idx), dst, where_in_bundle))
            pieces.append((pid, main_idx, main_dst, main_src, tuple(refs), tuple(bidx), block,
                           pads, where, plan, strip_plan))
    specs = {idx: tuple(v[0]) for idx, v in bundle_specs.items()}
    return tuple(pieces), specs, per_axis_out


def halo_map(x, axes, mode, call, out_channels, dtype, threads=None, fill=0.0,
             call_kwargs=None, with_where=False, inner=None, strips=None):
    """Same contract as ``_engine.sliding``.

    ``x`` is (N, C, *spatial) with one channel chunk, (C, *spatial) with one chunk, or
    (*spatial): the blocks are then given to ``call`` as (N, C, *spatial) views and
    the result drops the same leading axes again (``out_channels`` must then be 1
    without a channel axis), so that no reshaping layer (one more task per chunk)
    stands between the data and the op.  ``with_where``: ``call`` also gets
    ``where``, the output piece's ``(a, b)`` range per spatial axis.  ``strips``:
    ``(func, reach)`` for 2-D pieces of one image and one channel whose block is a whole
    chunk and a gathered halo (no constant axis): ``func(chunk, top, bottom, left,
    right)`` gives the piece from the chunk and the strips around it that ``reach``
    ((lo, hi) per axis) covers (``_strips_plan``)."""
    call_kwargs = call_kwargs or {}
    nd = len(axes)
    modes = list(mode) if isinstance(mode, (list, tuple)) else [mode] * nd
    constant = [m in (None, "zeros", "constant") for m in modes]
    for ax, m in zip(axes, modes):
        ax.mode = m
    lead = x.ndim - nd
    if lead not in (0, 1, 2) or any(len(c) != 1 for c in x.chunks[max(lead - 1, 0):lead]):
        raise ValueError(f"halo_map: x of shape {x.shape} with chunks {x.chunks} does not "
                         f"have the (N, C, *spatial) layout with one channel chunk")
    if lead == 0 and out_channels != 1:
        raise ValueError("halo_map: no channel axis for several output channels")
    sig = tuple(ax.key() for ax in axes)
    token = tokenize(x, list(sig), modes, call, out_channels, np.dtype(dtype).str,
                     threads, fill, call_kwargs, with_where, inner, strips)
    name, ex_name = f"fastconv-halo-{token}", f"fastconv-halo-extract-{token}"
    geometry = (x.shape, x.chunks, lead, sig, tuple(modes), with_where, inner is not None,
                strips[1] if strips is not None else None)
    found = _PLANS.get(geometry)
    if found is None:
        found = _plan(x.shape, x.chunks, axes, constant, lead, with_where, inner is not None,
                      strips[1] if strips is not None else None)
        if len(found[0]) <= _PLANS_UP_TO:
            _PLANS.put(geometry, found)
    pieces, bundle_specs, per_axis_out = found

    def key(base, nb, spatial):
        return (base,) + ((nb, 0) if lead == 2 else (0,) * lead) + tuple(spatial)

    dsk, ex_dsk = {}, {}
    peeled = _new_axes_view(x)
    source, view = peeled if peeled is not None else ({}, None)
    for idx, specs in bundle_specs.items():
        ikey = (x.name,) + idx
        ex_dsk[(ex_name,) + idx] = (functools.partial(_extract, specs=specs, lead=lead,
                                                      view=view), source.get(ikey, ikey))
    for pid, main_idx, main_dst, main_src, refs, bidx, shape, pads, where, plan, strip_plan \
            in pieces:
        main_key = (x.name,) + main_idx
        fn = functools.partial(_assemble, pid=pid, main_dst=main_dst, main_src=main_src,
                               others=refs, shape=shape, pads=pads, fill=fill,
                               call=call, call_kwargs=call_kwargs, threads=threads,
                               lead=lead, view=view, where=where if with_where else None,
                               inner=(inner,) + plan if plan is not None else None,
                               strips=(strips[0], strip_plan) if strip_plan is not None
                               else None)
        dsk[key(name, pid[0], pid[1:])] = (fn, source.get(main_key, main_key),
                                           *((ex_name,) + i for i in bidx))
    spatial = tuple(tuple(b - a for a, b in oc) for oc in per_axis_out)
    chunks = ((x.chunks[0], (out_channels,)) if lead == 2 else
              ((out_channels,),) * lead) + spatial
    # one layer: dask's HighLevelGraph.cull keeps a whole layer whose size happens to
    # equal the number of keys asked of it, so a separate strip layer could keep the
    # peeled a[None, None] layer's tasks (and a priority annotation on it would not
    # survive dask.array's low-level fusion anyway)
    dsk.update(ex_dsk)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[x])
    return da.Array(graph, name, chunks, meta=np.empty((0,) * (nd + lead), dtype))
