"""The engine under fastconv.ndimage: argument helpers with SciPy's semantics,
boundary tables, dtype rules and the calls into the compiled kernels.

The argument helpers follow scipy.ndimage._ni_support (BSD-3-Clause, Copyright
(C) 2003-2005 Peter J. Verveer) so that every accepted argument, every error
type and every output array is the one SciPy gives.

Dtype rules (those of SciPy's C layer): the data are read into float64 (float32
when input and output are both float32, which SciPy computes in float64: the
float32 results then meet the float32 bound instead of being SciPy's bits) and
the result is cast to the output's dtype the C way (truncation toward zero;
a bool output receives the truncated value as a byte, as SciPy's does).
"""

import math
import operator
from collections.abc import Iterable

import numpy as np

try:
    from numpy.exceptions import AxisError
except ImportError:  # NumPy < 1.25
    from numpy import AxisError

from fastconv import _alloc, _filter_kernels, _isa
from fastconv._caches import BoundedCache
from fastconv._select import team
from fastconv._shapes import check_fits

_DBL_EPSILON = np.finfo(np.float64).eps
_SIMD_LEVEL = {"avx512": 2, "avx2": 1}

OP_CORR, OP_MIN, OP_MAX, OP_UNIFORM = 0, 1, 2, 3
# van Herk / Gil-Werman (3 comparisons an output) from this window length on
# (direct: size - 1 comparisons, in registers)
VAN_HERK_FROM = 32


def _level():
    return min(_SIMD_LEVEL.get(_isa.current_isa(), 0), _filter_kernels.simd_levels())


# ---- SciPy's argument helpers ------------------------------------------------

def extend_mode_to_code(mode):
    """Boundary mode name -> SciPy's integer code (RuntimeError if unknown)."""
    codes = {"nearest": 0, "wrap": 1, "reflect": 2, "grid-mirror": 2, "mirror": 3,
             "constant": 4, "grid-wrap": 5, "grid-constant": 6}
    if isinstance(mode, str) and mode in codes:
        return codes[mode]
    raise RuntimeError(f"boundary mode not supported: mode={mode!r}")


def normalize_sequence(value, rank, name="argument"):
    """A scalar repeated ``rank`` times, or a sequence of exactly ``rank`` items."""
    if not isinstance(value, str) and np.iterable(value):
        normalized = list(value)
        if len(normalized) != rank:
            raise RuntimeError(f"sequence argument must have length equal to input rank: "
                               f"{name}={value!r} has {len(normalized)} items for {rank} axes")
        return normalized
    return [value] * rank


_BY_NAME = {}


def _by_name(dtype):
    """SciPy's output dtype ``np.dtype(input.dtype.name)``: the native byte order of
    the input's type, and its TypeError for strings and records ("data type 'str64'
    not understood"); kept per dtype (a few entries)."""
    found = _BY_NAME.get(dtype)
    if found is None:
        found = _BY_NAME[dtype] = np.dtype(dtype.name)
    return found


def get_output(output, input, shape=None, complex_output=False):
    """SciPy's _get_output: the output array from None, a dtype or an array."""
    if shape is None:
        shape = input.shape
    # np.empty where SciPy has np.zeros: every element is written, and calloc's
    # fresh zero pages would fault in one by one during the kernel's writes
    if output is None:
        if not complex_output:
            return _alloc.empty(shape, _by_name(input.dtype))
        return _alloc.empty(shape, np.promote_types(input.dtype, np.complex64))
    if isinstance(output, (type, np.dtype)):
        if complex_output and np.dtype(output).kind != "c":
            import warnings
            warnings.warn("promoting specified output dtype to complex", stacklevel=4)
            output = np.promote_types(output, np.complex64)
        return _alloc.empty(shape, output)
    if isinstance(output, str):
        output = np.dtype(output)
        if complex_output and output.kind != "c":
            raise RuntimeError("output must have complex dtype")
        if not issubclass(output.type, np.number):
            raise RuntimeError("output must have numeric dtype")
        return _alloc.empty(shape, output)
    output = np.asarray(output)
    if output.shape != shape:
        raise RuntimeError(f"output shape not correct: output.shape={output.shape}, "
                           f"expected {tuple(shape)}")
    if complex_output and output.dtype.kind != "c":
        raise RuntimeError("output must have complex dtype")
    return output


def axis_index(axis, ndim):
    """``axis`` in [0, ndim) as NumPy's normalize_axis_index gives it, with an
    AxisError (not OverflowError) for integers beyond a C int, as SciPy raises."""
    ax = operator.index(axis)
    if not -ndim <= ax < ndim:
        raise AxisError(ax, ndim)
    return ax % ndim


def check_axes(axes, ndim, deferred=False):
    """SciPy's _check_axes: a tuple of distinct non-negative axes.

    SciPy does not range-check a single axis: its filters raise where they use it
    (normalize_axis_index: AxisError) and return the input where they skip it (a
    size of 1, a sigma of 0).  A single axis out of range is an AxisError here, or,
    with ``deferred``, kept as it is for the caller to check the axes it uses
    (``axis_index``)."""
    if axes is None:
        return tuple(range(ndim))
    if np.isscalar(axes):
        ax = operator.index(axes)
        axes = (ax,) if deferred and not -ndim <= ax < ndim else (axis_index(ax, ndim),)
    elif isinstance(axes, Iterable):
        axes = tuple(operator.index(ax) for ax in axes)
        for ax in axes:
            if ax < -ndim or ax > ndim - 1:
                raise ValueError(f"specified axis: {ax} is out of range (axes={axes!r}, "
                                 f"input.ndim={ndim})")
        axes = tuple(ax % ndim if ax < 0 else ax for ax in axes)
    else:
        raise ValueError("axes must be an integer, iterable of integers, or None")
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes must be unique: axes={axes!r}")
    return axes


def as_cval(cval):
    """cval as a C double, as SciPy's C layer reads it (TypeError otherwise)."""
    if cval.__class__ is float or cval.__class__ is int:
        return float(cval)
    if isinstance(cval, (str, bytes)) or np.iscomplexobj(cval):
        raise TypeError(f"cval must be a real number, got {cval!r}")
    try:
        return float(cval)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cval must be a real number, got {cval!r}") from exc


# ---- dtypes ------------------------------------------------------------------

def _supported(dtype):
    return dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize in (4, 8))


def check_types(input, output, nd=False):
    """RuntimeError for the dtypes SciPy's C layer rejects (float16, complex, object...)."""
    for name, arr in (("input", input), ("output", output)):
        if not _supported(arr.dtype):
            if nd:
                raise RuntimeError(f"array type not supported ({name} dtype {arr.dtype})")
            raise RuntimeError(f"array type {arr.dtype!r} not supported ({name})")


def compute_dtype(in_dtype, out_dtype):
    if in_dtype.kind == "f" and in_dtype.itemsize == 4 and \
            out_dtype.kind == "f" and out_dtype.itemsize == 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def to_compute(a, cdt):
    """An aligned C-contiguous ndarray of dtype ``cdt`` with a's values (a itself
    when it is one): the kernels load whole elements, which a misaligned array's
    are not (np.ascontiguousarray keeps a misaligned array as it is)."""
    a = np.asarray(a)
    if a.dtype == cdt:
        f = a.flags
        if f.c_contiguous and f.aligned:   # (and native: cdt is)
            return a
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    return np.require(a, dtype=cdt, requirements=["C", "A", "E"])


def store(buf, output):
    """output[...] = buf with C's float -> integer truncation (bool: as a byte)."""
    if output.dtype == np.bool_:
        np.copyto(output.view(np.uint8), buf, casting="unsafe")
    else:
        np.copyto(output, buf, casting="unsafe")


def c_cast_value(value, dtype):
    """float(dtype(value)) with C's conversion, as SciPy's N-d min/max reads cval."""
    dt = np.dtype(np.uint8) if dtype == np.bool_ else dtype
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.array(value, dtype=np.float64).astype(dt))


# ---- origins -------------------------------------------------------------------

def origin_index(origin):
    """An origin as SciPy's C layer reads one: an integer (a float raises Python's
    TypeError, "'float' object cannot be interpreted as an integer", never a
    truncation)."""
    return operator.index(origin)


def nd_origins(origins):
    """The origins of an N-d filter (correlate, a footprint's minimum/maximum, rank and
    generic filters) as SciPy's C layer reads them: integers, and not bools either."""
    out = []
    for o in origins:
        if isinstance(o, (bool, np.bool_)):
            raise TypeError("an integer is required")
        out.append(operator.index(o))
    return out


# ---- boundary tables ---------------------------------------------------------

# short tables of small calls (1 KiB each at most), whose NumPy work costs more than
# their kernel; read-only, shared by the calls
_MAPS = BoundedCache("ndimage extension tables", 64)
_MAP_CACHED_UP_TO = 128


def extend_map(n, length, shift, mode):
    """Source index of each of ``length`` extended positions (position m holds
    element m - shift), or -1 where the value is cval. ``mode`` is SciPy's code.
    A window (``length - n + 1``) whose table could not fit in memory is a
    ValueError naming ``size``, not NumPy's MemoryError."""
    if length <= _MAP_CACHED_UP_TO:
        key = (n, length, shift, mode)
        m = _MAPS.get(key)
        if m is None:
            m = _extend_map(n, length, shift, mode)
            m.flags.writeable = False
            _MAPS.put(key, m)
        return m
    check_fits(length, 8, "size", length - n + 1, "the filter's boundary table")
    return _extend_map(n, length, shift, mode)


def _extend_map(n, length, shift, mode):
    idx = np.arange(length, dtype=np.intp) - shift
    if mode == 0:
        return np.clip(idx, 0, n - 1)
    if mode in (1, 5):
        return np.mod(idx, n)
    if mode == 2:  # reflect: period 2n, the edge element repeated
        m = np.mod(idx, 2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    if mode == 3:  # mirror: period 2n - 2, the edge element not repeated
        if n == 1:
            return np.zeros(length, dtype=np.intp)
        m = np.mod(idx, 2 * n - 2)
        return np.where(m >= n, 2 * n - 2 - m, m)
    out = idx.copy()
    out[(idx < 0) | (idx >= n)] = -1
    return out


def weights_symmetry(w):
    """SciPy's test: 1 symmetric, -1 antisymmetric (odd length only), else 0."""
    K = w.shape[0]
    if not K & 1:
        return 0
    c = K // 2
    if K <= 64:    # the same test in Python floats: NumPy's calls cost more here
        v = w.tolist()
        if all(abs(v[K - 1 - k] - v[k]) <= _DBL_EPSILON for k in range(c)):
            return 1
        if all(abs(v[K - 1 - k] + v[k]) <= _DBL_EPSILON for k in range(c)):
            return -1
        return 0
    left, right = w[:c][::-1], w[c + 1:]
    if np.all(np.abs(right - left) <= _DBL_EPSILON):
        return 1
    if np.all(np.abs(right + left) <= _DBL_EPSILON):
        return -1
    return 0


# ---- passes ------------------------------------------------------------------

def pass1d(src, axis, op, size, origin, mode, cval, weights=None, sym=0, dst=None):
    """One 1-D filter pass along ``axis`` of the C-contiguous compute array ``src``
    into ``dst`` (a new array when None; never memory shared with src)."""
    shape = src.shape
    if dst is None:
        dst = np.empty(shape, dtype=src.dtype)
    if src.size == 0:
        return dst
    n = shape[axis]
    outer = math.prod(shape[:axis])
    inner = math.prod(shape[axis + 1:])
    lo = size // 2 + origin
    emap = extend_map(n, n + size - 1, lo, mode)
    if op in (OP_MIN, OP_MAX) and size >= VAN_HERK_FROM:
        op += 3
    if weights is None:
        w = np.zeros(0, dtype=src.dtype)
    else:
        w = to_compute(weights, src.dtype)
    # running sums and van Herk windows: a few operations an output, whatever the size
    work = src.size * (size if op in (OP_CORR, OP_MIN, OP_MAX) else 4)
    _filter_kernels.pass1d(src.reshape(outer, n, inner), dst.reshape(outer, n, inner), w, sym,
                           emap, lo, cval, op, size, _level(), team(work))
    return dst


def run_passes(input, output, passes):
    """Real input and output: passes (axis, op, size, origin, mode, cval, weights)
    one after the other, the result of each stored in output's dtype as SciPy's
    separable filters store theirs; returns output."""
    cdt = compute_dtype(input.dtype, output.dtype)
    buf = to_compute(input, cdt)
    if len(passes) >= 2 and output.dtype == cdt and buf.ndim >= 2:
        # the last two passes along the last two axes run fused: no intermediate image
        # (van Herk windows go through pass1d's running kernel)
        if fusable(passes[-2], passes[-1], buf.ndim) and buf.size > 0:
            if len(passes) > 2:
                buf = run_passes(buf, np.empty(buf.shape, cdt), passes[:-2])
            return _fused2(buf, output, passes[-2], passes[-1])
    # with an output the kernels may write, the passes alternate between it and
    # one scratch image, the last landing in the output (fresh images fault their
    # pages in during the kernel's writes)
    # A pass along the last axis copies each line before writing it, so it may
    # run in place: the pass before it then writes into the output as well.
    pingpong = _direct(output, cdt, buf)
    targets = [True] * len(passes)  # True: the output, False: the scratch image
    for j in range(len(passes) - 2, -1, -1):
        in_place = passes[j + 1][0] == buf.ndim - 1
        targets[j] = targets[j + 1] if in_place else not targets[j + 1]
    spare = None
    for ii, (axis, op, size, origin, mode, cval, weights) in enumerate(passes):
        sym = 0
        if op == OP_CORR:
            sym = weights_symmetry(weights)
        last = ii + 1 == len(passes)
        dst = None
        if pingpong:
            if targets[ii] and (buf is not output or axis == buf.ndim - 1):
                dst = output
            elif not targets[ii] and spare is not None and spare is not buf:
                dst = spare
        if pingpong and ii > 0 and buf is not output:
            spare = buf  # read by this pass, free for the one after it
        if op == OP_UNIFORM and buf.dtype == np.float32 and mode in (4, 6) and \
                float(np.float32(cval)) != cval:
            # the running sum is in float64 from float32 data; a cval that float32
            # cannot hold must enter it unrounded, as SciPy's line buffer holds it
            buf = pass1d(buf.astype(np.float64), axis, op, size, origin, mode, cval)
            buf = _roundtrip(buf, np.float32) if not last else buf
            continue
        if not pingpong:
            dst = output if last and _direct(output, cdt, buf) else None
        buf = pass1d(buf, axis, op, size, origin, mode, cval, weights, sym, dst)
        if not last and output.dtype != cdt:
            buf = to_compute(_roundtrip(buf, output.dtype), cdt)
    if buf is not output:
        store(buf, output)
    return output


def true_count(footprint):
    """The footprint's true elements; one made from ``size`` (ndimage._footprint_of) is
    a read-only view of one True, counted without a loop over its elements."""
    if footprint.size and not any(footprint.strides):
        return footprint.size if footprint.flat[0] else 0
    return int(np.count_nonzero(footprint))


def fusable(p0, p1, ndim):
    """Whether the passes p0 then p1 (axis, op, size, ...) run as one sep2d call:
    along the last two axes, neither a running sum (van Herk windows go through
    pass1d's running kernel)."""
    (a0, op0, K0, *_), (a1, op1, K1, *_) = p0, p1
    return (a0 == ndim - 2 and a1 == ndim - 1 and OP_UNIFORM not in (op0, op1)
            and (op0 == OP_CORR or K0 < VAN_HERK_FROM) and (op1 == OP_CORR or K1 < VAN_HERK_FROM))


def fused2_halo(main, halo, p0, p1):
    """The passes p0 then p1 (axis, op, size, origin, mode, cval, weights) along
    the two axes of the 2-D block ``main`` (float32/float64, C-contiguous) given
    with its halo ``(top, bottom, left, right)`` (``sep2d_halo``: the padding
    modes are not used, the halo holds the padding), as a new array: the values
    and bits of ``run_passes`` on the whole array, for a dask chunk.  The caller
    checks ``fusable``."""
    (_, op0, K0, *_r0, w0), (_, op1, K1, *_r1, w1) = p0, p1
    ws = _pass_weights(((op0, w0), (op1, w1)), main.dtype)
    out = _alloc.empty(main.shape, main.dtype)
    top, bottom, left, right = (to_compute(h, main.dtype) for h in halo)
    _filter_kernels.sep2d_halo(to_compute(main, main.dtype), top, bottom, left, right, out,
                               op0, ws[0][0], ws[0][1], K0, op1, ws[1][0], ws[1][1], K1,
                               _level(), team(main.size * (K0 + K1)))
    return out


def _pass_weights(passes, dtype):
    """(weights in ``dtype``, SciPy's symmetry code) of each (op, weights) pass of a
    fused call; a minimum/maximum pass has none."""
    return [(to_compute(w, dtype), weights_symmetry(w)) if op == OP_CORR
            else (np.zeros(0, dtype=dtype), 0) for op, w in passes]


def _direct(output, cdt, src):
    """Whether a kernel may write its result straight into ``output``."""
    return (output.dtype == cdt and output.flags.c_contiguous and output.flags.writeable
            and output.flags.aligned and not np.may_share_memory(output, src))


def _fused2(src, output, p0, p1):
    H, W = src.shape[-2:]
    outer = src.size // (H * W)
    (_, op0, K0, org0, mode0, cval, w0), (_, op1, K1, org1, mode1, _, w1) = p0, p1
    emap0 = extend_map(H, H + K0 - 1, K0 // 2 + org0, mode0)
    lo1 = K1 // 2 + org1
    emap1 = extend_map(W, W + K1 - 1, lo1, mode1)
    ws = _pass_weights(((op0, w0), (op1, w1)), src.dtype)
    direct = _direct(output, src.dtype, src)
    dst = output if direct else np.empty(src.shape, dtype=src.dtype)
    _filter_kernels.sep2d(src.reshape(outer, H, W), dst.reshape(outer, H, W),
                          op0, ws[0][0], ws[0][1], emap0, K0,
                          op1, ws[1][0], ws[1][1], emap1, lo1, K1, cval, _level(),
                          team(src.size * (K0 + K1)))
    if not direct:
        store(dst, output)
    return output


def _roundtrip(buf, dtype):
    tmp = np.empty(buf.shape, dtype=dtype)
    store(buf, tmp)
    return tmp


# SciPy's boundary codes as fastconv.conv's padding modes
_CONV_MODES = {0: "replicate", 1: "circular", 2: "symmetric", 3: "reflect", 4: "constant",
               5: "circular", 6: "constant"}


# below this many outputs fastconv.conv's own checks and plan cost more than the
# kernel saves (8x8 to 64x64 3x3: ~7 us slower, 128x128 ~3 us faster)
CONV_ROUTE_FROM = 1 << 14


def _conv_route(shape, fshape, origins, mode, cdt, mask):
    """The padding of a float32 2-D or 3-D correlation that fastconv.conv's
    depthwise kernels compute with the same products in the same order (and
    1.3-2x faster, docs/performance.md), or None: every weight taken (SciPy skips
    those of magnitude <= DBL_EPSILON) and the extension within one reflection or
    period of each axis, where SciPy's and NumPy's padding rules are the same."""
    if cdt != np.float32 or len(shape) not in (2, 3) or not mask.all():
        return None
    pads = []
    for n, k, o in zip(shape, fshape, origins):
        lo = k // 2 + o
        hi = k - 1 - lo
        if mode in (1, 2, 3, 5) and max(lo, hi) > n - (mode == 3):
            return None
        pads.append((lo, hi))
    return tuple(pads)


def _correlate_by_conv(src, output, footprint, pads, mode, cval, direct):
    from fastconv.conv import conv
    x = src[None, None]
    w = np.ascontiguousarray(footprint, dtype=np.float32)[None, None]
    kw = dict(padding=pads, padding_mode=_CONV_MODES[mode])
    if kw["padding_mode"] == "constant":
        kw["pad_value"] = float(cval)
    if direct:
        conv(x, w, out=output.reshape(x.shape), **kw)
    else:
        store(conv(x, w, **kw)[0, 0], output)
    return output


# the taps of small footprints (64 at most: well under 1 KiB a plan), whose NumPy
# work costs more than a small call's kernel; read-only, shared by the calls
_TAPS = BoundedCache("ndimage footprint taps", 64)
_TAPS_CACHED_UP_TO = 64


def _taps(footprint, op, cdt):
    """(mask, weights, coordinates) of a footprint's taps: those SciPy takes (for a
    correlation the weights of magnitude > DBL_EPSILON, else the True elements) in C
    order; ``coordinates`` (ndim, taps) C-contiguous per axis."""
    key = None
    if footprint.size <= _TAPS_CACHED_UP_TO:
        key = (footprint.shape, footprint.dtype.str, footprint.tobytes(), op, cdt.str)
        hit = _TAPS.get(key)
        if hit is not None:
            return hit
    if op == OP_CORR:
        mask = np.abs(footprint) > _DBL_EPSILON
        w = np.ascontiguousarray(footprint[mask], dtype=cdt)
    else:
        mask = footprint.astype(bool)
        w = np.zeros(0, dtype=cdt)
    coords = np.ascontiguousarray(np.nonzero(mask), dtype=np.intp).reshape(mask.ndim, -1)
    taps = (mask, w, coords)
    if key is not None:
        for a in taps:
            a.flags.writeable = False
        _TAPS.put(key, taps)
    return taps


def filternd(input, output, footprint, origins, mode, cval, op):
    """N-d correlation with float64 ``footprint`` weights (op 0) or minimum/maximum
    over a boolean footprint (op 1/2), input.ndim == footprint.ndim."""
    cdt = compute_dtype(input.dtype, output.dtype)
    src = to_compute(input, cdt)
    if src.size == 0:
        return output
    mask, w, coords = _taps(footprint, op, cdt)
    if op == OP_CORR:
        pads = (_conv_route(src.shape, footprint.shape, origins, mode, cdt, mask)
                if src.size >= CONV_ROUTE_FROM else None)
        if pads is not None:
            return _correlate_by_conv(src, output, footprint, pads, mode, cval,
                                      _direct(output, cdt, src))
    if coords.shape[1] == 0:
        store(np.zeros(src.shape), output)
        return output
    shape = src.shape
    fshape = footprint.shape
    nd = src.ndim
    maps, offs = [], []
    pos = 0
    for a in range(nd - 1):
        m = extend_map(shape[a], shape[a] + fshape[a] - 1, fshape[a] // 2 + origins[a], mode)
        maps.append(m)
        offs.append(pos)
        pos += m.shape[0]
    lo = fshape[-1] // 2 + origins[-1]
    lastmap = extend_map(shape[-1], shape[-1] + fshape[-1] - 1, lo, mode)
    W = shape[-1]
    R = src.size // W
    direct = _direct(output, cdt, src)
    dst = output.reshape(R, W) if direct else np.empty((R, W), dtype=cdt)
    if nd == 2:
        _filter_kernels.filter2d(src, dst, w, coords[0], coords[1], maps[0], lastmap, lo,
                                 cval, op, _level(), team(src.size * coords.shape[1]))
        if not direct:
            store(dst.reshape(shape), output)
        return output
    _filter_kernels.filternd(
        src.reshape(R, W), dst, w,
        np.ascontiguousarray(coords[:-1].T), coords[-1],
        np.asarray(shape[:-1], dtype=np.intp),
        np.concatenate(maps) if maps else np.zeros(0, dtype=np.intp),
        np.asarray(offs, dtype=np.intp), lastmap, lo, cval, op, _level(),
        team(src.size * coords.shape[1]))
    if not direct:
        store(dst.reshape(shape), output)
    return output


# ---- rank filters ------------------------------------------------------------

def _rank_maps(shape, fshape, origins, mode):
    """The boundary tables of an N-d window filter, as rank_rows takes them."""
    maps, offs = [], []
    pos = 0
    for a in range(len(shape) - 1):
        m = extend_map(shape[a], shape[a] + fshape[a] - 1, fshape[a] // 2 + origins[a], mode)
        maps.append(m)
        offs.append(pos)
        pos += m.shape[0]
    lastmap = extend_map(shape[-1], shape[-1] + fshape[-1] - 1,
                         fshape[-1] // 2 + origins[-1], mode)
    return (np.concatenate(maps) if maps else np.zeros(0, dtype=np.intp),
            np.asarray(offs, dtype=np.intp), lastmap)


def _rank_run(src, footprint, origins, mode, cval, rank):
    """The rank-th element of each window of the C-contiguous compute array
    ``src`` (float32, float64 or int64), the footprint's true elements gathered
    in C order, ``cval`` (of src's dtype) outside the array; a new array."""
    from fastconv import _rank_kernels
    dst = np.empty(src.shape, dtype=src.dtype)
    if src.size == 0:
        return dst
    coords = np.argwhere(footprint).astype(np.intp)
    maps, offs, lastmap = _rank_maps(src.shape, footprint.shape, origins, mode)
    W = src.shape[-1]
    _rank_kernels.rank_rows(
        src.reshape(-1, W), dst.reshape(-1, W), np.ascontiguousarray(coords[:, :-1]),
        np.ascontiguousarray(coords[:, -1]), np.asarray(src.shape[:-1], dtype=np.intp),
        maps, offs, lastmap, np.full(1, cval, dtype=src.dtype), int(rank),
        team(src.size * coords.shape[0]))
    return dst


def _total_order(src, cval):
    """Whether every value of the float data and cval is ordered and unsigned
    in its zeros (no NaN, no -0.0): any selection then picks SciPy's bits."""
    if src.dtype.kind != "f":
        return True
    cv = float(cval)
    if math.isnan(cv) or (cv == 0.0 and math.copysign(1.0, cv) < 0):
        return False
    if src.size == 0:
        return True
    if math.isnan(float(np.min(src))):
        return False
    zeros = src == 0
    return not (zeros.any() and np.signbit(src[zeros]).any())


# windows along the rows from this many samples on slide a sorted copy (one
# removal, one insertion an output) instead of partitioning each window
SORTED_FROM = 8


def rank_nd(input, output, footprint, origins, mode, cval, rank):
    """SciPy's N-d rank filter (NI_RankFilter): the data read as doubles (float32
    kept: the same order), cval cast to the input's type first; the selected value
    cast to the output's type.  ``mode`` is SciPy's code.

    Data without NaN and -0.0 (integers always) may take faster selections of
    the same element: a full 3x3 median (fc_rank.h) and windows along the rows
    of SORTED_FROM samples or more (a sorted window slid along the row)."""
    check_types(input, output, nd=True)
    cval = as_cval(cval)
    if input.dtype == np.float32:
        cdt = np.dtype(np.float32)
    elif input.dtype.kind in "ub" and input.dtype.itemsize == 1:
        cdt = np.dtype(np.uint8)    # compared as bytes: the same order as doubles
    else:
        cdt = np.dtype(np.float64)
    cval = c_cast_value(cval, input.dtype)
    if input.size == 0:
        return output
    full = true_count(footprint) == footprint.size and input.ndim >= 1
    lead1 = all(k == 1 for k in footprint.shape[:-2])
    med9 = (full and input.ndim >= 2 and lead1 and footprint.shape[-2:] == (3, 3)
            and rank == 4)
    rows = full and lead1 and footprint.size >= SORTED_FROM
    if not (med9 or rows) and cdt == np.uint8:
        cdt = np.dtype(np.float64)
    src = to_compute(input, cdt)
    if (med9 or rows) and src.size and _total_order(src, cval):
        if med9:
            dst = _median9(src, origins, mode, cval)
        else:
            dst = _sorted_rows(src, footprint.shape, origins, mode, cval, rank)
    else:
        dst = _rank_run(src, footprint, origins, mode, cval, rank)
    with np.errstate(invalid="ignore"):   # C's cast of an out-of-range value: silent
        store(dst, output)
    return output


def _median9(src, origins, mode, cval):
    from fastconv import _rank_kernels
    dst = np.empty(src.shape, dtype=src.dtype)
    H, W = src.shape[-2:]
    rowmap = extend_map(H, H + 2, 1 + origins[-2], mode)
    lastmap = extend_map(W, W + 2, 1 + origins[-1], mode)
    _rank_kernels.median9_rows(src.reshape(-1, W), dst.reshape(-1, W), H, rowmap, lastmap,
                               np.full(1, cval, dtype=src.dtype), team(src.size * 9))
    return dst


# windows along rows from this many samples on: a Fenwick tree over each row's
# sorted order (O(log) an output) instead of a sorted copy (O(K) moves an output)
FENWICK_FROM = 4096


# extended rows that _fenwick_rows sorts at a time (their values, order and
# positions: ~4 x 8 bytes a sample)
FENWICK_BLOCK_SAMPLES = 1 << 21


def _fenwick_rows(src, K, lastmap, cval, rank):
    """Full windows of K samples along the rows by rank_fenwick_rows: each
    extended row sorted once (stable), the window's rank-th position found in
    a tree of counts; rows in blocks of bounded memory."""
    from fastconv import _rank_kernels
    W = src.shape[-1]
    rows = src.reshape(-1, W)
    dst = np.empty(rows.shape, dtype=src.dtype)
    E = lastmap.shape[0]
    per = max(1, FENWICK_BLOCK_SAMPLES // E)
    src_idx, outside = np.maximum(lastmap, 0), lastmap < 0
    for r0 in range(0, rows.shape[0], per):
        ext = rows[r0:r0 + per][:, src_idx]
        ext[:, outside] = cval
        order = np.argsort(ext, axis=-1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(E, dtype=order.dtype)[None], -1)
        pos = np.empty((ext.shape[0], W), dtype=np.intp)
        _rank_kernels.rank_fenwick_rows(ranks.astype(np.intp, copy=False), K, int(rank), pos,
                                        team(pos.size * 3 * max(1, E.bit_length())))
        ext.sort(axis=-1, kind="stable")
        dst[r0:r0 + per] = np.take_along_axis(ext, pos, -1)
    return dst.reshape(src.shape)


def _sorted_rows(src, fshape, origins, mode, cval, rank):
    """Full windows of fshape (1, ..., 1, kh, K) or (K,) by rank_sorted_rows."""
    from fastconv import _rank_kernels
    dst = np.empty(src.shape, dtype=src.dtype)
    W = src.shape[-1]
    K = fshape[-1]
    if src.ndim >= 2 and len(fshape) >= 2:
        H, kh = src.shape[-2], fshape[-2]
        rowmap = extend_map(H, H + kh - 1, kh // 2 + origins[-2], mode)
    else:
        H, kh = 1, 1
        rowmap = np.zeros(1, dtype=np.intp)
    lastmap = extend_map(W, W + K - 1, K // 2 + origins[-1], mode)
    if kh == 1 and K >= FENWICK_FROM and src.dtype != np.uint8:
        return _fenwick_rows(src, K, lastmap, cval, rank)
    if src.dtype == np.uint8:
        _rank_kernels.rank_hist_rows(src.reshape(-1, W), dst.reshape(-1, W), H, rowmap, K,
                                     lastmap, int(cval), int(rank), team(src.size * 4 * kh))
    else:
        _rank_kernels.rank_sorted_rows(src.reshape(-1, W), dst.reshape(-1, W), H, rowmap, K,
                                       lastmap, np.full(1, cval, dtype=src.dtype), int(rank),
                                       team(src.size * 2 * kh * min(K * kh, 128)))
    return dst


def rank_1d(input, output, size, origin, mode, cval, rank):
    """SciPy's 1-D rank filter (scipy.ndimage._rank_filter_1d), taken for 1-D
    input: a window of ``size`` samples whatever the footprint's holes; float32,
    float64 and int64 data as they are, float16 through float32, every other
    integer (and bool) through int64 (uint64 wrapping, as SciPy's astype), with
    cval cast to that type the NumPy way."""
    dt = input.dtype
    if dt.kind == "f" and dt.itemsize in (4, 8) or (dt.kind == "i" and dt.itemsize == 8):
        xdt = dt.newbyteorder("=")
    elif dt.kind == "f" and dt.itemsize == 2:
        xdt = np.dtype(np.float32)
    elif dt.kind in "biu":
        xdt = np.dtype(np.int64)
    else:
        raise RuntimeError(f"Unsupported array type: input dtype {dt}")
    cval = xdt.type(cval)
    if input.dtype == np.uint64:
        src = np.ascontiguousarray(input.astype(np.int64))   # wraps, as SciPy's astype
    else:
        src = to_compute(input, xdt) if dt.kind != "b" else \
            np.ascontiguousarray(input, dtype=np.int64)
    if size >= SORTED_FROM and src.size and _total_order(src, cval):
        # (SciPy's 1-D path orders NaN and signed zeros its own way: not matched)
        dst = _sorted_rows(src, (size,), [origin], mode, cval, rank)
    else:
        dst = _rank_run(src, np.ones(size, dtype=bool), [origin], mode, cval, rank)
    np.copyto(output, dst, casting="unsafe")
    return output


# ---- generic filters -----------------------------------------------------------

# float64 window values gathered for one block of outputs: bounded whatever the
# input's size (the callable is called once an output; the gather is not the cost)
GENERIC_BLOCK_BYTES = 1 << 22


def _extended(x, fshape, origins, mode, cval, axes=None):
    """x (float64) extended along ``axes`` (all) by each axis' boundary table,
    cval (a double, not cast to the input's type, as SciPy's generic filters
    read it) where the table says -1."""
    axes = range(x.ndim) if axes is None else axes
    for a in axes:
        n, k = x.shape[a], fshape[a]
        m = extend_map(n, n + k - 1, k // 2 + origins[a], mode)
        x = np.take(x, np.maximum(m, 0), axis=a)
        out = np.flatnonzero(m < 0)
        if out.size:
            idx = [slice(None)] * x.ndim
            idx[a] = out
            x[tuple(idx)] = cval
    return x


def as_double(rv):
    """A function's result as a C double, as SciPy's PyFloat_AsDouble reads it
    (TypeError for str and bytes, which float() would parse)."""
    if rv.__class__ is float:
        return rv
    if isinstance(rv, (str, bytes, bytearray)):
        raise TypeError(f"must be real number, not {type(rv).__name__}")
    return float(rv)


def generic_nd(input, output, function, footprint, origins, mode, cval,
               extra_arguments, extra_keywords):
    """SciPy's NI_GenericFilter: ``function`` called on a float64 1-D array of
    the window's values (the footprint's true elements in C order) for each
    output in C order; each result stored in output's dtype, C-cast."""
    check_types(input, output, nd=True)
    cval = as_cval(cval)
    if input.size == 0:
        return output
    if input.ndim == 0:   # one output, its window the value itself (or nothing)
        vals = np.asarray(input, dtype=np.float64).reshape(1)[:int(footprint.sum())]
        store(np.array(as_double(function(vals, *extra_arguments, **extra_keywords))),
              output)
        return output
    x = _extended(np.asarray(input, dtype=np.float64), footprint.shape, origins, mode, cval)
    mask = footprint.astype(bool)
    T = int(mask.sum())
    windows = np.lib.stride_tricks.sliding_window_view(x, footprint.shape)
    res = np.empty(input.shape, dtype=np.float64)
    flat = res.reshape(-1)
    W = input.shape[-1]
    cols = max(1, GENERIC_BLOCK_BYTES // max(8 * T, 1))
    pos = 0
    # outputs in C order: each line of the last axis in blocks of ``cols`` outputs
    for lead in np.ndindex(*input.shape[:-1]):
        line = windows[lead]
        for c0 in range(0, W, cols):
            win = line[c0:c0 + cols]
            nb = win.shape[0]
            block = np.ascontiguousarray(win[..., mask]).reshape(nb, T)
            # iterating the block yields each row as a 1-D view: SciPy's buffer
            if extra_arguments or extra_keywords:
                vals = [as_double(function(v, *extra_arguments, **extra_keywords))
                        for v in block]
            else:
                vals = [as_double(function(v)) for v in block]
            flat[pos:pos + nb] = vals
            pos += nb
    with np.errstate(invalid="ignore"):   # a NaN into an integer: C's cast, silent
        store(res, output)
    return output


def generic_1d(input, output, function, size, axis, mode, cval, origin,
               extra_arguments, extra_keywords):
    """SciPy's NI_GenericFilter1D: for each line along ``axis`` (C order of the
    other axes), ``function(iline, oline)`` with iline the float64 line extended
    by size // 2 + origin samples before and the rest after it, oline a float64
    line (zeros) of the line's length that the function fills; output C-cast."""
    check_types(input, output)
    cval = as_cval(cval)
    if input.size == 0:
        return output
    x = np.moveaxis(np.asarray(input), axis, -1)
    n = x.shape[-1]
    lines = x.reshape(-1, n)
    res = np.zeros(lines.shape, dtype=np.float64)
    per = max(1, GENERIC_BLOCK_BYTES // (8 * (n + size - 1)))
    for l0 in range(0, lines.shape[0], per):
        block = _extended(np.asarray(lines[l0:l0 + per], dtype=np.float64),
                          (1, size), (0, origin), mode, cval, axes=(1,))
        for i in range(block.shape[0]):
            function(block[i], res[l0 + i], *extra_arguments, **extra_keywords)
    with np.errstate(invalid="ignore"):
        store(np.moveaxis(res.reshape(x.shape), -1, axis), output)
    return output
