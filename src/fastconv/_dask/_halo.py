"""The halo exchange of a sliding-window op over spatially chunked arrays, as a graph.

Two tasks per chunk: ``extract`` cuts, from one input chunk, the small pieces (halo
strips, or far-edge rows that reflect/wrap padding reads) that *other* output
pieces need, into one bundle (one flat array); ``assemble`` builds the input of one
output piece from its main chunk (used in place, no task in between) and the
bundles of the chunks around it, and runs the op.  Only strips travel between workers, and the
scheduler sees 2 tasks per chunk instead of the ~10 of slicing and concatenating
(``map_overlap``).
"""

import functools
import itertools
import math

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer
from dask.tokenize import tokenize

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
              call_kwargs, threads, lead, view, where=None):
    if where is not None:
        call_kwargs = dict(call_kwargs, where=where)
    y = _assemble4(_as4(main, lead, view), bundles, pid, main_dst, main_src, others, shape, pads,
                   fill, call, call_kwargs, threads)
    return y.reshape(y.shape[2 - lead:]) if lead < 2 else y


def _assemble4(main, bundles, pid, main_dst, main_src, others, shape, pads, fill, call,
               call_kwargs, threads):
    from fastconv._dask._engine import _constant_block, run_block

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
    return run_block(_constant_block, threads, out, pads, fill, call, call_kwargs)


def halo_map(x, axes, mode, call, out_channels, dtype, threads=None, fill=0.0,
             call_kwargs=None, with_where=False):
    """Same contract as ``_engine.sliding``.

    ``x`` is (N, C, *spatial) with one channel chunk, (C, *spatial) with one chunk, or
    (*spatial): the blocks are then given to ``call`` as (N, C, *spatial) views and
    the result drops the same leading axes again (``out_channels`` must then be 1
    without a channel axis), so that no reshaping layer (one more task per chunk)
    stands between the data and the op.  ``with_where``: ``call`` also gets
    ``where``, the output piece's ``(a, b)`` range per spatial axis."""
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
    batches = range(len(x.chunks[0])) if lead == 2 else [0]

    def lead_shape(nb):
        """(N, C) of batch chunk nb's blocks as the tasks see them."""
        return ((x.chunks[0][nb] if lead == 2 else 1),
                (x.shape[lead - 1] if lead >= 1 else 1))

    def key(base, nb, spatial):
        return (base,) + ((nb, 0) if lead == 2 else (0,) * lead) + tuple(spatial)

    per_axis_out = [ax.out_chunks(x.chunks[lead + i]) for i, ax in enumerate(axes)]
    plans = [[_axis_plan(ax, x.chunks[lead + i], oc, constant[i]) for oc in per_axis_out[i]]
             for i, ax in enumerate(axes)]
    token = tokenize(x, [(type(ax).__name__, ax.n, ax.e, ax.s, ax.lo, ax.hi, ax.out)
                         for ax in axes], modes, call, out_channels, np.dtype(dtype).str,
                     threads, fill, call_kwargs, with_where)
    name, ex_name = f"fastconv-halo-{token}", f"fastconv-halo-extract-{token}"
    dsk = {}
    bundle_specs = {}          # input chunk key -> [[src, ...], elements so far]
    pieces = []
    for nb in batches:
        for out_idx in itertools.product(*[range(len(p)) for p in per_axis_out]):
            pid = (nb,) + out_idx
            ap = [plans[i][j] for i, j in enumerate(out_idx)]
            shape = tuple(p[0] for p in ap)
            pads = tuple(p[1] for p in ap)
            main_i = tuple(p[3] for p in ap)
            main_key = None
            if None not in main_i:
                main_key = key(x.name, nb, (p[2][i][0] for p, i in zip(ap, main_i)))
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
                ikey = key(x.name, nb, ks)
                specs = bundle_specs.setdefault(ikey, [[], 0])
                strip = lead_shape(nb) + tuple(_length(part) for part in src)
                specs[0].append(src)
                others.append((ikey, dst, (specs[1], strip)))
                specs[1] += math.prod(strip)
            where = tuple(per_axis_out[i][j] for i, j in enumerate(out_idx))
            pieces.append((pid, main_key, main_dst, main_src, others, shape, pads, where))
    peeled = _new_axes_view(x)
    source, view = peeled if peeled is not None else ({}, None)
    for ikey, (specs, _) in bundle_specs.items():
        dsk[(ex_name,) + ikey[1:]] = (functools.partial(_extract, specs=specs, lead=lead,
                                                        view=view), source.get(ikey, ikey))
    for pid, main_key, main_dst, main_src, others, shape, pads, where in pieces:
        if main_key is None:           # the piece lies entirely in constant padding
            main_key = key(x.name, pid[0], (0,) * nd)
            main_src = None
        bkeys = []
        refs = []
        for ikey, dst, where_in_bundle in others:
            bk = (ex_name,) + ikey[1:]
            if bk not in bkeys:
                bkeys.append(bk)
            refs.append((bkeys.index(bk), dst, where_in_bundle))
        fn = functools.partial(_assemble, pid=pid, main_dst=main_dst, main_src=main_src,
                               others=tuple(refs), shape=shape, pads=pads, fill=fill,
                               call=call, call_kwargs=call_kwargs, threads=threads,
                               lead=lead, view=view, where=where if with_where else None)
        dsk[key(name, pid[0], pid[1:])] = (fn, source.get(main_key, main_key), *bkeys)
    spatial = tuple(tuple(b - a for a, b in oc) for oc in per_axis_out)
    chunks = ((x.chunks[0], (out_channels,)) if lead == 2 else
              ((out_channels,),) * lead) + spatial
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[x])
    return da.Array(graph, name, chunks, meta=np.empty((0,) * (nd + lead), dtype))
