"""Property-based fuzzing of every public array function: random shapes (size-1 axes,
kernels larger than the input, empty batches), strides, dilations, paddings, modes,
groups, dtypes and memory layouts, and hostile arguments.  Each call must either
return the reference's result or raise ``ValueError``/``TypeError``; anything else
(another exception, a crash, a modified input) fails.

Two hypothesis profiles: ``fastconv-ci`` (the default: derandomized, so CI runs the
same examples every time) and ``fastconv-long`` for a long hunt by hand::

    FASTCONV_FUZZ=long python -m pytest tests/test_fuzz.py   # 20x the examples, random seed
"""

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from pool_reference import avg_pool_ref, max_pool_ref
from reference import (
    NP_PAD_MODE,
    assert_conv_close,
    assert_unchanged,
    conv_ref,
    relayout,
    resolve_padding,
    snapshot,
    tolerance,
)

import fastconv

settings.register_profile("fastconv-ci", derandomize=True, deadline=None, max_examples=150,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fastconv-long", deadline=None, max_examples=3000,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = "fastconv-long" if os.environ.get("FASTCONV_FUZZ") == "long" else "fastconv-ci"
fuzz = settings.get_profile(PROFILE)

ERRORS = (ValueError, TypeError)
LAYOUTS = ["c", "fortran", "negative", "strided", "bigendian", "readonly", "misaligned"]
DTYPES = [np.float32, np.float64, np.float16, np.int16, np.int64, np.uint8, np.bool_]
MODES = list(NP_PAD_MODE)


def _outcome(fn, *args, **kwargs):
    """('ok', result) or ('error', exc) for ValueError/TypeError; anything else propagates."""
    try:
        return "ok", fn(*args, **kwargs)
    except ERRORS as exc:
        return "error", exc


def _values(rng, shape, dtype):
    """Small integers (exact in every dtype) in ``dtype``."""
    if np.dtype(dtype) == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    lo = 0 if np.dtype(dtype).kind == "u" else -4
    return rng.integers(lo, 5, shape).astype(dtype)


@st.composite
def conv_problem(draw):
    """Any geometry, valid or not: the reference decides what the answer is."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    cg, mg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = draw(st.one_of(
        st.sampled_from(["valid", "same", "full"]),
        st.integers(0, 4),
        st.tuples(*[st.tuples(st.integers(0, 9), st.integers(0, 9)) for _ in range(nd)])))
    return dict(
        x_shape=(draw(st.integers(0, 2)), groups * cg) + n, w_shape=(groups * mg, cg) + k,
        params=dict(stride=stride, dilation=dilation, padding=padding, groups=groups,
                    padding_mode=draw(st.sampled_from(MODES)), flip=draw(st.booleans())),
        dtypes=(draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES))),
        layout=draw(st.sampled_from(LAYOUTS)), bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)))


def _ref_or_none(x, w, b, params):
    """The reference result, or None where the geometry has no output (an empty axis)."""
    pairs = resolve_padding(params["padding"], x.shape[2:], w.shape[2:],
                            params["stride"], params["dilation"])
    for n, k, d, (lo, hi) in zip(x.shape[2:], w.shape[2:], params["dilation"], pairs):
        if n + lo + hi < d * (k - 1) + 1:
            return None
    return conv_ref(x, w, b, **params)


@fuzz
@given(conv_problem())
def test_fuzz_conv_forward_and_gradients(prob):
    rng = np.random.default_rng(prob["seed"])
    dx, dw = prob["dtypes"]
    x0 = _values(rng, prob["x_shape"], dx)
    w0 = _values(rng, prob["w_shape"], dw)
    b0 = _values(rng, prob["w_shape"][:1], dw) if prob["bias"] else None
    x, w = relayout(x0, prob["layout"]), relayout(w0, prob["layout"])
    b = None if b0 is None else relayout(b0, prob["layout"])
    snaps = snapshot(x, w, b)
    p = prob["params"]
    ref = _ref_or_none(x0, w0, b0, p)
    kind, y = _outcome(fastconv.conv, x, w, b, **p)
    assert_unchanged([x, w, b], snaps)
    if ref is None or x0.shape[0] == 0:
        # no output element (an empty spatial axis or an empty batch): a clear error
        # or an empty result of the right shape, never a crash
        if kind == "ok":
            assert y.size == 0
        return
    assert kind == "ok", f"rejected a valid problem: {y!r}"
    dt = np.result_type(dx, dw, np.float32)
    dt = np.float32 if dt == np.float16 else dt
    assert y.dtype == dt
    # small integers: exact in float64; float32 within the bound (K can exceed 2^24 / 16)
    assert_conv_close(y, ref, tolerance(x0, w0, b0, dtype=dt, **p), dtype=dt)
    # the gradients of the same layer: adjoint identities against the forward
    gy = _values(rng, y.shape, dt).astype(dt)
    gx = fastconv.conv_input_grad(gy, w, x.shape, **p)
    gw = fastconv.conv_weight_grad(x, gy, w.shape, **p)
    assert_unchanged([x, w, b], snaps)
    assert gx.shape == x.shape and gw.shape == w.shape
    # <conv(x, w), gy> = <x, gx> = <w, gw> (no bias term): exact on small integers in float64
    lhs = float(np.sum((ref - (0 if b0 is None else b0.astype(np.float64).reshape(
        (1, -1) + (1,) * (x.ndim - 2)))) * gy, dtype=np.float64))
    if dt == np.float64 and abs(lhs) < 2**50:
        assert float(np.sum(x0.astype(np.float64) * gx)) == lhs
        assert float(np.sum(w0.astype(np.float64) * gw)) == lhs


@st.composite
def pool_problem(draw):
    nd = draw(st.integers(1, 3))
    n = tuple(draw(st.integers(1, 7)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3) for _ in range(nd)])))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(nd))
    return dict(x_shape=(draw(st.integers(0, 2)), draw(st.integers(1, 3))) + n, kernel=k,
                stride=stride, padding=padding,
                dilation=tuple(draw(st.integers(1, 3)) for _ in range(nd)),
                ceil_mode=draw(st.booleans()), count_include_pad=draw(st.booleans()),
                divisor=draw(st.one_of(st.none(), st.integers(1, 5))),
                dtype=draw(st.sampled_from([np.float32, np.float64])),
                layout=draw(st.sampled_from(LAYOUTS)), seed=draw(st.integers(0, 2**32 - 1)))


def _torch_pool(torch, op, x, prob):
    """PyTorch's answer (the semantics fastconv follows), or the exception it raises."""
    F = torch.nn.functional
    nd = len(prob["kernel"])
    t = torch.from_numpy(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("=")))
    stride = prob["stride"] or prob["kernel"]
    try:
        if op == "max":
            fn = getattr(F, f"max_pool{nd}d")
            return fn(t, prob["kernel"], stride, prob["padding"], prob["dilation"],
                      ceil_mode=prob["ceil_mode"]).numpy()
        fn = getattr(F, f"avg_pool{nd}d")
        kw = dict(ceil_mode=prob["ceil_mode"], count_include_pad=prob["count_include_pad"],
                  divisor_override=prob["divisor"])
        if nd == 1:
            kw.pop("divisor_override")
        return fn(t, prob["kernel"], stride, prob["padding"], **kw).numpy()
    except (RuntimeError, ValueError) as exc:
        return exc


@fuzz
@given(pool_problem(), st.sampled_from(["max", "avg"]))
def test_fuzz_pooling(prob, op):
    rng = np.random.default_rng(prob["seed"])
    x0 = rng.integers(-9, 10, prob["x_shape"]).astype(prob["dtype"])
    x = relayout(x0, prob["layout"])
    snaps = snapshot(x)
    stride = prob["stride"]
    if op == "max":
        kind, y = _outcome(fastconv.max_pool, x, prob["kernel"], stride, prob["padding"],
                           prob["dilation"], ceil_mode=prob["ceil_mode"])
    else:
        if len(prob["kernel"]) == 1 and prob["divisor"] is not None:
            return  # PyTorch's avg_pool1d has no divisor_override: no oracle
        kind, y = _outcome(fastconv.avg_pool, x, prob["kernel"], stride, prob["padding"],
                           ceil_mode=prob["ceil_mode"],
                           count_include_pad=prob["count_include_pad"],
                           divisor_override=prob["divisor"])
    assert_unchanged([x], snaps)
    torch = pytest.importorskip("torch") if kind == "ok" else None
    if kind == "error":
        return  # a clear error: torch's view of validity is checked where torch is present
    # a result: it must be the reference's (and PyTorch's, which fastconv follows)
    s = stride or prob["kernel"]
    if op == "max":
        ref = max_pool_ref(x0, prob["kernel"], s, prob["padding"], prob["dilation"],
                           prob["ceil_mode"])[0]
    else:
        ref = avg_pool_ref(x0, prob["kernel"], s, prob["padding"], prob["ceil_mode"],
                           prob["count_include_pad"], prob["divisor"])
    assert y.shape == ref.shape
    if op == "max":
        assert_array_equal(y, ref)
    else:
        np.testing.assert_allclose(y, ref, rtol=4 * np.finfo(prob["dtype"]).eps, atol=0)
    if torch is not None and x0.shape[0] > 0:
        t = _torch_pool(torch, op, x0, prob)
        assert not isinstance(t, Exception), f"fastconv accepted what PyTorch rejects: {t}"
        np.testing.assert_allclose(y, t, rtol=4 * np.finfo(prob["dtype"]).eps, atol=0)


@fuzz
@given(pool_problem(), st.sampled_from(["max", "avg"]))
def test_fuzz_pooling_rejects_what_pytorch_rejects(prob, op):
    """Validity agrees with PyTorch's both ways (fastconv speaks its vocabulary)."""
    torch = pytest.importorskip("torch")
    if prob["x_shape"][0] == 0 or (op == "avg" and len(prob["kernel"]) == 1
                                   and prob["divisor"] is not None):
        return
    x = np.random.default_rng(prob["seed"]).standard_normal(prob["x_shape"]).astype(
        prob["dtype"])
    if op == "max":
        kind, res = _outcome(fastconv.max_pool, x, prob["kernel"], prob["stride"],
                             prob["padding"], prob["dilation"], ceil_mode=prob["ceil_mode"])
        if kind == "error" and "lies entirely in the padding" in str(res):
            # a deliberate difference: PyTorch returns -inf and an index outside the
            # input for such a window; fastconv refuses the geometry instead
            t = _torch_pool(torch, op, x, prob)
            assert isinstance(t, Exception) or np.isneginf(t).any()
            return
    else:
        kind, _ = _outcome(fastconv.avg_pool, x, prob["kernel"], prob["stride"],
                           prob["padding"], ceil_mode=prob["ceil_mode"],
                           count_include_pad=prob["count_include_pad"],
                           divisor_override=prob["divisor"])
    t = _torch_pool(torch, op, x, prob)
    if (op == "avg" and len(prob["kernel"]) == 3 and kind == "ok"
            and "smaller than kernel size" in str(t)):
        # PyTorch's avg_pool3d alone rejects an input smaller than the kernel even where
        # its output size formula (ceil_mode) gives windows; its avg_pool1d/2d and every
        # max_pool accept the same geometry, and fastconv answers as they do
        return
    assert (kind == "error") == isinstance(t, Exception), (kind, t)


# --------------------------------------------------------------------------- hostile arguments

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 6), st.sampled_from([2**31, 2**63, 10**9, -2**63]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
    st.sampled_from([np.int64(2), np.float32(1.5), np.bool_(True), np.array(2), np.array([1, 2]),
                     (1,), (1, 2, 3, 4), ((1, 2),), ((1, 2, 3),), [], "same", "valid", "full",
                     "zeros", "reflect", object(), 1j]))

CALLS = {
    "conv": lambda x, w, a: fastconv.conv(x, w, **a),
    "conv_input_grad": lambda x, w, a: fastconv.conv_input_grad(x, w, x.shape, **a),
    "conv_weight_grad": lambda x, w, a: fastconv.conv_weight_grad(x, x, w.shape, **a),
    "conv_transpose": lambda x, w, a: fastconv.conv_transpose(
        x, np.ones((x.shape[1],) + w.shape[1:], w.dtype),
        **{k: v for k, v in a.items() if k not in ("padding_mode", "flip")}),
    "max_pool": lambda x, w, a: fastconv.max_pool(x, a.get("stride"), a.get("dilation"),
                                                  a.get("padding", 0)),
    "avg_pool": lambda x, w, a: fastconv.avg_pool(x, a.get("stride"), a.get("dilation"),
                                                  a.get("padding", 0)),
}


@fuzz
@given(st.sampled_from(sorted(CALLS)),
       st.dictionaries(st.sampled_from(["stride", "padding", "dilation", "groups",
                                        "padding_mode", "flip"]), HOSTILE, max_size=4),
       st.integers(1, 3))
def test_fuzz_hostile_arguments(name, args, nd):
    """Garbage in any keyword: a result or a ValueError/TypeError, never anything else."""
    x = np.ones((1, 2) + (5,) * nd, np.float32)
    w = np.ones((2, 2) + (3,) * nd, np.float32)
    kind, y = _outcome(CALLS[name], x, w, args)
    if kind == "ok":
        assert isinstance(y, np.ndarray) and np.all(np.isfinite(y))
        assert all(0 <= s < 10**4 for s in y.shape)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("bad", [None, "abc", object(), np.ones((2, 2), dtype=complex),
                                 np.array(["a"]), np.ones(3, dtype="datetime64[s]")])
def test_non_numeric_arrays_raise_type_error(name, bad):
    w = np.ones((2, 2, 3), np.float32)
    calls = {
        "conv": lambda: fastconv.conv(bad, w),
        "conv_input_grad": lambda: fastconv.conv_input_grad(bad, w, (1, 2, 5)),
        "conv_weight_grad": lambda: fastconv.conv_weight_grad(bad, bad, w.shape),
        "conv_transpose": lambda: fastconv.conv_transpose(bad, w),
        "max_pool": lambda: fastconv.max_pool(bad, 2),
        "avg_pool": lambda: fastconv.avg_pool(bad, 2),
    }
    with pytest.raises(ERRORS):
        calls[name]()
    with pytest.raises(ERRORS):   # and as the weight
        fastconv.conv(np.ones((1, 2, 5), np.float32), bad)


def test_huge_parameters_raise_before_allocating():
    """Sizes whose products overflow 64-bit index arithmetic: a ValueError, not a
    MemoryError or a wrapped-around size."""
    x = np.ones((1, 1, 5), np.float32)
    w = np.ones((1, 1, 3), np.float32)
    for kwargs in (dict(padding=2**62), dict(dilation=2**62), dict(stride=2**63),
                   dict(padding=((0, 2**63),))):
        with pytest.raises(ValueError):
            fastconv.conv(x, w, **kwargs)
    # a broadcast input of 2**42 elements: a copy would need 16 TiB
    big = np.broadcast_to(np.float32(1), (2**20, 2**20, 4))
    with pytest.raises(ValueError, match="x"):
        fastconv.conv(big, np.ones((1, 2**20, 3), np.float32))
    with pytest.raises(ValueError):
        fastconv.max_pool(np.ones((1, 1, 5)), 3, padding=2**62)
    assert math.isfinite(float(fastconv.conv(x, w).sum()))


# --------------------------------------------------------------------------- ndimage

ND_MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-wrap", "grid-constant",
            "grid-mirror"]
ND_EXACT = ["correlate1d", "correlate", "convolve", "minimum_filter", "maximum_filter",
            "maximum_filter1d", "minimum_filter1d"]
ND_ROUNDED = ["uniform_filter", "uniform_filter1d"]


@st.composite
def ndimage_problem(draw):
    nd = draw(st.integers(1, 3))
    op = draw(st.sampled_from(ND_EXACT + ND_ROUNDED))
    size = draw(st.integers(1, 6))
    return dict(
        shape=tuple(draw(st.integers(1, 7)) for _ in range(nd)), op=op, size=size,
        mode=draw(st.sampled_from(ND_MODES)), axis=draw(st.integers(-nd, nd - 1)),
        origin=draw(st.integers(-(size // 2), (size - 1) // 2)),
        cval=draw(st.sampled_from([0.0, -2.0, 3.5])),
        dtype=draw(st.sampled_from([np.float32, np.float64] if op in ND_ROUNDED
                                   else [np.float32, np.float64, np.int16, np.uint8])),
        layout=draw(st.sampled_from(LAYOUTS)), seed=draw(st.integers(0, 2**16)))


def _ndimage_call(mod, p, x):
    rng = np.random.default_rng(p["seed"] + 1)
    kw = dict(mode=p["mode"], cval=p["cval"], origin=p["origin"])
    op, size, nd = p["op"], p["size"], len(p["shape"])
    if op == "correlate1d":
        return mod.correlate1d(x, rng.integers(-3, 4, size).astype(float), p["axis"], **kw)
    if op in ("correlate", "convolve"):
        w = rng.integers(-3, 4, (size,) * nd).astype(float)
        if op == "convolve":      # convolve's origin range is the mirrored one
            kw["origin"] = -p["origin"] - (1 - size % 2)
        return getattr(mod, op)(x, w, **kw)
    if op.endswith("1d"):
        return getattr(mod, op)(x, size, p["axis"], **kw)
    return getattr(mod, op)(x, size, **kw)


@fuzz
@given(ndimage_problem())
def test_fuzz_ndimage_against_scipy(p):
    """fastconv.ndimage on random shapes, sizes, origins, modes, dtypes and layouts
    gives SciPy's result: exactly for small-integer correlations and min/max (no
    rounding), within a few ulps for the means; the input is unmodified."""
    snd = pytest.importorskip("scipy.ndimage")
    from fastconv import ndimage as fnd
    x = _values(np.random.default_rng(p["seed"]), p["shape"], p["dtype"])
    xl = relayout(x, p["layout"])
    before = snapshot(xl)
    want = _ndimage_call(snd, p, x)
    got = _ndimage_call(fnd, p, xl)
    assert_unchanged([xl], before)
    assert got.dtype == want.dtype and got.shape == want.shape
    if p["op"] in ND_ROUNDED:
        ulp = np.finfo(want.dtype).eps
        np.testing.assert_allclose(got, want, rtol=8 * ulp, atol=8 * ulp * 4)
    else:
        assert_array_equal(got, want)
