"""fastconv.nn layers: forward and backward against PyTorch and finite differences."""

import doctest
import importlib

import numpy as np
import pytest
from nn_cases import LAYER_CASES, case_id

from fastconv import nn

MODULES = ["fastconv.nn", "fastconv.nn.module", "fastconv.nn.init", "fastconv.nn.conv",
           "fastconv.nn.dropout", "fastconv.nn.pool",
           "fastconv.nn.linear", "fastconv.nn.activation", "fastconv.nn.norm",
           "fastconv.nn.loss", "fastconv.nn.optim", "fastconv.nn.data"]

EPS32 = 2.0 ** -24


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def _make(case, dtype):
    name, args, kwargs, _ = case
    kw = dict(kwargs)
    if any(name.startswith(p) for p in ("Conv", "Linear", "BatchNorm")):
        kw["dtype"] = dtype
    return getattr(nn, name)(*args, **kw)


def _torch_layer(torch, case, dtype, state):
    name, args, kwargs, _ = case
    layer = getattr(torch.nn, name)(*args, **kwargs).to(dtype)
    layer.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return layer


def _loss_vec(layer, x, r):
    return float((layer(x).astype(np.float64) * r).sum())


# ---------------------------------------------------------------- finite differences

@pytest.mark.parametrize("case", LAYER_CASES, ids=case_id)
def test_gradients_match_finite_differences(case, rng):
    """float64: <dL/dx, d> and <dL/dp, d> equal the central difference of L = sum(y * r)."""
    layer = _make(case, np.float64)
    x = rng.standard_normal(case[3])
    if case[0].startswith("MaxPool"):
        # keep the maxima of each window apart, so that a step of h cannot swap them
        x = rng.permutation(x.size).reshape(x.shape) / x.size
    y = layer(x)
    r = rng.standard_normal(y.shape)
    layer.zero_grad()
    gx = layer.backward(r.copy())
    grads = [p.grad.copy() for p in layer.parameters()]
    h = 1e-6
    d = rng.standard_normal(x.shape)
    num = (_loss_vec(layer, x + h * d, r) - _loss_vec(layer, x - h * d, r)) / (2 * h)
    ana = float((gx * d).sum())
    assert abs(num - ana) <= 1e-6 * (1 + abs(ana))
    for p, g in zip(layer.parameters(), grads):
        dp = rng.standard_normal(p.shape)
        p0 = p.data.copy()
        p.data[...] = p0 + h * dp
        lp = _loss_vec(layer, x, r)
        p.data[...] = p0 - h * dp
        lm = _loss_vec(layer, x, r)
        p.data[...] = p0
        num = (lp - lm) / (2 * h)
        ana = float((g * dp).sum())
        assert abs(num - ana) <= 1e-6 * (1 + abs(ana))


# ---------------------------------------------------------------- PyTorch as oracle

def _abs_bound(torch, case, state, x, gy):
    """Per element, 2 sqrt(K) 2^-24 S for y, gx and each grad, with S the sum of the
    absolute values of the terms (the float32 rounding bound of a sum of K products):
    for linear layers the same layer run on |x|, |w|, |gy| in float64; for max pooling
    |y| and the scatter of |gy| through the same windows; for tanh and sigmoid |y|
    and |gy| (1 + |y|).  K is the layer's longest reduction (16 where there is none)."""
    name = case[0]
    k = 16
    if name.startswith(("Conv", "Linear")):
        w = state["weight"]
        kk = int(np.prod(w.shape[1:])) if name.startswith("Conv") else w.shape[1]
        nout = x.shape[0] * int(np.prod(gy.shape[2:])) if gy.ndim > 2 else x.size // x.shape[-1]
        k = max(kk, nout, int(np.prod(w.shape)) // max(w.shape[0], 1))
    elif name.startswith("AvgPool"):
        k = max(16, int(np.prod(np.broadcast_to(case[1][0], (gy.ndim - 2,)))) ** 2)
    c = 2 * np.sqrt(k) * EPS32
    nonlinear = name.startswith(("MaxPool", "Tanh", "Sigmoid"))
    src = x if nonlinear else np.abs(x)
    st = state if nonlinear else {k_: np.abs(np.asarray(v, np.float64)) for k_, v in state.items()}
    t = _torch_layer(torch, case, torch.float64, st)
    xa = torch.from_numpy(src.astype(np.float64)).requires_grad_(True)
    ya = t(xa)
    ya.backward(torch.from_numpy(np.abs(gy).astype(np.float64)))
    sy, sgx = np.abs(ya.detach().numpy()), xa.grad.numpy()
    if name.startswith(("Tanh", "Sigmoid")):
        sgx = np.abs(gy) * (1 + sy)
    grads = [np.abs(p.grad.numpy()) for p in t.parameters()]
    return c, sy, sgx, grads


@pytest.mark.parametrize("case", LAYER_CASES, ids=case_id)
def test_float32_layers_match_torch(case, rng):
    torch = pytest.importorskip("torch")
    name, _, _, shape = case
    layer = _make(case, np.float32)
    state = layer.state_dict()
    x = rng.standard_normal(shape).astype(np.float32)
    y = layer(x)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = layer.backward(gy)

    t = _torch_layer(torch, case, torch.float64, state)
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    yt = t(xt)
    yt.backward(torch.from_numpy(gy.astype(np.float64)))
    if name.startswith("BatchNorm"):
        # normalised outputs: errors scale with |x - mean| * invstd, compare norm-wise
        for a, b in ((y, yt), (gx, xt.grad)):
            b = b.detach().numpy()
            assert np.abs(a - b).max() <= 1e-5 * (1 + np.abs(b).max())
        for p, q in zip(layer.parameters(), t.parameters()):
            qg = q.grad.numpy()
            assert np.abs(p.grad - qg).max() <= 1e-5 * (1 + np.abs(qg).max())
        for k, v in t.state_dict().items():
            np.testing.assert_allclose(layer.state_dict()[k], v.numpy(), rtol=1e-5, atol=1e-6)
        return
    c, sy, sgx, sgrads = _abs_bound(torch, case, state, x, gy)
    assert y.dtype == np.float32 and gx.dtype == np.float32
    assert np.all(np.abs(y - yt.detach().numpy()) <= c * sy + 1e-30)
    assert np.all(np.abs(gx - xt.grad.numpy()) <= c * sgx + 1e-30)
    for p, q, s in zip(layer.parameters(), t.parameters(), sgrads):
        assert p.grad.shape == tuple(q.shape)
        assert np.all(np.abs(p.grad - q.grad.numpy()) <= c * s + 1e-30)


@pytest.mark.parametrize("case", LAYER_CASES, ids=case_id)
def test_float64_layers_match_torch(case, rng):
    torch = pytest.importorskip("torch")
    layer = _make(case, np.float64)
    state = layer.state_dict()
    x = rng.standard_normal(case[3])
    y = layer(x)
    gy = rng.standard_normal(y.shape)
    gx = layer.backward(gy)
    t = _torch_layer(torch, case, torch.float64, state)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = t(xt)
    yt.backward(torch.from_numpy(gy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for p, q in zip(layer.parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-12)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(layer.state_dict()[k], v.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", LAYER_CASES, ids=case_id)
def test_parameter_order_shapes_and_init(case):
    torch = pytest.importorskip("torch")
    layer = _make(case, np.float32)
    name, args, kwargs, _ = case
    t = getattr(torch.nn, name)(*args, **kwargs)
    assert list(layer.state_dict()) == list(t.state_dict())
    for (k, v), (_, v2) in zip(layer.state_dict().items(), t.state_dict().items()):
        assert v.shape == tuple(v2.shape), k
    tp = dict(t.named_parameters())
    assert [n for n, _ in layer.named_parameters()] == list(tp)
    for n, p in layer.named_parameters():
        assert p.data.dtype == np.float32
        if n == "weight" and not name.startswith("BatchNorm"):
            # kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), like torch's
            bound = 1 / np.sqrt(nn.init.calculate_fan_in(p.shape))
            assert np.abs(p.data).max() <= bound
            assert np.abs(tp[n].detach().numpy()).max() <= bound
            assert np.abs(p.data).max() > 0.5 * bound


# ---------------------------------------------------------------- module protocol

def test_eval_mode_batchnorm_and_dropout_match_torch(rng):
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Dropout(0.3), nn.ReLU(),
                          nn.Linear(5, 3))
    tm = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.BatchNorm1d(5),
                             torch.nn.Dropout(0.3), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    tm.train()
    with torch.no_grad():
        for _ in range(3):
            tm(torch.randn(8, 6))
    model.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    assert int(model.state_dict()["1.num_batches_tracked"]) == 3
    model.eval()
    tm.eval()
    x = rng.standard_normal((4, 6)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = tm(xt)
    y = model(x)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(np.float32)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(model.backward(g), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_training_statistics(rng):
    nn.init.manual_seed(1)
    d = nn.Dropout(0.25)
    x = np.ones((200, 500), dtype=np.float32)
    y = d(x)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_array_equal(y[kept], np.float32(1 / 0.75))
    g = d.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(g, 2 * y)
    d.eval()
    assert d(x) is not None and np.array_equal(d(x), x)


def test_sequential_outputs_are_fresh_and_inputs_untouched(rng):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 3 * 3, 5), nn.ReLU())
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    x0 = x.copy()
    y1 = model(x)
    y1c = y1.copy()
    g = np.ones_like(y1)
    gx1 = model.backward(g)
    y2 = model(x * 2)
    gx2 = model.backward(g)
    assert y1 is not y2 and gx1 is not gx2
    np.testing.assert_array_equal(y1, y1c)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, 1)
    # the same layers outside a Sequential (fresh arrays, no in-place ReLU) agree
    sd = model.state_dict()
    layers = [nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
              nn.Linear(4 * 3 * 3, 5), nn.ReLU()]
    for i in (0, 4):
        layers[i].load_state_dict({k[2:]: v for k, v in sd.items() if k.startswith(f"{i}.")})
    z = x * 2
    for m in layers:
        z = m(z)
    np.testing.assert_array_equal(y2, z)
    gz = g
    for m in reversed(layers):
        gz = m.backward(gz)
    np.testing.assert_array_equal(gx2, gz)
    assert model[1].inplace_ok and not model[5].inplace_ok


def test_zero_grad_train_eval_and_accumulation(rng):
    model = nn.Sequential(nn.Linear(3, 2))
    x = rng.standard_normal((4, 3)).astype(np.float32)
    g = np.ones((4, 2), np.float32)
    model(x)
    model.backward(g)
    once = model[0].weight.grad.copy()
    model(x)
    model.backward(g)
    np.testing.assert_allclose(model[0].weight.grad, 2 * once, rtol=1e-6)
    model.zero_grad()
    assert not model[0].weight.grad.any()
    assert model.eval() is model and not model[0].training
    assert model.train().training and model[0].training


def test_state_dict_roundtrip_with_torch_and_savez(tmp_path, rng):
    torch = pytest.importorskip("torch")
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(6 * 2 * 2, 3))
    with torch.no_grad():
        tm(torch.randn(5, 1, 8, 8))
    tm.eval()
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 3)).eval()
    sd = {k: v.numpy() for k, v in tm.state_dict().items()}
    model.load_state_dict(sd)
    assert list(model.state_dict()) == list(sd)
    x = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        ref = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), ref, rtol=1e-5, atol=1e-5)
    path = tmp_path / "model.npz"
    np.savez(path, **model.state_dict())
    with np.load(path) as f:
        loaded = {k: f[k] for k in f.files}
    again = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 3)).eval()
    again.load_state_dict(loaded)
    np.testing.assert_array_equal(again(x), model(x))
    tm2 = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(6 * 2 * 2, 3)).eval()
    tm2.load_state_dict({k: torch.from_numpy(v) for k, v in loaded.items()})
    with torch.no_grad():
        np.testing.assert_array_equal(tm2(torch.from_numpy(x)).numpy(), ref)


def test_load_state_dict_errors():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(KeyError, match="missing"):
        model.load_state_dict({"0.weight": np.zeros((2, 3))})
    with pytest.raises(KeyError, match="unexpected"):
        model.load_state_dict({"0.weight": np.zeros((2, 3)), "0.bias": np.zeros(2),
                               "1.weight": np.zeros(1)})
    with pytest.raises(ValueError, match="0.bias"):
        model.load_state_dict({"0.weight": np.zeros((2, 3)), "0.bias": np.zeros(3)})
    missing, unexpected = model.load_state_dict({"0.bias": np.ones(2)}, strict=False)
    assert missing == ["0.weight"] and unexpected == []
    np.testing.assert_array_equal(model[0].bias.data, 1)


@pytest.mark.parametrize("make, msg", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), "groups"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), "padding_mode"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), "same"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), "kernel_size"),
    (lambda: nn.Linear(3, 4, dtype=np.int32), "dtype"),
    (lambda: nn.Dropout(1.5), "probability"),
    (lambda: nn.optim.Adam([], lr=0.1), "empty"),
    (lambda: nn.optim.Adam(nn.Linear(2, 2).parameters(), betas=(1.0, 0.9)), "beta"),
    (lambda: nn.optim.SGD(nn.Linear(2, 2).parameters(), lr=-1), "learning rate"),
    (lambda: nn.CrossEntropyLoss(reduction="max"), "reduction"),
])
def test_bad_arguments_raise(make, msg):
    with pytest.raises((ValueError, TypeError), match=msg):
        make()


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="Conv2d"):
        nn.Conv2d(3, 4, 3)(np.zeros((2, 3, 5, 5, 5)))
    with pytest.raises(ValueError, match="channels"):
        nn.Conv2d(3, 4, 3)(np.zeros((2, 2, 5, 5)))
    with pytest.raises(ValueError, match="Linear"):
        nn.Linear(3, 4)(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="targets"):
        nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="integer targets"):
        nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="before"):
        nn.Linear(3, 4).backward(np.zeros((1, 4)))
    pool = nn.MaxPool2d(2)
    pool(np.ones((1, 1, 4, 4)))
    pool.eval()(np.ones((1, 1, 6, 6)))
    with pytest.raises(RuntimeError, match="train mode"):
        pool.backward(np.ones((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="BatchNorm2d"):
        nn.BatchNorm2d(3)(np.zeros((2, 4, 2, 2)))


def test_unbatched_conv_input(rng):
    conv = nn.Conv1d(2, 3, 3)
    x = rng.standard_normal((2, 9)).astype(np.float32)
    y = conv(x)
    assert y.shape == (3, 7)
    np.testing.assert_array_equal(y, conv(x[None])[0])
    gx = conv.backward(np.ones_like(y))
    assert gx.shape == x.shape


def test_losses_match_torch(rng):
    torch = pytest.importorskip("torch")
    logits = rng.standard_normal((7, 5)).astype(np.float32) * 4
    t = rng.integers(0, 5, 7)
    fn = nn.CrossEntropyLoss()
    loss = fn(logits, t)
    lt = torch.from_numpy(logits).requires_grad_(True)
    ref = torch.nn.CrossEntropyLoss()(lt, torch.from_numpy(t))
    ref.backward()
    assert isinstance(loss, float)
    assert abs(loss - ref.item()) <= 1e-6 * abs(ref.item())
    np.testing.assert_allclose(fn.backward(), lt.grad.numpy(), rtol=1e-5, atol=1e-7)
    y = rng.standard_normal((3, 4)).astype(np.float32)
    target = rng.standard_normal((3, 4)).astype(np.float32)
    fn = nn.MSELoss()
    loss = fn(y, target)
    yt = torch.from_numpy(y).requires_grad_(True)
    ref = torch.nn.MSELoss()(yt, torch.from_numpy(target))
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-6 * abs(ref.item())
    np.testing.assert_allclose(fn.backward(), yt.grad.numpy(), rtol=1e-6, atol=1e-8)
    fs = nn.CrossEntropyLoss(reduction="sum")
    assert abs(fs(logits, t) - 7 * nn.CrossEntropyLoss()(logits, t)) < 1e-4
