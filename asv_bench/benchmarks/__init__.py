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
import time
import timeit

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


def _timer():
    """The clock of the ``time_`` benchmarks (asv reads a module's ``timer``): with one
    thread per system, the process's CPU time, which time spent descheduled does not
    inflate (on 2 vCPUs shared with other jobs, wall-clock samples of one call spread
    over 1.7-12.5 ms around a 5.7 ms median); with more threads, wall time (CPU time
    would add the threads up)."""
    return time.process_time if threads() == 1 else timeit.default_timer


# the suite's modules import this name, so asv times their benchmarks with it
timer = _timer()


def pin_threads(system):
    """Give fastconv, torch and BLAS the benchmark's thread count."""
    bench_module("baselines").configure_threads(threads(), torch=(system == "torch"))
