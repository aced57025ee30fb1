"""asv benchmarks of fastconv against NumPy, SciPy and PyTorch.

The workloads and the peer implementations are fastconv's own
(``fastconv.bench.workloads``, ``fastconv.bench.baselines``): the installed fastconv is
benchmarked, and ``python -m fastconv bench`` times exactly the same code.

Threads: every system gets ``$FASTCONV_BENCH_THREADS`` threads (default 2).
A case a system cannot run (peer not installed, fastconv API not there yet,
SciPy on a workload where it would take seconds) raises NotImplementedError
in ``setup``, which asv reports as skipped.
"""

import os

# SciPy's per-(image, channel) correlate loop takes seconds per call on the big
# workloads (python -m fastconv bench runs it on one image and scales); asv only
# runs it where one call is well under a second.
SCIPY_CONV_WORKLOADS = ("dw3x3", "mnist5x5")


def threads():
    return int(os.environ.get("FASTCONV_BENCH_THREADS", "2"))


def pin_threads(system):
    """Give fastconv, torch and BLAS the benchmark's thread count."""
    from fastconv.bench import baselines

    baselines.configure_threads(threads(), torch=(system == "torch"))
