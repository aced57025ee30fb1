"""Backward convolution (input gradient + weight gradient) on the conv workloads."""

from . import (
    bench_module,
    pin_threads,
    timer,  # noqa: F401 (asv times this module's benchmarks with it)
)

_baselines = bench_module("baselines")
_workloads = bench_module("workloads")
conv_backward_runner = _baselines.conv_backward_runner
CONV_WORKLOADS = _workloads.CONV_WORKLOADS
conv_workload = _workloads.conv_workload


class ConvBackward:
    """fastconv.conv_backward vs numpy / torch (aten.convolution_backward)."""

    params = ([w.name for w in CONV_WORKLOADS], ["fastconv", "numpy", "torch"])
    param_names = ["workload", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, name, system):
        pin_threads(system)
        wl = conv_workload(name)
        x, w, g = wl.arrays(grad=True)
        self.run = conv_backward_runner(system, wl, x, w, g)
        self.run()

    def time_backward(self, name, system):
        self.run()

    def peakmem_backward(self, name, system):
        self.run()

    time_backward.sample_time = 0.05
