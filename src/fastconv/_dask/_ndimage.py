"""Lazy fastconv.ndimage: chunked along any axes, each chunk read with a halo.

Every output chunk is the filter applied to its chunk plus a halo of ``depth``
elements per side (the filter's reach along that axis: ``k // 2 + |origin|``,
a Gaussian's radius, ...; one more to be safe), then cropped back: the outputs
kept only ever read the halo, so each is the same computation as in the
in-memory call (the same bits, as the tests check), except for the running sums of
``uniform_filter``/``uniform_filter1d``, which start at the block's edge: along a
chunked axis their float64 results (rarely, float32 ones) can differ from the
in-memory call's in the last bit (axes in one chunk get no halo and keep the bits).

Outside the array the halo holds what the filter's ``mode`` would read (``reflect`` =
numpy's symmetric, ``mirror`` = reflect, ``nearest`` = edge, ``wrap``), per axis for
a sequence of modes.  Along a ``constant`` axis the block stops at the array's edge
and the filter's own mode supplies ``cval`` there, pass by pass: a multi-pass filter
(gaussian, uniform, prewitt, sobel, laplace, ...) then sees ``cval`` outside the array
in every pass, as in the in-memory call, not an earlier pass's output over a cval
halo (and an integer input reads a fractional ``cval`` unrounded).  The block's
inner edges give wrong values only within the reach of its passes, i.e. in the
halo, which is cropped.

A 2-D float ``gaussian_filter`` in a gathered mode instead reads each chunk in place
with the four halo strips around it, both passes in one kernel call (``_strips``,
``_halo``'s strips mode): the same bits.

``gaussian_laplace``/``gaussian_gradient_magnitude`` with different modes per axis
apply each axis's mode to *every* axis of that axis's derivative (SciPy's rule): they
run as one lazy ``gaussian_filter`` per derivative (each split as above), combined
blockwise with the in-memory call's own arithmetic (``+=``, squares, ``sqrt``): the
same bits.  ``generic_laplace``/``generic_gradient_magnitude`` (Python callables of
unknown reach) run as one block (lazy, not parallel).
"""

import functools

import dask.array as da
import numpy as np

from fastconv._dask import _engine as E
from fastconv._dask import is_dask

_PADMODE = {"reflect": "symmetric", "mirror": "reflect", "grid-mirror": "symmetric",
            "nearest": "edge", "wrap": "wrap", "grid-wrap": "wrap",
            "constant": "constant", "grid-constant": "constant"}


def _per_axis(value, n, name):
    if np.ndim(value) == 0:
        return [value] * n
    value = list(value)
    if len(value) != n:
        raise ValueError(f"{name} must have one entry per filtered axis ({n}), got {value!r}")
    return value


def _axes(p, ndim):
    axes = p.get("axes")
    if axes is None:
        return list(range(ndim))
    return [int(a) % ndim for a in np.atleast_1d(axes)]


def _gauss_radius(sigma, truncate, radius):
    if radius is not None:
        return int(radius)
    return int(float(truncate) * float(sigma) + 0.5)


def _depths(name, p, ndim):
    """Halo per axis (both sides), or None: run as one block."""
    d = [0] * ndim
    if name in ("correlate1d", "convolve1d", "uniform_filter1d", "minimum_filter1d",
                "maximum_filter1d", "gaussian_filter1d"):
        ax = int(p["axis"]) % ndim
        if name == "gaussian_filter1d":
            d[ax] = _gauss_radius(p["sigma"], p["truncate"], p.get("radius")) + 1
        else:
            k = np.size(p["weights"]) if "weights" in p else int(p["size"])
            d[ax] = k // 2 + abs(int(p["origin"])) + 1
        return d
    if name == "generic_filter1d":
        ax = int(p["axis"]) % ndim
        d[ax] = int(p["filter_size"]) // 2 + abs(int(p["origin"])) + 1
        return d
    axes = _axes(p, ndim)
    if name in ("correlate", "convolve"):
        w = np.asarray(p["weights"])
        orig = _per_axis(p["origin"], len(axes), "origin")
        for a, k, o in zip(axes, w.shape, orig):
            d[a] = k // 2 + abs(int(o)) + 1
        return d
    if name in ("uniform_filter", "minimum_filter", "maximum_filter", "rank_filter",
                "median_filter", "percentile_filter", "generic_filter"):
        if p.get("footprint") is not None:
            sizes = np.asarray(p["footprint"]).shape
        else:
            sizes = _per_axis(p["size"], len(axes), "size")
        orig = _per_axis(p["origin"], len(axes), "origin")
        for a, k, o in zip(axes, sizes, orig):
            d[a] = int(k) // 2 + abs(int(o)) + 1
        return d
    if name == "gaussian_gradient_magnitude":
        # each derivative is a gaussian_filter over every axis (sigma per array axis),
        # whatever ``axes`` names
        axes = list(range(ndim))
    if name in ("gaussian_filter", "gaussian_laplace", "gaussian_gradient_magnitude"):
        truncate = p.get("truncate", p.get("kwargs", {}).get("truncate", 4.0))
        sig = _per_axis(p["sigma"], len(axes), "sigma")
        rad = _per_axis(p.get("radius"), len(axes), "radius")
        for a, s, r in zip(axes, sig, rad):
            d[a] = _gauss_radius(s, truncate, r) + (2 if name != "gaussian_filter" else 1)
        return d
    if name in ("prewitt", "sobel", "laplace"):
        for a in axes if name == "laplace" else range(ndim):
            d[a] = 2
        return d
    return None


def _pad_modes(mode, p, ndim):
    """The halo's padding mode per array axis, or None (run as one block): one mode
    name, or a sequence of one per filtered axis (``axes``; the others get no halo)."""
    if isinstance(mode, str):
        return [_PADMODE[mode]] * ndim if mode in _PADMODE else None
    try:
        modes = list(mode)
    except TypeError:
        return None
    axes = _axes(p, ndim)
    if len(modes) != len(axes) or not all(isinstance(m, str) and m in _PADMODE
                                          for m in modes):
        return None        # the in-memory call's error, or a mode only it knows
    out = ["symmetric"] * ndim
    for a, m in zip(axes, modes):
        out[a] = _PADMODE[m]
    return out


def _block(block, pads, public, kw, depth):
    """The filter on one block, cropped to its output piece.

    ``pads``: per axis, how much of the piece's ``depth``-wide halo lies outside the
    array (constant axes: the block stops at the array's edge, where the filter's own
    ``mode`` gives ``cval`` to each of its passes) or outside the chunk (a chunk
    alone, ``_halo._inner_and_bands``: the bands that read it are recomputed)."""
    y = public(block[0, 0], **kw)
    crop = tuple(slice(d - lo, n - (d - hi)) for n, d, (lo, hi) in zip(y.shape, depth, pads))
    return y[crop][None, None]


def _fused_block(main, top, bottom, left, right, passes):
    """Both passes of a 2-D separable filter on one chunk and its halo strips."""
    from fastconv import _ndfilters as nf

    return nf.fused2_halo(main, (top, bottom, left, right), *passes)


def _strips(name, x, kw, pads, depth):
    """``(call, reach)`` for ``_halo``'s strips mode, or None: ``gaussian_filter``
    over both axes of a float 2-D array of more than one chunk, in a gathered mode, its
    two passes one fused kernel call (``_ndfilters.fusable``), its result in the
    input's dtype: each chunk is then read in place with the strips around it (along
    an axis in one chunk, strips the mode gathers from the chunk itself)."""
    from fastconv import _ndfilters as nf
    from fastconv import ndimage

    if (name != "gaussian_filter" or x.ndim != 2 or x.dtype not in (np.float32, np.float64)
            or "constant" in pads or x.numblocks == (1, 1)):
        return None
    try:
        if kw.get("output") is not None and np.dtype(kw["output"]) != x.dtype:
            return None
        passes = ndimage._gaussian_passes(2, kw["sigma"], kw["order"], kw["mode"],
                                          kw["truncate"], kw.get("radius"), kw.get("axes"))
    except (ValueError, TypeError):
        return None     # the in-memory call's own error, raised on a stand-in
    if len(passes) != 2 or not nf.fusable(passes[0], passes[1], 2):
        return None
    reach = tuple((K // 2 + org, K - 1 - K // 2 - org) for _a, _op, K, org, _m, _w in passes)
    if any(max(r) > d for r, d in zip(reach, depth)):
        return None
    passes = tuple((a, op, K, org, None, None, w) for a, op, K, org, _m, w in passes)
    return functools.partial(_fused_block, passes=passes), reach


def _whole(public, x, kw):
    x = x.rechunk(-1)
    meta = public(np.zeros((3,) * x.ndim, x.dtype), **kw)
    return x.map_blocks(lambda b: public(b, **kw), dtype=meta.dtype,
                        meta=np.empty((0,) * x.ndim, meta.dtype))


def _laplace_sum(*parts):
    """generic_laplace's arithmetic on one block of each derivative."""
    out = parts[0].copy()
    for t in parts[1:]:
        out += t
    return out


def _magnitude(*parts):
    """generic_gradient_magnitude's arithmetic on one block of each derivative."""
    out = parts[0].copy()
    np.multiply(out, out, out)
    for t in parts[1:]:
        t = t.copy()
        np.multiply(t, t, t)
        out += t
    np.sqrt(out, out, casting="unsafe")
    return out


def _mixed_modes(mode):
    """True for a sequence of modes whose halos differ (per-derivative modes)."""
    if isinstance(mode, str):
        return False
    try:
        modes = list(mode)
    except TypeError:
        return False
    return (all(isinstance(m, str) and m in _PADMODE for m in modes)
            and len({_PADMODE[m] for m in modes}) > 1)


def _per_derivative(name, x, kw):
    """gaussian_laplace / gaussian_gradient_magnitude with a mode per axis: derivative
    ``ii`` is ``gaussian_filter`` with ``mode[ii]`` on every axis (as in the in-memory
    call), each one lazy and split; combined blockwise as the in-memory call does."""
    from fastconv import _ndfilters as nf
    from fastconv import ndimage

    kw = dict(kw)
    sigma, output, mode, cval = kw.pop("sigma"), kw.pop("output"), kw.pop("mode"), kw.pop("cval")
    nd = x.ndim
    axes = nf.check_axes(kw.pop("axes", None), nd)
    modes = nf.normalize_sequence(mode, len(axes), "mode")
    if name == "gaussian_laplace":
        sigma = nf.normalize_sequence(sigma, len(axes), "sigma")
        if len(axes) < nd:
            full = [0] * nd
            for s, ax in zip(sigma, axes):
                full[ax] = s
            sigma = full
    dtype = nf.get_output(output, np.empty((0,) * nd, x.dtype)).dtype
    order_of = 2 if name == "gaussian_laplace" else 1
    parts = []
    for ax, md in zip(axes, modes):
        order = [0] * nd
        order[ax] = order_of
        parts.append(ndimage.gaussian_filter(x, sigma, order, dtype, md, cval, **kw))
    combine = _laplace_sum if name == "gaussian_laplace" else _magnitude
    return da.map_blocks(combine, *parts, dtype=dtype, meta=np.empty((0,) * nd, dtype))


def filter_(name):
    def handler(public, p):
        x = p.pop("input")
        if not is_dask(x):
            raise TypeError(f"only input may be a dask array in ndimage.{name}")
        out = p.get("output")
        if out is not None and not isinstance(out, (type, np.dtype, str)):
            raise TypeError("output= must be a dtype (or None) with a dask input: the "
                            "result is a new lazy array")
        for k in ("weights", "footprint"):
            if is_dask(p.get(k)):
                raise TypeError(f"{k} must be an in-memory array with a dask input")
        kw = dict(p)
        extra = kw.pop("kwargs", None)
        if extra:
            kw.update(extra)
        mode = p.get("mode", "reflect")
        if name in ("gaussian_laplace", "gaussian_gradient_magnitude") and x.ndim:
            if _mixed_modes(mode):
                return _per_derivative(name, x, kw)
            if isinstance(mode, (list, tuple)) and len(_axes(p, x.ndim)) == len(mode) > 0:
                # one mode per derivative, all the same: each derivative applies it to
                # every axis it filters
                mode = list(mode)[0]
        pads = _pad_modes(mode, p, x.ndim)
        try:
            depth = _depths(name, p, x.ndim) if pads is not None else None
        except (ValueError, TypeError):
            depth = None    # the in-memory call's own error, raised below on a stand-in
        if depth is None or x.ndim == 0:
            return _whole(public, x, kw)
        strips = _strips(name, x, kw, pads, depth)
        if strips is None:
            # an axis in one chunk needs no halo: the filter's own mode at the array's
            # edges is the in-memory call's (and a running sum, uniform_filter's, then
            # starts where it does in the in-memory call: the same bits in float64 too)
            depth = [0 if len(c) == 1 else dd for c, dd in zip(x.chunks, depth)]
        meta = public(np.zeros(tuple(2 * dd + 1 for dd in depth), x.dtype), **kw)
        axes = [E.Axis(n, 2 * dd + 1, 1, dd, dd, n) for n, dd in zip(x.shape, depth)]
        return E.sliding(x, axes, pads, _block,
                         1, meta.dtype, threads=E.user_threads(), inner=_block,
                         call_kwargs=dict(public=public, kw=kw, depth=tuple(depth)),
                         strips=strips)

    return handler


NAMES = ("correlate1d", "convolve1d", "correlate", "convolve", "gaussian_filter1d",
         "gaussian_filter", "uniform_filter1d", "uniform_filter", "minimum_filter1d",
         "maximum_filter1d", "minimum_filter", "maximum_filter", "prewitt", "sobel",
         "laplace", "generic_laplace", "gaussian_laplace", "generic_gradient_magnitude",
         "gaussian_gradient_magnitude", "rank_filter", "median_filter", "percentile_filter",
         "generic_filter", "generic_filter1d")
HANDLERS = {f"ndimage.{n}": filter_(n) for n in NAMES}
