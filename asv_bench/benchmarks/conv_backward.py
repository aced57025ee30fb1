"""Backward convolution (input gradient + weight gradient) on the conv workloads."""

from fastconv.bench.baselines import conv_backward_runner
from fastconv.bench.workloads import CONV_WORKLOADS, conv_workload

from . import pin_threads


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
