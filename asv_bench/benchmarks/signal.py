"""fastconv.signal against SciPy's ways of getting the same result, and OpenCV's
filter2D on the 2-D workloads (fastconv.bench.signal_suite: the workloads of
``python -m fastconv bench --suite signal``)."""

from fastconv.bench.signal_suite import SYSTEMS, WORKLOADS, signal_runner

from . import threads


class SignalFiltering:
    """1-D and 2-D filtering, correlation by matched filter: one call each."""

    params = (list(WORKLOADS), list(SYSTEMS))
    param_names = ["workload", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, name, system):
        # NotImplementedError (peer not installed, filter2D on a 1-D workload): skipped
        self.run = signal_runner(name, system, threads())
        self.run()

    def time_signal(self, name, system):
        self.run()

    def peakmem_signal(self, name, system):
        self.run()

    time_signal.sample_time = 0.05
