"""The public API's type hints: mypy on a user's script (tests/typing/user_script.py)
with fastconv's annotations (py.typed) and extension stubs. Skips without mypy."""

import os
import subprocess
import sys

import pytest

import fastconv

HERE = os.path.dirname(os.path.abspath(__file__))


def test_package_ships_its_types():
    root = os.path.dirname(fastconv.__file__)
    assert os.path.exists(os.path.join(root, "py.typed"))
    # one extension holds the conv and pooling drivers (one instruction-set table)
    with open(os.path.join(root, "_conv_kernels.pyi")) as f:
        stub = f.read()
    for name in ("conv_forward_rows", "max_pool_backward", "avg_pool_backward"):
        assert f"def {name}(" in stub
    assert "class PoolCall:" in stub


def test_fixed_rank_functions_show_their_signature():
    import inspect

    for f, base in ((fastconv.conv2d, fastconv.conv),
                    (fastconv.conv_transpose3d, fastconv.conv_transpose)):
        assert inspect.signature(f) == inspect.signature(base)
        assert "*args" not in str(inspect.signature(f))


def test_mypy_accepts_a_user_script_and_catches_misuse():
    pytest.importorskip("mypy")
    script = os.path.join(HERE, "typing", "user_script.py")
    pkg_root = os.path.dirname(os.path.dirname(fastconv.__file__))
    env = dict(os.environ)
    if "site-packages" not in pkg_root:
        # a source tree on PYTHONPATH; an installed fastconv is found through its
        # py.typed marker (mypy refuses site-packages on MYPYPATH)
        env["MYPYPATH"] = pkg_root
    res = subprocess.run(
        # --follow-imports=silent: fastconv's own modules are read for their types
        # but not checked, as for an installed package
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
         os.devnull, "--warn-unused-ignores", "--follow-imports=silent",
         "--python-executable", sys.executable, script],
        env=env, capture_output=True, text=True, timeout=600, cwd=HERE)
    assert res.returncode == 0, res.stdout + res.stderr
