"""asv benchmarks of fastconv against NumPy, SciPy and PyTorch.

The workloads and the peer implementations are fastconv's own
(``fastconv.bench.workloads``, ``fastconv.bench.baselines``): the installed fastconv is
benchmarked, and ``python -m fastconv bench`` times exactly the same code.

Threads: every system gets ``$FASTCONV_BENCH_THREADS`` threads (default 2).
A case a system cannot run (peer not installed, fastconv API not there yet,
SciPy on a workload where it would take seconds) raises NotImplementedError
in ``setup``, which asv reports as skipped.
"""

import importlib
import os

# SciPy's per-(image, channel) correlate loop takes seconds per call on the big
# workloads (python -m fastconv bench runs it on one image and scales); asv only
# runs it where one call is well under a second.
SCIPY_CONV_WORKLOADS = ("dw3x3", "mnist5x5")


def bench_module(name):
    """``fastconv.bench.<name>``, or ``fastconv._<name>`` in the commits before the src
    layout (41b59b4), so that asv can measure the history across the move."""
    try:
        return importlib.import_module(f"fastconv.bench.{name}")
    except ImportError:
        return importlib.import_module(f"fastconv._{name}")


def optional_suite(name):
    """``fastconv.bench.<name>``, or None in a commit that predates it (asv then
    skips the suite's cases there: see ``missing``)."""
    try:
        return importlib.import_module(f"fastconv.bench.{name}")
    except ImportError:
        return None


# the one parameter value of a suite that the measured commit does not have yet
MISSING = "(not in this commit)"


def missing(suite):
    """Raise asv's skip (NotImplementedError) when the measured commit lacks the suite."""
    if suite is None:
        raise NotImplementedError("this commit predates the suite")


def threads():
    return int(os.environ.get("FASTCONV_BENCH_THREADS", "2"))


def pin_threads(system):
    """Give fastconv, torch and BLAS the benchmark's thread count."""
    bench_module("baselines").configure_threads(threads(), torch=(system == "torch"))
