"""Workspace bounds: no whole-batch im2col.  vgg3x3 forward with N = 64 must
peak within input + output + 64 MiB (issue: bounded workspace)."""

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import resource, numpy as np, fastconv
    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB on Linux
    x = np.random.default_rng(0).standard_normal((64, 64, 56, 56), dtype=np.float32)
    w = np.random.default_rng(1).standard_normal((64, 64, 3, 3), dtype=np.float32)
    fastconv.conv2d(x[:1], w, padding=1)           # import-time and first-call costs
    before = peak()
    y = fastconv.conv2d(x, w, padding=1)
    print(peak() - before - y.nbytes / 2**20)
""")


@pytest.mark.memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss units differ")
def test_vgg3x3_forward_workspace_is_bounded(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    workspace_mib = float(out.stdout.split()[-1])
    assert workspace_mib <= 64, f"forward workspace {workspace_mib:.1f} MiB > 64 MiB"
