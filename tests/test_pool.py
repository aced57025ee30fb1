"""Tests of fastconv.pool: NumPy reference, PyTorch oracle, gradients, bad input."""

import doctest

import numpy as np
import pytest
from pool_reference import avg_pool_ref, max_pool_backward_ref, max_pool_ref

import fastconv._config
import fastconv._shapes
import fastconv.pool
from fastconv._config import get_num_threads, set_num_threads
from fastconv.pool import (
    avg_pool,
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool3d,
    avg_pool_backward,
    max_pool,
    max_pool1d,
    max_pool1d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_pool3d,
    max_pool_backward,
)

EPS32 = 2.0 ** -24


def random_config(rng, nd, allow_dilation=True):
    """A random valid pooling configuration (kernel, stride, padding, dilation, ceil)."""
    while True:
        spatial = tuple(int(v) for v in rng.integers(1, 9, size=nd))
        k = tuple(int(v) for v in rng.integers(1, 5, size=nd))
        s = tuple(int(v) for v in rng.integers(1, 4, size=nd))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        d = tuple(int(v) for v in rng.integers(1, 4 if allow_dilation else 2, size=nd))
        ceil = bool(rng.integers(2))
        try:
            max_pool(np.zeros((1, 1) + spatial), k, s, p, d, ceil)
        except ValueError:
            continue
        return spatial, k, s, p, d, ceil


def layouts(x):
    """The same values in several memory layouts."""
    yield "C", x
    yield "F", np.asfortranarray(x)
    flipped = np.ascontiguousarray(x[..., ::-1])
    yield "negative strides", flipped[..., ::-1]
    big = x.astype(x.dtype.newbyteorder(">"))
    yield "big-endian", big
    ro = x.copy()
    ro.flags.writeable = False
    yield "read-only", ro
    buf = np.zeros(x.nbytes + 1, dtype=np.uint8)
    mis = buf[1:].view(x.dtype).reshape(x.shape)
    mis[...] = x
    yield "misaligned", mis


def test_doctests():
    for mod in (fastconv._shapes, fastconv.pool):
        failures, _ = doctest.testmod(mod)
        assert failures == 0


# ---------------------------------------------------------------- NumPy reference

@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_matches_reference(nd):
    rng = np.random.default_rng(nd)
    for _ in range(40):
        spatial, k, s, p, d, ceil = random_config(rng, nd)
        # integer-valued data: many ties; a few -inf and NaN
        x = rng.integers(-3, 4, size=(2, 3) + spatial).astype(np.float64)
        x[rng.random(x.shape) < 0.05] = -np.inf
        x[rng.random(x.shape) < 0.03] = np.nan
        ref_v, ref_i = max_pool_ref(x, k, s, p, d, ceil)
        for dtype in (np.float64, np.float32):
            y, ind = max_pool(x.astype(dtype), k, s, p, d, ceil, return_indices=True)
            assert y.dtype == dtype and ind.dtype == np.int64
            np.testing.assert_array_equal(y, ref_v.astype(dtype))
            np.testing.assert_array_equal(ind, ref_i)
            np.testing.assert_array_equal(max_pool(x.astype(dtype), k, s, p, d, ceil), y)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_matches_reference(nd):
    rng = np.random.default_rng(10 + nd)
    for _ in range(40):
        spatial, k, s, p, _, ceil = random_config(rng, nd, allow_dilation=False)
        cip = bool(rng.integers(2))
        div = [None, None, int(rng.integers(1, 10))][rng.integers(3)]
        x = rng.standard_normal((2, 3) + spatial)
        ref = avg_pool_ref(x, k, s, p, ceil, cip, div)
        y64 = avg_pool(x, k, s, p, ceil, cip, div)
        scale = avg_pool_ref(np.abs(x), k, s, p, ceil, cip, div)
        K = int(np.prod(k))
        assert np.all(np.abs(y64 - ref) <= 2 * K * 2.0 ** -53 * scale + 1e-300)
        y32 = avg_pool(x.astype(np.float32), k, s, p, ceil, cip, div)
        assert y32.dtype == np.float32
        ref32 = avg_pool_ref(x.astype(np.float32), k, s, p, ceil, cip, div)
        assert np.all(np.abs(y32 - ref32) <= (K + 1) * EPS32 * scale)


def test_avg_pool_large_window_float32_accumulates_in_double():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((2, 2, 64, 64)) * 1e3 + 1e4).astype(np.float32)
    y = avg_pool2d(x, 32)
    ref = avg_pool_ref(x, (32, 32), (32, 32), (0, 0), False, True, None)
    # correctly rounded but for the final division: within 1 ulp
    np.testing.assert_array_max_ulp(y, ref.astype(np.float32), maxulp=1)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.uint8, np.bool_, np.int64])
def test_dtype_promotion(dtype):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(2, 3, 6, 5)).astype(dtype)
    expected = np.result_type(dtype, np.float32)
    y, ind = max_pool2d(x, 2, return_indices=True)
    assert y.dtype == expected
    ref_v, ref_i = max_pool_ref(x.astype(np.float64), (2, 2), (2, 2), (0, 0), (1, 1), False)
    np.testing.assert_array_equal(y, ref_v)
    np.testing.assert_array_equal(ind, ref_i)
    a = avg_pool2d(x, 3, 1, 1)
    assert a.dtype == expected
    ref = avg_pool_ref(x.astype(np.float64), (3, 3), (1, 1), (1, 1), False, True, None)
    np.testing.assert_allclose(a, ref, rtol=4 * np.finfo(expected).eps)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_layouts_give_identical_results(nd):
    rng = np.random.default_rng(20 + nd)
    spatial, k, s, p, d, ceil = random_config(rng, nd)
    x = rng.standard_normal((2, 3) + spatial).astype(np.float32)
    y0, i0 = max_pool(x, k, s, p, d, ceil, return_indices=True)
    a0 = avg_pool(x, k, s, p, ceil)
    g = rng.standard_normal(y0.shape).astype(np.float32)
    ga = rng.standard_normal(a0.shape).astype(np.float32)
    gm0 = max_pool_backward(g, i0, x.shape)
    ga0 = avg_pool_backward(ga, x.shape, k, s, p, ceil)
    for name, xl in layouts(x):
        before = xl.copy()
        y, i = max_pool(xl, k, s, p, d, ceil, return_indices=True)
        assert np.array_equal(y, y0) and np.array_equal(i, i0), name
        assert np.array_equal(avg_pool(xl, k, s, p, ceil), a0), name
        np.testing.assert_array_equal(xl, before)
    for name, gl in layouts(g):
        assert np.array_equal(max_pool_backward(gl, i0, x.shape), gm0), name
    for name, gl in layouts(ga):
        assert np.array_equal(avg_pool_backward(gl, x.shape, k, s, p, ceil), ga0), name
    for name, il in layouts(i0):
        assert np.array_equal(max_pool_backward(g, il, x.shape), gm0), name


def test_unbatched_and_fixed_rank_forms():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 7, 9))
    y, i = max_pool2d(x, 3, 2, 1, return_indices=True)
    yb, ib = max_pool2d(x[None], 3, 2, 1, return_indices=True)
    assert y.shape == yb.shape[1:] and np.array_equal(y, yb[0]) and np.array_equal(i, ib[0])
    np.testing.assert_array_equal(max_pool2d_backward(np.ones_like(y), i, x.shape),
                                  max_pool_backward(np.ones_like(yb), ib, (1,) + x.shape)[0])
    # generic form with a tuple kernel: rank 2, unbatched
    np.testing.assert_array_equal(max_pool(x, (3, 3), 2, 1), y)
    np.testing.assert_array_equal(avg_pool2d(x, 2), avg_pool(x[None], 2)[0])
    # generic form with an int kernel: rank x.ndim - 2 (batched 1-d)
    np.testing.assert_array_equal(max_pool(x, 3), max_pool1d(x, 3))
    g = avg_pool2d_backward(np.ones((4, 3, 4)), x.shape, 2)
    np.testing.assert_array_equal(g[:, :6, :8], 0.25)
    assert avg_pool3d(rng.standard_normal((2, 4, 4, 4)), 2).shape == (2, 2, 2, 2)
    assert max_pool3d(rng.standard_normal((1, 2, 4, 4, 4)), (2, 1, 2)).shape == (1, 2, 2, 4, 2)
    yi, ii = max_pool1d(rng.standard_normal((3, 10)), 3, return_indices=True)
    assert max_pool1d_backward(np.ones_like(yi), ii, (3, 10)).sum() == yi.size


def test_empty_batch():
    x = np.zeros((0, 3, 8, 8), np.float32)
    y, i = max_pool2d(x, 2, return_indices=True)
    assert y.shape == (0, 3, 4, 4) and i.shape == (0, 3, 4, 4)
    assert avg_pool2d(x, 2).shape == (0, 3, 4, 4)
    g = max_pool_backward(y, i, x.shape)
    assert g.shape == x.shape and g.dtype == np.float32
    assert avg_pool_backward(y, x.shape, 2).shape == x.shape
    # empty channels but non-empty batch: zero-filled gradient of the right shape
    g = max_pool_backward(np.zeros((2, 0, 4, 4)), np.zeros((2, 0, 4, 4), np.int64), (2, 0, 8, 8))
    assert g.shape == (2, 0, 8, 8)


def test_all_minus_inf_window_gives_valid_index():
    x = np.full((1, 1, 4, 4), -np.inf)
    y, i = max_pool2d(x, 3, 2, 1, return_indices=True)
    assert np.all(y == -np.inf)
    np.testing.assert_array_equal(i, [[[[0, 1], [4, 5]]]])


# ---------------------------------------------------------------- gradients

def test_avg_backward_finite_differences():
    rng = np.random.default_rng(7)
    for nd in (1, 2, 3):
        for _ in range(4):
            spatial, k, s, p, _, ceil = random_config(rng, nd, allow_dilation=False)
            cip = bool(rng.integers(2))
            div = [None, 3][rng.integers(2)]
            x = rng.standard_normal((1, 2) + spatial)
            g = rng.standard_normal(avg_pool(x, k, s, p, ceil, cip, div).shape)
            gx = avg_pool_backward(g, x.shape, k, s, p, ceil, cip, div)
            h = 1e-6
            for _ in range(5):
                e = rng.standard_normal(x.shape)
                fd = (np.vdot(g, avg_pool(x + h * e, k, s, p, ceil, cip, div))
                      - np.vdot(g, avg_pool(x - h * e, k, s, p, ceil, cip, div))) / (2 * h)
                assert abs(fd - np.vdot(gx, e)) <= 1e-7 * (1 + abs(fd))
            # the map is linear: the adjoint identity holds to rounding
            e = rng.standard_normal(x.shape)
            lhs = np.vdot(avg_pool(e, k, s, p, ceil, cip, div), g)
            assert abs(lhs - np.vdot(e, gx)) <= 1e-12 * (1 + np.abs(g).sum() * np.abs(e).max())


def test_max_backward_matches_reference_and_adjoint():
    rng = np.random.default_rng(8)
    for nd in (1, 2, 3):
        for _ in range(6):
            spatial, k, s, p, d, ceil = random_config(rng, nd)
            x = rng.standard_normal((2, 2) + spatial)
            y, ind = max_pool(x, k, s, p, d, ceil, return_indices=True)
            g = rng.integers(-4, 5, size=y.shape).astype(np.float64)
            gx = max_pool_backward(g, ind, x.shape)
            np.testing.assert_array_equal(gx, max_pool_backward_ref(g, ind, x.shape))
            # adjoint of the linearisation y(x + t e) = y + t e[ind] (distinct values)
            e = rng.standard_normal(x.shape)
            e_at = np.take_along_axis(e.reshape(4, -1), ind.reshape(4, -1), 1)
            assert np.isclose(np.vdot(gx, e), np.vdot(g.reshape(4, -1), e_at), rtol=1e-12)
            # and it is the directional derivative
            h = 1e-7
            fd = (np.vdot(g, max_pool(x + h * e, k, s, p, d, ceil))
                  - np.vdot(g, max_pool(x - h * e, k, s, p, d, ceil))) / (2 * h)
            assert abs(fd - np.vdot(gx, e)) <= 1e-6 * (1 + abs(fd))


def test_caller_indices_are_checked():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    y, ind = max_pool2d(x, 2, return_indices=True)
    g = np.ones_like(y)
    for bad in (-1, 16, 2**40, -2**62):
        b = ind.copy()
        b[1, 2, 0, 1] = bad
        with pytest.raises(ValueError, match="indices"):
            max_pool_backward(g, b, x.shape)
    with pytest.raises(ValueError, match="indices"):
        max_pool_backward(g, np.full(y.shape, 2**64 - 1, dtype=np.uint64), x.shape)
    with pytest.raises(TypeError, match="indices"):
        max_pool_backward(g, ind.astype(np.float64), x.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_does_not_change_bits(dtype):
    from fastconv._pool_plan import _POOL_GRAIN
    rng = np.random.default_rng(9)
    # above the grain: two threads really run (smaller calls run on one)
    x = rng.standard_normal((3, 5, 133, 147)).astype(dtype)
    assert x.size >= _POOL_GRAIN
    old = get_num_threads()

    def run():
        y, i = max_pool2d(x, 3, 2, 1, return_indices=True)
        y2, i2 = max_pool2d(x, 2, return_indices=True)
        g = rng.standard_normal(y.shape).astype(dtype)
        return [y, i, y2, i2, max_pool2d(x, 2), avg_pool2d(x, 3, 1, 1),
                avg_pool2d(x, 7, 2, 3, True, False),
                max_pool_backward(g, i, x.shape), avg_pool2d_backward(g, x.shape, 3, 2, 1)]

    try:
        set_num_threads(1)
        state = rng.bit_generator.state
        one = run()
        set_num_threads(2)
        rng.bit_generator.state = state
        two = run()
    finally:
        set_num_threads(old)
    for a, b in zip(one, two):
        assert a.tobytes() == b.tobytes()


# ---------------------------------------------------------------- bad input

_X = np.zeros((1, 2, 6, 6))


@pytest.mark.parametrize("call, exc, name", [
    (lambda: max_pool2d(_X, 0), ValueError, "kernel_size"),
    (lambda: max_pool2d(_X, -1), ValueError, "kernel_size"),
    (lambda: max_pool2d(_X, (2, 2, 2)), ValueError, "kernel_size"),
    (lambda: max_pool2d(_X, 1.5), TypeError, "kernel_size"),
    (lambda: max_pool2d(_X, "2"), TypeError, "kernel_size"),
    (lambda: max_pool2d(_X, True), TypeError, "kernel_size"),
    (lambda: max_pool2d(_X, None), TypeError, "kernel_size"),
    (lambda: max_pool2d(_X, 7), ValueError, "kernel_size"),
    (lambda: max_pool2d(_X, 2, stride=0), ValueError, "stride"),
    (lambda: max_pool2d(_X, 2, stride=(1,)), ValueError, "stride"),
    (lambda: max_pool2d(_X, 2, stride=1.0), TypeError, "stride"),
    (lambda: max_pool2d(_X, 2, padding=-1), ValueError, "padding"),
    (lambda: max_pool2d(_X, 2, padding=2), ValueError, "padding"),
    (lambda: max_pool2d(_X, 3, padding=(1, 2)), ValueError, "padding"),
    (lambda: max_pool2d(_X, 2, dilation=0), ValueError, "dilation"),
    (lambda: max_pool2d(_X, 2, dilation=True), TypeError, "dilation"),
    (lambda: max_pool1d(np.zeros((1, 1, 2)), 2, 1, 1, 3), ValueError, "padding"),
    (lambda: max_pool2d(_X, 2, ceil_mode=1), TypeError, "ceil_mode"),
    (lambda: max_pool2d(_X, 2, return_indices="yes"), TypeError, "return_indices"),
    (lambda: max_pool2d(None, 2), TypeError, "x"),
    (lambda: max_pool2d(_X.astype(complex), 2), TypeError, "x"),
    (lambda: max_pool2d(np.array([[["a"]]], dtype=object), 1), TypeError, "x"),
    (lambda: max_pool2d(np.zeros((2, 2)), 1), ValueError, "x"),
    (lambda: max_pool(np.zeros((2, 2)), 1), ValueError, "x"),
    (lambda: max_pool(np.zeros((1, 1, 2, 2, 2, 2)), 1), ValueError, "x"),
    (lambda: max_pool(_X, (2, 2, 2, 2)), ValueError, "kernel_size"),
    (lambda: avg_pool2d(_X, 2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: avg_pool2d(_X, 2, divisor_override=-3), ValueError, "divisor_override"),
    (lambda: avg_pool2d(_X, 2, divisor_override=2.0), TypeError, "divisor_override"),
    (lambda: avg_pool2d(_X, 2, count_include_pad=None), TypeError, "count_include_pad"),
    (lambda: avg_pool2d(_X, 3, padding=2), ValueError, "padding"),
    (lambda: avg_pool2d(_X, 2, stride=-2), ValueError, "stride"),
    (lambda: max_pool_backward(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 2), np.int64),
                               _X.shape), ValueError, "grad_output"),
    (lambda: max_pool_backward(np.zeros((1, 3, 3, 3)), np.zeros((1, 3, 3, 3), np.int64),
                               _X.shape), ValueError, "input_shape"),
    (lambda: max_pool_backward(None, np.zeros((1, 2, 3, 3), np.int64), _X.shape),
     TypeError, "grad_output"),
    (lambda: max_pool_backward(np.zeros((1, 2, 3, 3)), None, _X.shape), TypeError, "indices"),
    (lambda: max_pool_backward(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 3), np.int64), None),
     TypeError, "input_shape"),
    (lambda: max_pool_backward(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 3), np.int64),
                               (1, 2, 6, -6)), ValueError, "input_shape"),
    (lambda: max_pool_backward(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 3), np.int64),
                               (1, 2, 6, 6), spatial_ndim=4), ValueError, "spatial_ndim"),
    (lambda: avg_pool_backward(np.zeros((1, 2, 3, 2)), _X.shape, 2), ValueError, "grad_output"),
    (lambda: avg_pool_backward(np.zeros((1, 2, 3, 3)), "abc", 2), TypeError, "input_shape"),
    (lambda: avg_pool_backward(np.zeros((1, 2, 3, 3)), (1, 2, 6, 6.0), 2), TypeError,
     "input_shape"),
])
def test_bad_input(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


# ---------------------------------------------------------------- PyTorch oracle

def _torch_fns(nd):
    F = pytest.importorskip("torch.nn.functional")
    return ([F.max_pool1d, F.max_pool2d, F.max_pool3d][nd - 1],
            [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][nd - 1])


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_against_torch_forward_and_gradients(nd):
    torch = pytest.importorskip("torch")
    tmax, tavg = _torch_fns(nd)
    rng = np.random.default_rng(30 + nd)
    for trial in range(25):
        spatial, k, s, p, d, ceil = random_config(rng, nd)
        cip = bool(rng.integers(2))
        div = [None, None, int(rng.integers(1, 10))][rng.integers(3)]
        x = rng.standard_normal((2, 3) + spatial).astype(np.float32)
        if trial % 3 == 0:                     # ties and NaN
            x = np.round(x)
            x[rng.random(x.shape) < 0.05] = np.nan
        xt = torch.from_numpy(x).requires_grad_()
        ty, ti = tmax(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
        y, ind = max_pool(x, k, s, p, d, ceil, return_indices=True)
        np.testing.assert_array_equal(y, ty.detach().numpy())
        np.testing.assert_array_equal(ind, ti.numpy())
        g = rng.integers(-3, 4, size=y.shape).astype(np.float32)
        ty.backward(torch.from_numpy(g))
        np.testing.assert_array_equal(max_pool_backward(g, ind, x.shape), xt.grad.numpy())

        if nd == 3 and any(n < kk for n, kk in zip(spatial, k)):
            continue   # torch's avg_pool3d alone refuses inputs smaller than the kernel
        xt = torch.from_numpy(x).requires_grad_()
        ta = tavg(xt, k, s, p, ceil_mode=ceil, count_include_pad=cip,
                  **({} if nd == 1 else {"divisor_override": div}))
        a = avg_pool(x, k, s, p, ceil, cip, None if nd == 1 else div)
        K = int(np.prod(k))
        scale = np.abs(avg_pool(np.abs(x), k, s, p, ceil, cip, None if nd == 1 else div))
        tol = (K + 1) * EPS32 * scale
        if nd < 3:
            # same float32 summation order as PyTorch: bit-identical
            np.testing.assert_array_equal(a, ta.detach().numpy())
        else:
            tv = ta.detach().numpy()
            np.testing.assert_array_equal(np.isnan(a), np.isnan(tv))
            ok = np.isnan(tv)
            assert np.all((np.abs(a - tv) <= tol) | ok)
        g = rng.integers(-3, 4, size=a.shape).astype(np.float32)
        ta.backward(torch.from_numpy(g))
        ga = avg_pool_backward(g, x.shape, k, s, p, ceil, cip, None if nd == 1 else div)
        np.testing.assert_allclose(ga, xt.grad.numpy(), rtol=4 * K * EPS32, atol=1e-6)


def test_against_torch_nan_and_ties():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nan, inf = np.nan, np.inf
    cases = [
        [1, nan, nan, 5],
        [3, 3, 3, nan],
        [-inf, -inf, -inf, -inf],
        [0.0, -0.0, 0.0, -0.0],
        [-0.0, 0.0, 2, 2],
        [nan, 1, 2, nan],
    ]
    for row in cases:
        x = np.array([[row]], dtype=np.float32)
        for k, s, p in ((4, 1, 0), (2, 1, 1), (3, 1, 1), (2, 2, 0)):
            ty, ti = F.max_pool1d(torch.from_numpy(x), k, s, p, return_indices=True)
            y, i = max_pool1d(x, k, s, p, return_indices=True)
            assert y.tobytes() == ty.numpy().tobytes() or np.array_equal(
                y, ty.numpy(), equal_nan=True), (row, k, s, p)
            np.testing.assert_array_equal(i, ti.numpy())
            yv = max_pool1d(x, k, s, p)
            assert np.array_equal(np.signbit(yv), np.signbit(ty.numpy()))
    x = np.array([[[[1, nan], [nan, 0]], [[1, 2], [nan, nan]]]], np.float32)
    ty, ti = F.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    y, i = max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(i, ti.numpy())


@pytest.mark.parametrize("ceil, cip", [(False, True), (False, False), (True, True),
                                       (True, False)])
def test_against_torch_ceil_and_count_include_pad(ceil, cip):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(40)
    for shape in ((5, 5), (6, 7), (2, 9)):
        x = rng.standard_normal((2, 2) + shape).astype(np.float32)
        for k, s, p in ((3, 2, 1), (2, 2, 1), (3, 3, 1), (2, 3, 0)):
            if min(shape) + 2 * p < k:
                continue
            ta = F.avg_pool2d(torch.from_numpy(x), k, s, p, ceil, cip).numpy()
            np.testing.assert_array_equal(avg_pool2d(x, k, s, p, ceil, cip), ta)
            ty, ti = F.max_pool2d(torch.from_numpy(x), k, s, p, 1, ceil, return_indices=True)
            y, i = max_pool2d(x, k, s, p, 1, ceil, return_indices=True)
            np.testing.assert_array_equal(y, ty.numpy())
            np.testing.assert_array_equal(i, ti.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_2x2_stride2_fast_path(dtype):
    """The 2x2 stride-2 unpadded fast path (with and without indices), 2-d and 3-d."""
    rng = np.random.default_rng(50)
    for shape in ((2, 3, 8, 10), (1, 2, 7, 9), (1, 2, 3, 6, 4)):
        x = rng.integers(-2, 3, size=shape).astype(dtype)
        x[rng.random(shape) < 0.1] = np.nan
        x[rng.random(shape) < 0.1] = -np.inf
        nd = len(shape) - 2
        k = (1, 2, 2)[-nd:]
        ref_v, ref_i = max_pool_ref(x, k, (2,) * nd, (0,) * nd, (1,) * nd, False)
        y, i = max_pool(x, k, 2, return_indices=True)
        np.testing.assert_array_equal(y, ref_v.astype(dtype))
        np.testing.assert_array_equal(i, ref_i)
        np.testing.assert_array_equal(max_pool(x, k, 2), y)


def test_max_2x2_stride2_with_dilation_is_not_the_fast_path():
    """Regression: the 2x2 stride-2 fast path once ignored dilation."""
    rng = np.random.default_rng(51)
    x = rng.standard_normal((2, 3, 13, 11)).astype(np.float32)
    for d in ((2, 2), (1, 2), (2, 1)):
        for dtype in (np.float32, np.float64):
            ref_v, ref_i = max_pool_ref(x.astype(dtype), (2, 2), (2, 2), (0, 0), d, False)
            y, i = max_pool2d(x.astype(dtype), 2, 2, 0, d, return_indices=True)
            np.testing.assert_array_equal(y, ref_v.astype(dtype))
            np.testing.assert_array_equal(i, ref_i)
            np.testing.assert_array_equal(max_pool2d(x.astype(dtype), 2, 2, 0, d), y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_2x2_stride2_ceil_mode_overhang(dtype, isa):
    """Regression: odd sizes with ceil_mode give windows that overhang the input;
    the 2x2 stride-2 fast path once read past the plane for them."""
    rng = np.random.default_rng(55)
    for shape in ((2, 3, 7, 31), (1, 2, 8, 9), (1, 1, 5, 5)):
        x = rng.standard_normal(shape).astype(dtype)
        ref_v, ref_i = max_pool_ref(x, (2, 2), (2, 2), (0, 0), (1, 1), True)
        y, i = max_pool2d(x, 2, 2, 0, 1, True, return_indices=True)
        np.testing.assert_array_equal(y, ref_v.astype(dtype))
        np.testing.assert_array_equal(i, ref_i)
        np.testing.assert_array_equal(max_pool2d(x, 2, 2, 0, 1, True), y)


def _simd_configs(rng, trials):
    """Random 1-3 d configurations with rows wide enough for the SIMD row kernels'
    full vectors, right-edge masked vectors and scalar left-edge columns."""
    for trial in range(trials):
        nd = 1 + trial % 3
        spatial = tuple(int(v) for v in rng.integers(1, 9, size=nd - 1)) + (
            int(rng.integers(1, 90)),)
        k = tuple(int(v) for v in rng.integers(1, 6 if nd < 3 else 4, size=nd))
        s = tuple(int(v) for v in rng.integers(1, 3, size=nd - 1)) + (
            int(rng.choice([1, 2, 2, 3])),)
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        d = tuple(int(v) for v in rng.integers(1, 3, size=nd - 1)) + (
            int(rng.choice([1, 1, 1, 2])),)
        yield nd, spatial, k, s, p, d, bool(rng.integers(2))


def test_simd_row_kernels_max_match_reference(isa):
    """Every instruction set gives the reference's values and indices bit for bit
    (ties: first maximum; NaN: the last one; -0.0 before +0.0 keeps -0.0)."""
    rng = np.random.default_rng(52)
    done = 0
    for _, spatial, k, s, p, d, ceil in _simd_configs(rng, 300):
        x = rng.integers(-2, 3, size=(2, 2) + spatial).astype(np.float32)
        x[x == 0] = rng.choice(np.array([0.0, -0.0], dtype=np.float32), size=int((x == 0).sum()))
        x[rng.random(x.shape) < 0.05] = -np.inf
        x[rng.random(x.shape) < 0.03] = np.nan
        try:
            y, ind = max_pool(x, k, s, p, d, ceil, return_indices=True)
        except ValueError:
            continue
        _, ref_i = max_pool_ref(x, k, s, p, d, ceil)
        np.testing.assert_array_equal(ind, ref_i)
        # the value is the input element at the index, bit for bit (-0.0 stays -0.0)
        flat = x.reshape(x.shape[:2] + (-1,))
        ref_v = np.take_along_axis(flat, ref_i.reshape(ref_i.shape[:2] + (-1,)), -1)
        assert y.tobytes() == ref_v.tobytes()
        assert max_pool(x, k, s, p, d, ceil).tobytes() == y.tobytes()
        done += 1
    assert done > 200


def test_simd_row_kernels_avg_bits_equal_scalar_path(isa):
    """Float32 sums in every instruction set equal the scalar path's bits (same
    summation order), for every count_include_pad / divisor_override."""
    rng = np.random.default_rng(53)
    done = 0
    for _, spatial, k, s, p, _, ceil in _simd_configs(rng, 300):
        x = rng.standard_normal((2, 2) + spatial).astype(np.float32)
        x[rng.random(x.shape) < 0.02] = np.nan
        x[rng.random(x.shape) < 0.02] = -0.0
        cip = bool(rng.integers(2))
        div = [None, None, int(rng.integers(1, 10))][rng.integers(3)]
        try:
            y = avg_pool(x, k, s, p, ceil, cip, div)
        except ValueError:
            continue
        before = fastconv._config.current_isa()
        fastconv._config.select_isa("generic")
        try:
            ref = avg_pool(x, k, s, p, ceil, cip, div)
        finally:
            fastconv._config.select_isa(before)
        assert y.tobytes() == ref.tobytes()
        done += 1
    assert done > 200


def test_simd_row_kernels_against_torch(isa):
    """The workload shapes' kernels (and odd widths) against PyTorch, bit for bit."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(54)
    for shape in ((2, 3, 40, 40), (1, 2, 17, 53)):
        x = np.round(rng.standard_normal(shape) * 2).astype(np.float32)
        x[rng.random(shape) < 0.02] = np.nan
        tx = torch.from_numpy(x)
        for k, s, p in ((2, 2, 0), (3, 2, 1), (3, 1, 1)):
            ty, ti = F.max_pool2d(tx, k, s, p, return_indices=True)
            y, i = max_pool2d(x, k, s, p, return_indices=True)
            np.testing.assert_array_equal(y, ty.numpy())
            np.testing.assert_array_equal(i, ti.numpy())
            for cip in (True, False):
                assert avg_pool2d(x, k, s, p, False, cip).tobytes() == \
                    F.avg_pool2d(tx, k, s, p, False, cip).numpy().tobytes()
