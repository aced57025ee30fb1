"""The demo (python -m fastconv demo --quick) and the bench suite's cases."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fastconv import nn
from fastconv.nn.linear import matmul


@pytest.mark.parametrize("m, k, n", [(3, 4, 5), (65, 400, 10), (1000, 400, 10),
                                     (10, 1000, 400), (1000, 784, 200), (7, 300, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_matmul_paths(m, k, n, dtype, rng):
    """One-call, row-chunked and convolution paths all give a @ b within rounding."""
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((n, k)).astype(dtype).T       # a transposed view, like W.T
    out = np.empty((m, n), dtype)
    assert matmul(a, b, out) is out
    ref = a.astype(np.float64) @ b.astype(np.float64)
    s = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    eps = np.finfo(dtype).eps / 2
    assert np.all(np.abs(out - ref) <= 2 * np.sqrt(k) * eps * s)


def test_bench_cases_agree_with_torch():
    """fastconv's and PyTorch's model2 steps of the bench suite start from the same
    weights and compute the same step (first loss equal within rounding)."""
    torch = pytest.importorskip("torch")
    from fastconv.bench.nn_suite import model2, torch_model2

    nn.init.manual_seed(3)
    ours = model2(nn)
    tm = torch_model2()
    tm.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        ref = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x), ref, rtol=1e-4, atol=1e-5)


def test_demo_quick_run(tmp_path):
    """The demo's --quick run trains to well above chance (10 %) on both datasets and
    writes only the files it is asked for."""
    pytest.importorskip("sklearn")
    pytest.importorskip("mnist1d")
    out = tmp_path / "report.json"
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "fastconv", "demo", "--quick", "--no-torch", "--no-progress",
         "--no-plot", "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["report.json"]
    report = json.loads(out.read_text())
    final = report["final"]
    assert final["digits/model1/fastconv"] > 0.5
    assert final["digits/model2/fastconv"] > 0.5
    assert final["mnist1d/cnn/fastconv"] > 0.4
    assert len(report["results"]["digits"]["model2"]["fastconv"]["val_acc"]) == 10
    assert "digits" in proc.stdout and "paper" in proc.stdout


def test_demo_help_and_bad_threads():
    proc = subprocess.run([sys.executable, "-m", "fastconv", "demo", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--quick" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "fastconv", "demo", "--threads", "0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
