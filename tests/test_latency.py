"""The latency suite (python -m fastconv bench --latency): its cases compute what
their names say and agree with PyTorch; the harness runs.  No timing asserts."""

import numpy as np
import pytest

import fastconv
from fastconv.bench import latency


def test_cases_cover_the_table():
    names = [c.name for c in latency.latency_cases()]
    for op in ("conv2d", "max_pool2d", "avg_pool2d", "conv_backward"):
        for shape in ("1x1x8x8", "1x8x24x24", "1x64x56x56"):
            assert f"{op} {shape}" in names
    assert "model2 forward 1x1x28x28" in names
    for taps in (15, 255, 2000):
        for kind in ("first", "repeat"):
            assert f"conv1d 1e5 x {taps} taps, {kind} call" in names


def test_model2_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((1, 1, 28, 28)).astype(np.float32)
    params = latency.model2_weights()
    y = latency.model2_fastconv(x, params)
    yt = latency.model2_torch(torch.from_numpy(x), tuple(torch.from_numpy(p) for p in params))
    assert y.shape == (1, 16, 5, 5)
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-4, atol=1e-5)


def test_every_case_agrees_with_torch():
    pytest.importorskip("torch")
    for case in latency.latency_cases(with_torch=True):
        if "1x64x56x56" in case.name or "2000" in case.name:
            continue                    # the small ones suffice here
        a, b = case.fastconv(), case.torch()
        a = a if isinstance(a, tuple) else (a,)
        b = b if isinstance(b, tuple) else (b,)
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v.numpy(), rtol=1e-3, atol=1e-3, err_msg=case.name)


def test_measure_and_table_run():
    cases = [c for c in latency.latency_cases() if c.name in ("conv2d 1x1x8x8",
                                                               "max_pool2d 1x1x8x8")]
    results = latency.measure(cases, rounds=1, budget=1e-4, progress=False)
    assert set(results) == {"conv2d 1x1x8x8", "max_pool2d 1x1x8x8"}
    assert all(a > 0 and b is None for a, b in results.values())
    table = latency.format_table(results, fastconv.get_num_threads())
    assert "conv2d 1x1x8x8" in table and "fc/torch" in table
