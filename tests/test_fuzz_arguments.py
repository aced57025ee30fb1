"""A bounded run of the coverage-guided argument fuzzer (fuzz/fuzz_arguments.py, atheris):
every public function's argument handling, and the SciPy drop-ins against SciPy.  The
run is short and seeded; longer runs are by hand (see the script's docstring)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")
pytest.importorskip("scipy")

SCRIPT = Path(__file__).resolve().parents[1] / "fuzz" / "fuzz_arguments.py"


@pytest.mark.skipif(not SCRIPT.exists(), reason="fuzz/ is not in this tree")
def test_coverage_guided_argument_fuzzing(tmp_path):
    runs = int(os.environ.get("FASTCONV_ATHERIS_RUNS", "3000"))
    out = subprocess.run([sys.executable, str(SCRIPT), f"-runs={runs}", "-seed=1",
                          "-print_final_stats=1"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    done = [line for line in log.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert done and int(done[0].split(":")[-1]) >= runs, log[-2000:]
