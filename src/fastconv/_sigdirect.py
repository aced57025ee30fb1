"""Direct (sum of products) correlation for :mod:`fastconv.signal`.

``correlate_padded(x, v, pads, ...)`` returns ``corr(pad(x), v)`` ('valid' over the
padded input), any number of dimensions, any dtype:

- float32/float64: axes where ``v`` has one tap are folded into the batch axis.
  One or two convolved axes with a constant boundary (1-D and 2-D calls, rows or
  planes of a batch, convolve2d/correlate2d with 'fill') run in fastconv.signal's
  own FIR kernel (``_sig_kernels.fir``, ``_src/fc_sigfir.h``), threaded over
  chunks of outputs, reading the input in place (a padded copy of a chunk's rows
  only at the ends): planes in its blocked form (several output rows a pass),
  rows from ``_BAND_MIN_TAPS`` taps on in its banded form.
- float32/float64 otherwise (the 'wrap'/'symm' boundaries, a non-finite fill,
  three or more axes): fastconv's conv kernels.  Up to three convolved axes run in
  one call; more run as a loop over the taps of the leading axes, each a 3-axis
  call.  A long axis is cut into frames (overlap-save with the direct kernel):
  rows of 512-2048 outputs ran faster in the kernels than whole long rows.  (The
  frame budget below was first set when the kernels built taps x outputs index
  tables, which they no longer do; it has not been re-tuned since.)
- complex: the four real products (real and imaginary parts as batch entries
  and as two kernels).
- integers and bool: exact.  When no partial sum can reach 2**53 the float64
  kernels give the exact sum, which is then wrapped into the integer type as an
  integer sum would wrap (SciPy sums in the integer type); otherwise a loop over
  the taps sums in the integer type itself.
- float16: float32 kernels, rounded once at the end.
- anything else (longdouble, object): the same loop over taps, in that dtype.

NaN and inf stay local: an output is NaN/inf only if a product it sums is.
"""

import math
import sys

import numpy as np

from fastconv import _alloc, _select
from fastconv._config import current_isa, get_num_threads
from fastconv._select import team
from fastconv._validation import as_kernel_input
from fastconv.conv import conv as _fc_conv

# Largest taps x outputs of one axis in one kernel call; longer axes go in frames.
_TABLE_BUDGET = 1 << 18
# Frames are at least this many outputs long, and at most _MAX_FRAME (longer rows
# ran slower in the kernels: 1e6 x 16 taps, float64, 1.7 ms in frames of 2048,
# 14 ms in frames of 8192).
_MIN_FRAME = 512
_MAX_FRAME = 2048
_PAD_MODES = {"constant": "constant", "wrap": "circular", "symmetric": "symmetric"}


def correlate_padded(x, v, pads, dtype, *, boundary="constant", fill=0):
    """``corr(pad(x), v)`` with the result in ``dtype``; ``x`` and ``v`` same ndim."""
    dtype = np.dtype(dtype)
    if x.ndim == 0:
        return np.asarray(x * v, dtype=dtype)
    recipe = direct_recipe(x.shape, v.shape, pads, dtype, boundary, fill)
    if recipe is not None:
        return run_direct(recipe, x, v, dtype, fill)
    if boundary == "constant" and fill == 0:     # (a NaN fill is not 0)
        v, pads = _clip_taps(x.shape, v, pads)
        if v is None:
            return np.zeros(_out_shape(x, np.empty(0), pads), dtype=dtype)
    if dtype.kind == "f" and dtype.itemsize in (4, 8):
        return _real(x, v, pads, dtype, boundary, fill)
    if dtype == np.float16:
        return _real(x, v, pads, np.dtype(np.float32), boundary, fill).astype(np.float16)
    if dtype.kind == "c" and dtype.itemsize in (8, 16):
        return _complex(x, v, pads, dtype, boundary, fill)
    if dtype.kind in "biu":
        return _integer(x, v, pads, dtype, boundary, fill)
    return _tap_loop(x, v, pads, dtype, boundary, fill)


def _out_shape(x, v, pads):
    if v.ndim != x.ndim:      # pads already give the output shape (see _clip_taps)
        return tuple(lo for lo, _ in pads)
    return tuple(n + lo + hi - k + 1 for n, k, (lo, hi) in zip(x.shape, v.shape, pads))


def _clip_taps(shape, v, pads):
    """Drop the taps that only ever meet zero padding (a kernel longer than the
    input in 'same' mode, say): the result is unchanged and the sums shorter.

    Returns (v, pads), or (None, [(out, 0), ...]) when every output is zero."""
    taps, new = _clip_slices(shape, v.shape, pads)
    return (None if taps is None else v[taps]), new


def _clip_slices(shape, k_shape, pads):
    """``_clip_taps`` from the shapes: (the taps kept, as slices, or None where every
    output is zero; the new pads)."""
    sl, new = [], []
    for n, k, (lo, hi) in zip(shape, k_shape, pads):
        out = n + lo + hi - k + 1
        t0, t1 = max(0, lo - out + 1), min(k - 1, lo + n - 1)
        if t0 > t1:
            return None, [(n + lo + hi - kk + 1, 0) for n, kk, (lo, hi)
                          in zip(shape, k_shape, pads)]
        kk = t1 - t0 + 1
        lo2 = lo - t0
        sl.append(slice(t0, t1 + 1))
        new.append((lo2, out - 1 + kk - n - lo2))
    return tuple(sl), new


def direct_recipe(x_shape, v_shape, pads, dtype, boundary, fill):
    """Where ``correlate_padded(x, v, pads, dtype, boundary=boundary, fill=fill)`` is
    one FIR kernel call decided by the shapes alone (float32/float64, one or two axes
    that both convolve, a finite constant border): ``(taps, geometry)`` for
    ``run_direct``, which correlate_padded then runs; else None.  The signal functions
    keep it for repeated calls."""
    dtype = np.dtype(dtype)
    if (not 1 <= len(x_shape) <= 2 or dtype.kind != "f" or dtype.itemsize not in (4, 8)
            or boundary != "constant" or not math.isfinite(fill)):
        return None
    taps = None
    if fill == 0:
        taps, pads = _clip_slices(x_shape, v_shape, pads)
        if taps is None:
            return None
        v_shape = tuple(t.stop - t.start for t in taps)
    # (_real_multi's one-signal, one-kernel case: every axis convolves)
    if not all(k > 1 or p != (0, 0) for k, p in zip(v_shape, pads)):
        return None
    return taps, fir_geometry(tuple(x_shape), tuple(v_shape), list(pads))


def run_direct(recipe, x, v, dtype, fill):
    """``correlate_padded``'s result from its ``direct_recipe``."""
    taps, geometry = recipe
    if taps is not None:
        v = v[taps]
    return fir_run(geometry, x[None, None], v[None, None], dtype, fill)[0, 0]


def _integer(x, v, pads, dtype, boundary, fill):
    fill_i = int(np.asarray(fill).astype(dtype)) if boundary == "constant" else 0
    xmax = _absmax_int(x)
    if boundary == "constant":
        xmax = max(xmax, abs(fill_i))
    bound = xmax * _absmax_int(v) * math.prod(v.shape)
    if bound >= 2 ** 53:
        return _tap_loop(x, v, pads, dtype, boundary, fill_i)
    y = _real(x, v, pads, np.dtype(np.float64), boundary, float(fill_i))
    if dtype == np.bool_:
        return y != 0
    # an exact integer below 2**53 in magnitude: int64 holds it, and the cast to a
    # narrower (or unsigned) type wraps it modulo 2**bits as integer sums do
    return y.astype(np.int64).astype(dtype)


def _absmax_int(a):
    if a.size == 0:
        return 0
    if a.dtype == np.bool_:
        return int(a.any())
    return max(abs(int(a.max())), abs(int(a.min())))


def _complex(x, v, pads, dtype, boundary, fill):
    rdt = np.dtype(np.float32 if dtype == np.complex64 else np.float64)
    fill = complex(fill) if boundary == "constant" else 0j
    if np.iscomplexobj(x) or fill.imag != 0:
        xr = np.stack([x.real, x.imag]) if np.iscomplexobj(x) else np.stack([x, np.zeros_like(x)])
    else:
        xr = x[None]
    vr = np.stack([v.real, v.imag]) if np.iscomplexobj(v) else v[None]
    fills = [fill.real, fill.imag] if xr.shape[0] == 2 else [fill.real]
    if fills[-1] != fills[0]:
        # different constants for the two parts: two calls
        parts = [_real_multi(xr[i:i + 1], vr, pads, rdt, boundary, fills[i]) for i in range(2)]
        y = np.concatenate(parts)
    else:
        y = _real_multi(xr, vr, pads, rdt, boundary, fills[0])
    # y[i, j] = xpart_i * vpart_j
    out = np.empty(y.shape[2:], dtype=dtype)
    if xr.shape[0] == 2 and vr.shape[0] == 2:
        out.real = y[0, 0] - y[1, 1]
        out.imag = y[0, 1] + y[1, 0]
    elif xr.shape[0] == 2:
        out.real = y[0, 0]
        out.imag = y[1, 0]
    elif vr.shape[0] == 2:
        out.real = y[0, 0]
        out.imag = y[0, 1]
    else:
        out.real = y[0, 0]
        out.imag = 0
    return out


def _real(x, v, pads, dtype, boundary, fill):
    return _real_multi(x[None], v[None], pads, dtype, boundary, fill)[0, 0]


def _real_multi(xs, vs, pads, dtype, boundary, fill):
    """``corr(pad(xs[i]), vs[j])`` for every pair: shape (len(xs), len(vs), *out)."""
    nx, nv = xs.shape[0], vs.shape[0]
    nd = xs.ndim - 1
    conv_axes = [a for a in range(nd) if vs.shape[a + 1] > 1 or pads[a] != (0, 0)]
    if (nx == nv == 1 and len(conv_axes) == nd <= 2 and boundary == "constant"
            and math.isfinite(fill)):
        # one signal, one kernel (every 1-D or 2-D call): nothing to move around
        return _fir(xs[:, None], vs[:, None], list(pads), dtype, fill)
    out_shape = _out_shape(xs[0], vs[0], pads)
    batch_axes = [a for a in range(nd) if a not in conv_axes]
    # (nx, *batch, *conv) -> (B, 1, *conv); v -> (nv, 1, *conv)
    perm = [0] + [a + 1 for a in batch_axes] + [a + 1 for a in conv_axes]
    xt = xs.transpose(perm)
    bshape = xt.shape[:1 + len(batch_axes)]
    cx = xt.reshape((-1, 1) + tuple(xs.shape[a + 1] for a in conv_axes))
    cv = vs.transpose([0] + [a + 1 for a in batch_axes] + [a + 1 for a in conv_axes])
    cv = cv.reshape((nv, 1) + tuple(vs.shape[a + 1] for a in conv_axes))
    cpads = [pads[a] for a in conv_axes]
    if not conv_axes:
        y = cx.astype(dtype) * cv.reshape(1, nv).astype(dtype)      # (B, nv)
    elif len(conv_axes) <= 2 and boundary == "constant" and math.isfinite(fill):
        y = _fir(cx, cv, cpads, dtype, fill)
    else:
        y = _conv_nd(cx, cv, cpads, dtype, boundary, fill)   # (B, nv, *conv_out)
    # back to (nx, nv, *out) in the original axis order
    y = y.reshape(bshape + (nv,) + tuple(out_shape[a] for a in conv_axes))
    y = np.moveaxis(y, len(bshape), 1)
    order = [0, 1] + [a + 2 for a in batch_axes] + [a + 2 for a in conv_axes]
    inv = np.argsort(order)
    y = y.transpose(inv)
    assert y.shape == (nx, nv) + out_shape
    return y


# Chunk of outputs of one work item of the FIR kernel (a multiple of every
# register block: 8 vectors of up to 16 elements)
_FIR_CHUNK = 2048
# ... for planes (more than one kernel row), in the blocked form: 256 and 512 the
# same, 1024 and 2048 up to 1.2x slower on 2048x2048 float32 x 3x3 to 31x31
_FIR_CHUNK_2D = 256
# Taps a row from which the FIR kernel runs rows in its banded form (measured
# crossover 24-32 taps, float32 and float64, AVX-512: docs/performance.md).  Planes
# run in the blocked form, faster than the banded one at every width up to 31x31;
# the banded form serves only their last rows (fewer than a block).
_BAND_MIN_TAPS = 28
# Planes in blocks of rows where the kernel's blocked form pays (False: row by row,
# the previous form; the tests compare)
_BLOCKED = True


_LEVELS = {}


def _fir_level():
    """The FIR kernel's SIMD level for the current ISA setting (0: portable C)."""
    isa = current_isa()
    level = _LEVELS.get(isa)
    if level is None:
        from fastconv import _sig_kernels

        level = _LEVELS[isa] = min({"avx512": 2, "avx2": 1}.get(isa, 0),
                                   _sig_kernels.simd_levels())
    return level


def _band_table(v, lanes):
    """(kh, kw + lanes - 1, lanes): column q holds v shifted down by q (the banded
    form of fc_sigfir.h)."""
    kh, kw = v.shape
    t = np.zeros((kh, kw + lanes - 1, lanes), dtype=v.dtype)
    for q in range(lanes):
        t[:, q:q + kw, q] = v
    return t


def _fir(x, v, pads, dtype, fill):
    """x (B, 1, *sp), v (M, 1, *k), one or two axes: corr(pad(x), v) as (B, M, *out),
    ``fill`` outside the input, through fastconv.signal's FIR kernel (fc_sigfir.h)."""
    return fir_run(fir_geometry(x.shape[2:], v.shape[2:], pads), x, v, dtype, fill)


def fir_geometry(sp, k, pads):
    """What ``_fir`` works out from the shapes alone (one or two axes ``sp`` of the
    input, ``k`` of the kernel, their ``pads``): kept by the signal functions' recipes
    of repeated calls, so that a repeat runs the same kernel call without the work."""
    crop = None
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        # 'valid' along an axis: a crop of the input
        crop = (slice(None), slice(None)) + tuple(
            slice(-lo if lo < 0 else 0, n + hi if hi < 0 else n) for n, (lo, hi) in zip(sp, pads))
        sp = tuple(s.stop - s.start for s in crop[2:])
        pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    out = tuple(n + lo + hi - kk + 1 for n, kk, (lo, hi) in zip(sp, k, pads))
    tail = out
    if len(sp) == 1:
        # a row is a plane of one row
        sp, k, out, pads = (1,) + tuple(sp), (1,) + tuple(k), (1,) + out, [(0, 0)] + list(pads)
    # rows of a plane share their cached input rows when the chunks are short
    chunk = _FIR_CHUNK if k[0] == 1 else _FIR_CHUNK_2D
    return crop, tuple(sp), tuple(k), out, tail, pads[0][0], pads[1][0], chunk


def fir_run(geometry, x, v, dtype, fill):
    """``_fir`` with its ``fir_geometry`` for x's and v's shapes."""
    from fastconv import _sig_kernels

    crop, sp, k, out, tail, p0, p1, chunk = geometry
    if crop is not None:
        x = x[crop]
    # aligned too: the kernel loads whole elements (np.ascontiguousarray keeps a
    # misaligned array as it is; UBSan found one)
    xk = as_kernel_input(x.reshape((x.shape[0],) + sp), dtype, "signal")
    level = _fir_level()
    nv = v.shape[0]
    y = _alloc.empty((x.shape[0], nv) + out, dtype)
    banded = k[1] >= _BAND_MIN_TAPS
    lanes = _sig_kernels.lanes(level, dtype.itemsize) if banded else 0
    if _select.VERBOSE:
        blocked = (_BLOCKED and k[0] > 1 and out[0] >= _sig_kernels.blk_rows()
                   and _sig_kernels.blk_pays(level, dtype.itemsize))
        form = "blocked" if blocked else "banded" if banded else "plain"
        print(f"fastconv_verbose,signal_direct,fir,{form},"
              f"isa={current_isa()},threads={get_num_threads()},f{8 * dtype.itemsize},"
              f"x{'x'.join(map(str, xk.shape))}:w{nv}x{'x'.join(map(str, k))}:"
              f"y{'x'.join(map(str, y.shape))}", file=sys.stderr)
    for m in range(nv):
        vm = as_kernel_input(v[m, 0].reshape(k), dtype, "kernel")
        # the banded form multiplies k + lanes - 1 table rows for k taps: worth it
        # from _BAND_MIN_TAPS taps on (see docs/performance.md)
        tab = _band_table(vm, lanes) if banded else None
        ym = y[:, 0] if nv == 1 else np.empty((x.shape[0],) + out, dtype)
        _sig_kernels.fir(xk, vm, tab, ym, p0, p1, float(fill), chunk, level,
                         -1 if _BLOCKED else 0, team(ym.size * math.prod(k)))
        if nv > 1:
            y[:, m] = ym
    return y.reshape((x.shape[0], nv) + tail)


def _conv_nd(x, v, pads, dtype, boundary, fill):
    """x (B, 1, *sp), v (M, 1, *k): corr(pad(x), v) as (B, M, *out), any number of axes."""
    c = x.ndim - 2
    if c <= 3:
        return _conv_framed(x, v, pads, dtype, boundary, fill)
    # more than three convolved axes (zero padding only: boundary modes exist for 2-D
    # only): sum over the taps of the leading c - 3 axes of 3-axis correlations
    lead = c - 3
    n, k = x.shape[2:2 + lead], v.shape[2:2 + lead]
    out_lead = tuple(nn + lo + hi - kk + 1 for nn, kk, (lo, hi) in zip(n, k, pads[:lead]))
    out_tail = tuple(nn + lo + hi - kk + 1 for nn, kk, (lo, hi) in
                     zip(x.shape[2 + lead:], v.shape[2 + lead:], pads[lead:]))
    y = np.zeros((x.shape[0], v.shape[0]) + out_lead + out_tail, dtype=dtype)
    for taps in np.ndindex(*k):
        osl, isl = [], []
        for t, nn, (lo, _), o in zip(taps, n, pads[:lead], out_lead):
            # output o reads input o + t - lo
            o0, o1 = max(0, lo - t), min(o, nn + lo - t)
            if o0 >= o1:
                break
            osl.append(slice(o0, o1))
            isl.append(slice(o0 + t - lo, o1 + t - lo))
        else:
            xs = x[(slice(None), 0) + tuple(isl)]
            lead_shape = xs.shape[1:1 + lead]
            xs = xs.reshape((-1, 1) + xs.shape[1 + lead:])
            vs = v[(slice(None), slice(None)) + taps]
            part = _conv_framed(xs, vs, pads[lead:], dtype, boundary, fill)
            # part: (B * prod(lead_shape), M, *tail) -> (B, M, *lead_shape, *tail)
            part = part.reshape((x.shape[0],) + lead_shape + part.shape[1:])
            part = np.moveaxis(part, 1 + lead, 1)
            y[(slice(None), slice(None)) + tuple(osl)] += part
    return y


def _conv_framed(x, v, pads, dtype, boundary, fill):
    """1-3 convolved axes through fastconv.conv; a long axis is cut into frames.

    The frames (``L + k - 1`` padded samples giving ``L`` outputs each) become
    batch entries of one kernel call, so the kernels' index tables hold
    ``k x L`` entries instead of ``k x outputs`` and the frames spread over the
    threads.  The framed copy is the input's size (plus ``(k - 1) / L``)."""
    k = v.shape[2:]
    out = tuple(nn + lo + hi - kk + 1 for nn, kk, (lo, hi) in zip(x.shape[2:], k, pads))
    big = [a for a in range(len(k))
           if k[a] * out[a] > _TABLE_BUDGET or (len(k) == 1 and out[a] > 2 * _MAX_FRAME)]
    if not big:
        return _fc(x, v, pads, dtype, boundary, fill)
    a = max(big, key=lambda i: k[i] * out[i])
    frame = min(_MAX_FRAME, max(_MIN_FRAME, _TABLE_BUDGET // k[a]))
    if frame >= out[a]:
        return _fc(x, v, pads, dtype, boundary, fill)
    nf = -(-out[a] // frame)
    # nf frames of frame + k - 1 padded samples along axis a
    lo, hi = pads[a]
    extra = nf * frame - out[a]
    ax = 2 + a
    xs = x.astype(dtype, copy=False)
    if lo < 0 or hi < 0:
        xs = xs[(slice(None),) * ax + (slice(max(-lo, 0), xs.shape[ax] - max(-hi, 0)),)]
        lo, hi = max(lo, 0), max(hi, 0)
    W = frame + k[a] - 1
    if boundary == "constant":
        xf = _frames_constant(xs, ax, lo, frame, W, nf, fill, dtype)
    else:
        # numpy.pad's wrap/symmetric extension (the same maps as the kernels'); the
        # extra tail only feeds outputs that are cropped away
        width = [(0, 0)] * x.ndim
        width[ax] = (lo, hi + extra)
        xp = np.pad(xs, width, mode="wrap" if boundary == "wrap" else "symmetric")
        win = np.lib.stride_tricks.sliding_window_view(xp, W, axis=ax)
        win = win[(slice(None),) * ax + (slice(None, None, frame),)]    # (B,1,..,nf,..,W)
        win = np.moveaxis(np.moveaxis(win, ax, 1), -1, ax + 1)          # (B,nf,1,..,W,..)
        xf = np.require(win, requirements=["C", "A"])
    xf = xf.reshape((-1,) + xf.shape[2:])
    sub = list(pads)
    sub[a] = (0, 0)
    y = _fc(xf, v, sub, dtype, boundary, fill)                       # (B*nf, M, .., frame, ..)
    y = y.reshape((x.shape[0], nf) + y.shape[1:])
    y = np.moveaxis(y, 1, ax)                                        # (B, M, .., nf, frame, ..)
    y = y.reshape(y.shape[:ax] + (nf * frame,) + y.shape[ax + 2:])
    return y[(slice(None),) * ax + (slice(0, out[a]),)]


def _frames_constant(xs, ax, lo, frame, W, nf, fill, dtype):
    """Frames of the constant-padded axis ``ax`` without padding the whole input:
    (B, nf, 1, .., W, ..), frame f holding padded samples [f*frame, f*frame + W)."""
    n = xs.shape[ax]
    xf = np.empty((xs.shape[0], nf) + xs.shape[1:ax] + (W,) + xs.shape[ax + 1:], dtype=dtype)
    # frames that lie inside the input are one strided copy
    f0 = min(nf, -(-lo // frame))
    f1 = max(f0, min(nf, (n - W + lo) // frame + 1)) if n >= W else f0
    if f1 > f0:
        win = np.lib.stride_tricks.sliding_window_view(xs, W, axis=ax)
        s0 = f0 * frame - lo
        win = win[(slice(None),) * ax + (slice(s0, s0 + (f1 - f0 - 1) * frame + 1, frame),)]
        xf[:, f0:f1] = np.moveaxis(np.moveaxis(win, ax, 1), -1, ax + 1)
    for f in [*range(0, f0), *range(f1, nf)]:
        i0 = f * frame - lo
        c0, c1 = max(0, i0), min(n, i0 + W)
        part = xf[:, f]
        part[...] = fill
        if c1 > c0:
            part[(slice(None),) * ax + (slice(c0 - i0, c1 - i0),)] = \
                xs[(slice(None),) * ax + (slice(c0, c1),)]
    return xf


def _fc(x, v, pads, dtype, boundary, fill):
    """One fastconv.conv call: x (B, 1, *sp), v (M, 1, *k)."""
    if boundary == "constant" and (fill == 0 or not _reads_padding(pads)):
        mode, value = "zeros", 0.0
    elif boundary == "constant":
        mode, value = "constant", float(fill)
    else:
        mode, value = _PAD_MODES[boundary], 0.0
    xk = x if x.dtype == dtype else x.astype(dtype)
    vk = v if v.dtype == dtype else v.astype(dtype)
    if mode != "constant" or math.isfinite(value):
        if any(lo < 0 or hi < 0 for lo, hi in pads):
            xk, pads = _crop_negative(xk, pads)
        return _fc_conv(xk, vk, padding=[tuple(p) for p in pads], padding_mode=mode,
                        pad_value=value)
    # a non-finite fill value: pad by hand (the kernels take finite constants only)
    xp = np.pad(xk, [(0, 0), (0, 0)] + [tuple(p) for p in pads], mode="constant",
                constant_values=value)
    return _fc_conv(xp, vk)


def _reads_padding(pads):
    return any(lo > 0 or hi > 0 for lo, hi in pads)


def _crop_negative(x, pads):
    """Negative padding (valid-mode frames) as a crop of the input."""
    sl = [slice(None), slice(None)]
    new = []
    for n, (lo, hi) in zip(x.shape[2:], pads):
        a0 = -lo if lo < 0 else 0
        a1 = n + hi if hi < 0 else n
        sl.append(slice(a0, a1))
        new.append((max(lo, 0), max(hi, 0)))
    return x[tuple(sl)], new


def _tap_loop(x, v, pads, dtype, boundary, fill):
    """Generic shift-and-add over the taps of v, in ``dtype`` (exact for integers,
    wrapping as integer sums do; works for object arrays).  Memory: the padded
    input plus the output."""
    np_mode = {"constant": "constant", "wrap": "wrap", "symmetric": "symmetric"}[boundary]
    xd = x.astype(dtype, copy=False)
    if np_mode == "constant":
        xp = np.pad(xd, pads, mode="constant", constant_values=np.asarray(fill).astype(dtype))
    else:
        xp = np.pad(xd, pads, mode=np_mode)
    out = _out_shape(x, v, pads)
    y = np.zeros(out, dtype=dtype)
    vd = v.astype(dtype, copy=False)
    for taps in np.ndindex(*v.shape):
        w = vd[taps]
        if dtype.kind != "O" and w == 0:
            continue
        sl = tuple(slice(t, t + o) for t, o in zip(taps, out))
        y += xp[sl] * w
    return y
