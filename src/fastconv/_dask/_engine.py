"""The chunked-computation engine behind the lazy dask paths.

Exactness
---------
* Batch-axis chunks: each block is one in-memory call (``map_blocks``); the
  channel axis (and every axis an op reduces over) is rechunked to one chunk.
* Spatial chunks (a sliding window of extent ``e = dilation * (k - 1) + 1``,
  stride ``s``, padding ``(lo, hi)`` per axis): the output is cut into chunks
  ``[a, b)`` whose boundaries follow the input's chunk boundaries
  (``ceil((p + lo) / s)``, so they are aligned to the stride: every output is
  computed exactly once).  Output chunk ``[a, b)`` reads input ``[a s - lo,
  (b - 1) s - lo + e)``: the halo.  Where that range leaves the array, the
  values come from the op's own padding mode: reflect/replicate/circular/
  symmetric by gathering the source indices of ``numpy.pad`` (so repeated
  reflection and wrap-around from the far edge are exact), zeros/constant by
  passing the remaining padding ``(lo', hi')`` to the in-memory call.  Each
  output is then the same sum over the same terms in the same order as in the
  in-memory call: the same bits (checked by tests/test_dask.py), with the
  default direct kernels (not with ``set_winograd(True)``, whose tiles follow
  the block's origin).
* Adjoints (conv_input_grad with zeros/constant padding, conv_transpose) over
  spatial chunks of their input ``g`` (the forward op's output): result chunk
  ``[a, b)`` (following ``g``'s boundaries ``p s - lo``) reads ``g[ceil((a + lo -
  e + 1) / s), floor((b - 1 + lo) / s) + 1)`` (:class:`TransposedAxis`); the block
  is one in-memory call with the padding ``(lo', hi')`` that puts the block's
  inputs where they are in the whole call, and the margins no input reaches hold
  zero (plus the bias): the same terms in the same order per result, the same
  bits, except where the whole call runs the GEMM + col2im kernel (stride > 1, or
  a folding mode; not depthwise) over more than one pixel tile: there the chunks
  add the terms in another order, within the float bound.  The other padding
  modes fold gradients from the padded border (from the far edge, for circular):
  ``_dispatch`` gives a chunk near an edge the outputs that fold onto it too.
  avg_pool_backward (a divisor the same for every window) is such an adjoint too
  (``_dispatch._avg_bwd_block``).
* Stride-1 axes (ndimage filters, conv): a piece is computed from its input chunk
  alone, read in place with the op's own padding standing in for the halo, and the
  bands of outputs whose windows reach past the chunk are recomputed from small
  gathered blocks and written over it (``_halo._inner_and_bands``): no halo'd copy
  of the chunk, the same terms in the same order per output.  A 2-D separable
  filter (``gaussian_filter``) instead reads its chunk in place and the four halo
  strips around it in one kernel call (``_halo._with_strips``,
  ``_filter_kernels.sep2d_halo``): no band computed twice.
* Reductions over the batch (weight and bias gradients): one partial sum per
  batch chunk, added sequentially in chunk order.  The order depends only on
  the chunking, never on timing, so results are deterministic; their bits can
  differ from the in-memory call (another partition of the sum) within the
  float bound.

Threads (no oversubscription)
-----------------------------
Inside a dask task fastconv's OpenMP team is set, for the task's duration, to
``dask.config.get("fastconv.threads")`` read when the graph is built, if the
user set it.  Otherwise, on a ``distributed`` worker: the worker process's
``OMP_NUM_THREADS`` when set (dask's nanny sets it to 1 by default,
``distributed.nanny.pre-spawn-environ``, so several worker processes on one
machine do not oversubscribe it), else ``max(1, cores // nthreads)`` with the
worker's ``nthreads``.  In the local threaded scheduler: ``max(1, cores //
num_workers)`` (the pool size, default the CPU count: one OpenMP thread per
dask thread).  The synchronous scheduler
(main thread) keeps fastconv's own setting.  The kernels release the GIL, so
the threaded scheduler runs blocks in parallel.
"""

import os
import sys
import threading

import dask
import dask.array as da
import numpy as np

from fastconv._threads import available_cores, get_num_threads, set_num_threads

# ------------------------------------------------------------------ threads

def user_threads():
    """The ``fastconv.threads`` dask setting at graph-build time (None if unset)."""
    n = dask.config.get("fastconv.threads", None)
    if n is None:
        return None
    n = int(n)
    if n < 1:
        raise ValueError(f"dask config fastconv.threads must be >= 1, got {n}")
    return n


def _auto_threads():
    cores = available_cores()
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            w = get_worker()
            if "OMP_NUM_THREADS" in os.environ:
                # the nanny's default environment (distributed.nanny.pre-spawn-environ)
                # or the user's: fastconv already follows it
                return None
            nthreads = getattr(getattr(w, "state", None), "nthreads", None) or w.nthreads
            return max(1, cores // max(1, nthreads))
        except (ValueError, AttributeError, ImportError):
            pass
    if threading.current_thread() is threading.main_thread():
        return None   # synchronous scheduler: fastconv's own setting
    workers = dask.config.get("num_workers", None) or os.cpu_count() or 1
    return max(1, cores // workers)


class task_threads:
    """Context: fastconv's thread count inside one dask task (see the module doc)."""

    def __init__(self, requested):
        self.requested = requested

    def __enter__(self):
        n = self.requested if self.requested is not None else _auto_threads()
        self.old = get_num_threads()
        self.n = min(n, available_cores()) if n is not None else None
        if self.n is not None and self.n != self.old:
            set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self.n is not None and self.n != self.old:
            set_num_threads(self.old)
        return False


def run_block(func, threads, *args, **kwargs):
    with task_threads(threads):
        return func(*args, **kwargs)


# ------------------------------------------------------------------ chunk helpers

def as_dask(a, like=None):
    if hasattr(a, "__dask_graph__"):
        return a
    a = np.asarray(a)
    return da.from_array(a, chunks=like.chunks if like is not None else -1)


def single_except_batch(x, batch_axis=0):
    """Rechunk every axis but the batch axis to one chunk."""
    spec = {ax: -1 for ax in range(x.ndim) if ax != batch_axis}
    return x.rechunk(spec) if any(len(x.chunks[a]) > 1 for a in spec) else x


def batch_map(func, x, out_tail, dtype, *others, threads=None, batch_axis=0, per_chunk=False,
              **kwargs):
    """Map ``func(block, *other_blocks, **kwargs)`` over batch chunks of ``x``.

    ``out_tail``: the result's shape after the batch axis.  Other arrays are
    aligned to ``x``'s batch chunks.  ``per_chunk``: each block returns one row
    (a partial result of its chunk) instead of one per batch element.
    """
    x = single_except_batch(x)
    arrays = [x]
    for o in others:
        o = as_dask(o)
        o = o.rechunk({0: x.chunks[0], **{a: -1 for a in range(1, o.ndim)}})
        arrays.append(o)
    first = (1,) * len(x.chunks[0]) if per_chunk else x.chunks[0]
    chunks = (first,) + tuple((n,) for n in out_tail)
    out_ndim = 1 + len(out_tail)
    kw = dict(kwargs)
    extra = {}
    if out_ndim < x.ndim:
        extra["drop_axis"] = list(range(out_ndim, x.ndim))
    elif out_ndim > x.ndim:
        extra["new_axis"] = list(range(x.ndim, out_ndim))
    return da.map_blocks(run_block, func, threads, *arrays, chunks=chunks, dtype=dtype,
                         meta=np.empty((0,) * out_ndim, dtype), **extra, **kw)


def sequential_sum(partials, shape, dtype, cast=None):
    """Sum the per-chunk partial results (stacked on axis 0) in chunk order."""
    def add(p):
        p = p.reshape((-1,) + shape)
        acc = p[0].copy()
        for i in range(1, p.shape[0]):
            acc += p[i]
        return acc.astype(cast, copy=False) if cast is not None else acc

    partials = partials.rechunk({a: -1 for a in range(partials.ndim)})
    out_dtype = cast if cast is not None else dtype
    extra = {}
    if len(shape) < partials.ndim:
        extra["drop_axis"] = [0]
    return partials.map_blocks(add, chunks=tuple((n,) for n in shape), dtype=out_dtype,
                               meta=np.empty((0,) * len(shape), out_dtype), **extra)


# ------------------------------------------------------------------ sliding windows

class Axis:
    """One windowed axis: input length n, window extent e, stride s, padding."""

    def __init__(self, n, extent, stride, lo, hi, out):
        self.n, self.e, self.s, self.lo, self.hi, self.out = n, extent, stride, lo, hi, out

    def key(self):
        """Everything the halo graph's geometry depends on (a subclass with more state
        adds it): graphs over the same chunks share their plan (``_halo._PLANS``)."""
        return (type(self).__qualname__, self.n, self.e, self.s, self.lo, self.hi, self.out)

    def boundary(self, p):
        """The output position where an input chunk boundary p falls: the first output
        whose window starts at or after p, aligned to the stride."""
        return -(-p // self.s)

    def out_chunks(self, in_chunks):
        """Output chunk boundaries following the input's."""
        bounds = {0, self.out}
        p = 0
        for c in in_chunks[:-1]:
            p += c
            bounds.add(min(max(self.boundary(p), 0), self.out))
        b = sorted(bounds)
        return [(lo, hi) for lo, hi in zip(b[:-1], b[1:]) if hi > lo]

    def need(self, a, b):
        start = a * self.s - self.lo
        return start, (b - 1) * self.s - self.lo + self.e


class TransposedAxis(Axis):
    """One axis of the adjoint of a windowed op (conv_input_grad, conv_transpose):
    the input is the forward op's output (length n), the result its input (length
    ``out``).  Result position i receives from the inputs o with
    ``o s - lo <= i <= o s - lo + e - 1``, so result chunk [a, b) reads inputs
    [ceil((a + lo - e + 1) / s), floor((b - 1 + lo) / s) + 1): zero beyond the ends."""

    def boundary(self, p):
        """Result chunks follow the input's: input boundary p -> p s - lo."""
        return p * self.s - self.lo

    def need(self, a, b):
        return -(-(a + self.lo - self.e + 1) // self.s), (b - 1 + self.lo) // self.s + 1

    def block_geometry(self, a, b, first, m):
        """Result chunk [a, b) from the m inputs [first, first + m): the block call's
        padding (lo', hi') and the margins (front, back) of the chunk that no input
        reaches (zero, or the bias), or None when no input reaches it at all.

        The block call then adds, for each of its results, the same terms in the same
        order as the whole call (the same bits, as tests/test_dask.py checks)."""
        if m <= 0:
            return None
        lo = a + self.lo - first * self.s
        front = max(0, -lo)
        lo = max(lo, 0)
        hi = (m - 1) * self.s + self.e - (b - a - front) - lo
        back = max(0, -hi)
        if b - a - front - back <= 0:
            return None
        return (lo, max(hi, 0)), (front, back)


def _constant_block(block, pads, fill, call, call_kwargs):
    """The in-memory call on one gathered block; zero-length blocks (a chunk of
    outputs that lies entirely in the constant padding) are filled explicitly."""
    if any(s == 0 for s in block.shape[2:]):
        shape = block.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in
                                        zip(block.shape[2:], pads))
        block = np.full(shape, fill, dtype=block.dtype)
        pads = tuple((0, 0) for _ in pads)
    return call(block, pads, **call_kwargs)


def sliding(x, axes, mode, call, out_channels, dtype, threads=None, fill=0.0,
            call_kwargs=None, with_where=False, inner=None, strips=None):
    """Apply a windowed op over spatially chunked ``x`` (N, C, *spatial), (C, *spatial)
    or (*spatial) (a channel axis is rechunked to one chunk).

    ``axes``: one :class:`Axis` per spatial axis.  ``mode``: canonical padding
    mode ('zeros'/'constant' pass the remaining padding to ``call``; the others
    are gathered; None: no padding at all), or a list of one per axis.
    ``call(block, pads, **call_kwargs)``
    returns the outputs of the block (N_b, out_channels, *out_block) (``with_where``:
    also given ``where=((a, b), ...)``, the block's output range per axis).  ``inner``:
    optionally the same call for an input chunk without its halo (see
    ``_halo.halo_map``), and ``strips``: optionally a call on an input chunk and the
    halo strips around it (see ``halo_map``).  The graph (two tasks per chunk) is
    built by ``fastconv._dask._halo``.
    """
    from fastconv._dask._halo import halo_map

    lead = x.ndim - len(axes)
    if lead > 0 and len(x.chunks[lead - 1]) > 1:
        x = x.rechunk({lead - 1: -1})
    return halo_map(x, axes, mode, call, out_channels, dtype, threads=threads, fill=fill,
                    call_kwargs=call_kwargs or {}, with_where=with_where, inner=inner,
                    strips=strips)
