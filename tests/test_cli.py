"""The command line (python -m fastconv info / bench), the workload table and the peers."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastconv
from fastconv.bench import baselines as B
from fastconv.bench.workloads import CONV_WORKLOADS, POOL_WORKLOADS, conv_workload


def _run_cli(*args, timeout=60):
    env = dict(os.environ)
    # the CLI must import the same fastconv as the tests
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastconv.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "fastconv", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


def test_info_prints_isa():
    r = _run_cli("info")
    assert r.returncode == 0, r.stderr
    cfg = fastconv._config.config()
    assert f"fastconv {fastconv.__version__}" in r.stdout
    assert "openmp:" in r.stdout
    assert f"chosen:           {cfg['isa']}" in r.stdout
    for isa in cfg["isas_available"]:
        assert isa in r.stdout


def test_bench_quick_table_and_json(tmp_path):
    out = tmp_path / "bench.json"
    r = _run_cli("bench", "--quick", "--ops", "conv", "--workloads", "mnist5x5",
                 "--systems", "fastconv,numpy", "--repeat", "2", "--pause", "0",
                 "--threads", "1", "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "mnist5x5" in r.stdout and "vs numpy" in r.stdout and "GFLOP/s" in r.stdout
    report = json.loads(out.read_text())
    assert report["threads"] == 1
    assert report["versions"]["fastconv"] == fastconv.__version__
    assert {"date", "machine", "fastconv_config", "settings"} <= set(report)
    (res,) = report["results"]
    assert res["workload"] == "mnist5x5" and res["op"] == "conv"
    assert set(res["times_ms"]) == {"fastconv", "numpy"}
    assert all(t > 0 for t in res["times_ms"].values())
    assert len(res["samples_ms"]["fastconv"]) == 2
    assert res["check"]["numpy"] < 1e-4     # the peer computed the same thing
    peak = report["fma_peak_gflops"]
    assert 0 < peak["float32"] < 1e5 and peak["float64"] == peak["float32"] / 2
    assert "% of peak" in r.stdout
    # (no comparison of the measured rate with the measured peak: both are timings on a
    # shared machine, and a peak measured while another process ran fell below an
    # unloaded conv's rate; the FLOP counts are checked by test_workload_gflop_matches_table)


def test_fma_peak_is_plausible_on_every_isa(isa):
    """The peak (12 chains x lanes x 2 flops per round) runs on every
    instruction set and lands in a physical range: a folded loop would report
    absurd rates."""
    from fastconv import _conv_kernels
    g = _conv_kernels.fma_peak_gflops(1, 2_000_000)
    assert 0.5 < g < 1e4


def test_bench_rejects_unknown_workload():
    r = _run_cli("bench", "--workloads", "nosuch", "--no-progress")
    assert r.returncode != 0
    assert "nosuch" in r.stderr


def test_bench_help_mentions_openblas_env():
    r = _run_cli("bench", "--help")
    assert r.returncode == 0
    assert "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE" in r.stdout


# GFLOP column of shared/workloads.md, to the precision written there
WORKLOADS_MD_GFLOP = {
    "vgg3x3": "1.85", "res3x3s2": "0.92", "pw1x1": "0.82", "stem7x7s2": "1.89",
    "dil3x3d2": "1.85", "dw3x3": "0.06", "mnist5x5": "0.01", "eeg1d_k7": "7.5", "vol3d": "1.81",
}


@pytest.mark.parametrize("name", sorted(WORKLOADS_MD_GFLOP))
def test_workload_gflop_matches_table(name):
    text = WORKLOADS_MD_GFLOP[name]
    decimals = len(text.split(".")[1])
    assert f"{conv_workload(name).gflop:.{decimals}f}" == text


def test_workload_tables_complete():
    assert [w.name for w in CONV_WORKLOADS] == list(WORKLOADS_MD_GFLOP)
    assert conv_workload("vgg3x3").out_shape == (8, 64, 56, 56)
    assert conv_workload("stem7x7s2").out_shape == (8, 64, 112, 112)
    assert conv_workload("eeg1d_k7").out_shape == (16, 64, 4096)
    assert {w.name for w in POOL_WORKLOADS} >= {"max2x2s2", "max3x3s2p1", "avg2x2s2",
                                                  "avg3x3s1p1"}
    assert all(w.x_shape == (8, 64, 112, 112) for w in POOL_WORKLOADS)


CASES = [  # x shape, w shape, stride, padding, dilation, groups
    ((2, 4, 9, 10), (6, 4, 3, 3), 1, 1, 1, 1),
    ((2, 4, 9, 10), (6, 2, 3, 2), 2, 1, 2, 2),
    ((2, 4, 11, 10), (8, 1, 3, 3), 2, 2, 1, 4),
    ((2, 3, 17), (5, 3, 4), 2, 3, 1, 1),
    ((1, 4, 6, 7, 5), (6, 2, 3, 2, 2), 1, 1, 1, 2),
]


@pytest.mark.parametrize("xs, ws, s, p, d, g", CASES)
def test_numpy_and_scipy_peers_agree_with_fastconv(xs, ws, s, p, d, g):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    kw = {"stride": s, "padding": p, "dilation": d, "groups": g}
    ref = fastconv.conv(x, w, **kw)
    np.testing.assert_allclose(B.numpy_conv(x, w, **kw), ref, rtol=1e-12, atol=1e-12)
    pytest.importorskip("scipy")
    np.testing.assert_allclose(B.scipy_conv(x, w, **kw), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs, ws, s, p, d, g", CASES)
def test_numpy_backward_peer_is_the_adjoint(xs, ws, s, p, d, g):
    # <conv(x, w), go> == <x, input_grad(go, w)> == <w, weight_grad(x, go)>
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    kw = {"stride": s, "padding": p, "dilation": d, "groups": g}
    y = B.numpy_conv(x, w, **kw)
    go = rng.standard_normal(y.shape)
    gx, gw = B.numpy_conv_backward(go, x, w, **kw)
    assert gx.shape == x.shape and gw.shape == w.shape
    lhs = np.vdot(y, go)
    np.testing.assert_allclose(np.vdot(x, gx), lhs, rtol=1e-10)
    np.testing.assert_allclose(np.vdot(w, gw), lhs, rtol=1e-10)


@pytest.mark.parametrize("op, k, s, p", [("max", 2, 2, 0), ("max", 3, 2, 1),
                                         ("avg", 2, 2, 0), ("avg", 3, 1, 1)])
def test_pool_peers_agree(op, k, s, p):
    x = np.random.default_rng(2).standard_normal((2, 3, 12, 14))
    ref = B.numpy_pool(x, op, k, s, p)
    # brute force
    xp = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)],
                constant_values=-np.inf if op == "max" else 0.0)
    ho, wo = ref.shape[2:]
    red = np.max if op == "max" else np.mean
    brute = np.array([[[[red(xp[n, c, i * s:i * s + k, j * s:j * s + k]) for j in range(wo)]
                        for i in range(ho)] for c in range(3)] for n in range(2)])
    np.testing.assert_allclose(ref, brute, rtol=1e-12, atol=1e-12)
    pytest.importorskip("scipy")
    np.testing.assert_allclose(B.scipy_pool(x, op, k, s, p), brute, rtol=1e-12, atol=1e-12)
