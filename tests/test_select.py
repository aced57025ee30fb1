"""Kernel choice (fastconv._select) and fastconv.explain: the rules' order, and
that explain names what the drivers run (forced kernels agree, bits agree)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastconv
from fastconv import _conv_kernels, _conv_plan, _select

rng = np.random.default_rng(18)


def _arrays(x_shape, w_shape, dtype=np.float32):
    return (rng.standard_normal(x_shape).astype(dtype),
            rng.standard_normal(w_shape).astype(dtype))


@pytest.fixture
def forced():
    yield
    _conv_kernels.set_forward_kernel("auto")
    _conv_kernels.set_depthwise_kernel("auto")
    fastconv.set_winograd(False)


def test_explain_reports_every_field():
    x, w = _arrays((2, 8, 20, 20), (16, 8, 3, 3))
    info = fastconv.explain(x, w, padding=1)
    assert set(info) == {"forward", "input_grad", "weight_grad", "isa", "threads", "dtype",
                         "slabs"}
    assert info["isa"] == _conv_kernels.current_isa()
    assert info["dtype"] == "float32"
    assert info["slabs"] is None
    assert info["forward"] in ("gemm:rows", "gemm:bcast")
    assert info["weight_grad"] == "gemm:wgrad_t"
    # stride 1, padding within the kernel: the input gradient is a forward
    assert info["input_grad"].startswith("transposed-forward:gemm:")


def test_rules_in_order(forced):
    # rule 1 wins over rule 2: a depthwise 3x3 at stride 1 is never Winograd
    fastconv.set_winograd(True)
    x, w = _arrays((8, 32, 56, 56), (32, 1, 3, 3))
    assert fastconv.explain(x, w, padding=1, groups=32)["forward"].startswith("depthwise:")
    x, w = _arrays((8, 64, 56, 56), (64, 64, 3, 3))
    assert fastconv.explain(x, w, padding=1)["forward"] == "winograd:F(2x2,3x3)"
    assert fastconv.explain(x, w, padding=1, stride=2)["forward"].startswith("gemm:")
    fastconv.set_winograd(False)
    assert fastconv.explain(x, w, padding=1)["forward"].startswith("gemm:")
    # two output channels per input channel are still depthwise, three are not
    x, w = _arrays((1, 4, 9, 9), (8, 1, 3, 3))
    assert fastconv.explain(x, w, groups=4)["forward"].startswith("depthwise:")
    x, w = _arrays((1, 4, 9, 9), (12, 1, 3, 3))
    assert fastconv.explain(x, w, groups=4)["forward"].startswith("gemm:")


@pytest.mark.parametrize("name", ["rows", "bcast"])
def test_forced_gemm_is_what_explain_names(forced, name):
    x, w = _arrays((2, 8, 17, 15), (24, 8, 3, 3))
    auto = fastconv.conv(x, w, padding=1)
    chosen = fastconv.explain(x, w, padding=1)["forward"]
    _conv_kernels.set_forward_kernel(name)
    assert fastconv.explain(x, w, padding=1)["forward"] == "gemm:" + name
    y = fastconv.conv(x, w, padding=1)
    if chosen == "gemm:" + name:
        # the kernel explain names for "auto" is the one that ran: same bits
        assert_array_equal(y, auto)


@pytest.mark.parametrize("name", ["rows", "vgrid", "inplace"])
def test_forced_depthwise_is_what_explain_names(forced, name):
    x, w = _arrays((2, 8, 14, 14), (8, 1, 3, 3))
    auto = fastconv.conv(x, w, padding=1, groups=8)
    chosen = fastconv.explain(x, w, padding=1, groups=8)["forward"]
    _conv_kernels.set_depthwise_kernel(name)
    assert fastconv.explain(x, w, padding=1, groups=8)["forward"] == "depthwise:" + name
    y = fastconv.conv(x, w, padding=1, groups=8)
    if chosen == "depthwise:" + name:
        assert_array_equal(y, auto)


def test_serial_grain(restore_threads):
    fastconv.set_num_threads(min(2, os.cpu_count() or 1))
    small = fastconv.explain(*_arrays((1, 8, 24, 24), (8, 8, 3, 3)), padding=1)
    assert small["threads"] == 1
    big = fastconv.explain(*_arrays((8, 64, 56, 56), (64, 64, 3, 3)), padding=1)
    assert big["threads"] == fastconv.get_num_threads()
    plan = _conv_plan.make_plan((8, 64, 56, 56), (64, 64, 3, 3), stride=1, padding=1,
                                dilation=1, groups=1, padding_mode="zeros", pad_value=0.0,
                                flip=False)
    assert _select.threads(plan) == big["threads"]


def test_explain_reports_slabs():
    old = fastconv.get_workspace_limit()
    try:
        fastconv.set_workspace_limit(1 << 20)
        x, w = _arrays((1, 64, 256, 256), (8, 64, 3, 3))
        info = fastconv.explain(x, w, padding=1)
        assert info["slabs"] is not None and info["slabs"][1] > 1
    finally:
        fastconv.set_workspace_limit(old)


def test_explain_checks_arguments_as_conv_does():
    x, w = _arrays((1, 4, 9, 9), (8, 3, 3, 3))
    with pytest.raises(ValueError, match="groups|channels"):
        fastconv.explain(x, w)
    with pytest.raises(ValueError, match="stride"):
        fastconv.explain(x, np.zeros((8, 4, 3, 3)), stride=0)


def test_verbose_logs_each_call():
    code = ("import numpy as np, fastconv\n"
            "x = np.ones((1, 4, 9, 9), np.float32); w = np.ones((8, 4, 3, 3), np.float32)\n"
            "y = fastconv.conv(x, w, padding=1)\n"
            "fastconv.conv_input_grad(y, w, x.shape, padding=1)\n"
            "fastconv.conv_weight_grad(x, y, w.shape, padding=1)\n"
            "print(fastconv.explain(x, w, padding=1)['forward'])\n")
    env = dict(os.environ, FASTCONV_VERBOSE="1")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("fastconv_verbose,")]
    assert [ln.split(",")[1] for ln in lines] == ["conv_forward", "conv_input_grad",
                                                  "conv_weight_grad"]
    forward = res.stdout.strip()
    assert lines[0].split(",")[2:4] == forward.split(":")
    assert f"isa={_conv_kernels.current_isa()}" in lines[0]
    assert "x1x4x9x9:w8x4x3x3:y1x8x9x9" in lines[0]
    env.pop("FASTCONV_VERBOSE")
    quiet = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=120, check=True)
    assert "fastconv_verbose" not in quiet.stderr
