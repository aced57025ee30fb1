"""Forward convolution on the workloads of shared/workloads.md."""

from . import (
    SCIPY_CONV_WORKLOADS,
    bench_module,
    pin_threads,
    timer,  # noqa: F401 (asv times this module's benchmarks with it)
)

_baselines = bench_module("baselines")
_workloads = bench_module("workloads")
SYSTEMS = _baselines.SYSTEMS
conv_forward_runner = _baselines.conv_forward_runner
CONV_WORKLOADS = _workloads.CONV_WORKLOADS
conv_workload = _workloads.conv_workload


class ConvForward:
    """fastconv.conv vs numpy / torch / scipy, float32, one call per sample."""

    params = ([w.name for w in CONV_WORKLOADS], list(SYSTEMS))
    param_names = ["workload", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, name, system):
        if system == "scipy" and name not in SCIPY_CONV_WORKLOADS:
            raise NotImplementedError("SciPy conv too slow on this workload")
        pin_threads(system)
        wl = conv_workload(name)
        x, w = wl.arrays()
        self.run = conv_forward_runner(system, wl, x, w)   # NotImplementedError: skip
        self.run()   # warm-up: plans, thread pools, page faults

    def time_conv(self, name, system):
        self.run()

    def peakmem_conv(self, name, system):
        self.run()

    time_conv.sample_time = 0.05


class ForwardKernel:
    """fastconv's forward kernels forced in turn on the layers "auto" runs by
    Winograd when it is enabled (fastconv.set_winograd; off by default): the
    policy's direct GEMM vs Winograd (F(2x2, 3x3), F(2x2x2, 3x3x3), and F(2, 3)
    on each three of eeg1d_k7's 7 taps)."""

    params = (["vgg3x3", "dil3x3d2", "vol3d", "eeg1d_k7"], ["direct", "winograd"])
    param_names = ["workload", "kernel"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, name, kernel):
        from fastconv import _conv_kernels

        pin_threads("fastconv")
        wl = conv_workload(name)
        x, w = wl.arrays()
        self.kernels = _conv_kernels
        self.run = conv_forward_runner("fastconv", wl, x, w)
        _conv_kernels.set_forward_kernel(kernel)
        self.run()

    def teardown(self, name, kernel):
        self.kernels.set_forward_kernel("auto")

    def time_kernel(self, name, kernel):
        self.run()

    time_kernel.sample_time = 0.05
