"""2-d max / average pooling on (8, 64, 112, 112), and max-pool forward + backward."""

from . import (
    bench_module,
    pin_threads,
    timer,  # noqa: F401 (asv times this module's benchmarks with it)
)

_baselines = bench_module("baselines")
_workloads = bench_module("workloads")
SYSTEMS = _baselines.SYSTEMS
pool_runner = _baselines.pool_runner
POOL_WORKLOADS = _workloads.POOL_WORKLOADS
pool_workload = _workloads.pool_workload


class Pooling:
    """fastconv.max_pool / avg_pool (/ max_pool_backward) vs numpy / torch / scipy."""

    params = ([w.name for w in POOL_WORKLOADS], list(SYSTEMS))
    param_names = ["workload", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, name, system):
        wl = pool_workload(name)
        pin_threads(system)
        arrays = wl.arrays(grad=wl.backward)
        self.run = pool_runner(system, wl, arrays[0], arrays[1] if wl.backward else None)
        self.run()

    def time_pool(self, name, system):
        self.run()

    def peakmem_pool(self, name, system):
        self.run()

    time_pool.sample_time = 0.05
