"""fastconv.signal against SciPy's ways of getting the same result, and OpenCV's
filter2D on the 2-D workloads (fastconv.bench.signal_suite: the workloads of
``python -m fastconv bench --suite signal``)."""

from . import (
    MISSING,
    missing,
    optional_suite,
    threads,
    timer,  # noqa: F401 (asv times this module's benchmarks with it)
)

_suite = optional_suite("signal_suite")   # added in ead2f17
WORKLOADS = _suite.WORKLOADS if _suite else {MISSING: None}
SYSTEMS = _suite.SYSTEMS if _suite else ("fastconv",)


class SignalFiltering:
    """1-D and 2-D filtering, correlation by matched filter: one call each."""

    params = (list(WORKLOADS), list(SYSTEMS))
    param_names = ["workload", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, name, system):
        # NotImplementedError (peer not installed, filter2D on a 1-D workload): skipped
        missing(_suite)
        self.run = _suite.signal_runner(name, system, threads())
        self.run()

    def time_signal(self, name, system):
        self.run()

    def peakmem_signal(self, name, system):
        self.run()

    time_signal.sample_time = 0.05
