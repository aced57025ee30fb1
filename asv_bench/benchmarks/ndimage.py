"""fastconv.ndimage against scipy.ndimage and OpenCV on the image filters of
``python -m fastconv bench --suite ndimage`` (the same cases and peer calls)."""

from fastconv.bench import ndimage_suite

from . import (
    threads,
    timer,  # noqa: F401  (CPU time at one thread: see __init__)
)

CASES = [c[0] for c in ndimage_suite._cases()]


class NdimageFilters:
    """2048x2048 float32: convolve 5x5, gaussian sigma 3, uniform 9, maximum 3;
    (128, 128, 128) float32 gaussian sigma 2.  A system that is not installed
    (or has no such filter: OpenCV in 3-D) raises NotImplementedError."""

    params = (CASES, list(ndimage_suite.SYSTEMS))
    param_names = ["case", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, case, system):
        label, x, func, kw = next(c for c in ndimage_suite._cases() if c[0] == case)
        runners = ndimage_suite._runners((system,), x, func, kw, threads())
        if system not in runners:
            raise NotImplementedError(f"{system} cannot run {case}")
        self.run = runners[system]
        self.run()

    def time_filter(self, case, system):
        self.run()

    def peakmem_filter(self, case, system):
        self.run()
