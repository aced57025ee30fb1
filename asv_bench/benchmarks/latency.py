"""Latency of small and batch-1 calls (the table of ``python -m fastconv bench
--latency``): each op on (1,1,8,8), (1,8,24,24), (1,64,56,56), the small CNN
"model2" on one 28x28 image, and 1-D convolutions of 1e5 samples, fastconv
against PyTorch."""

from . import (
    MISSING,
    missing,
    optional_suite,
    pin_threads,
    timer,  # noqa: F401 (asv times this module's benchmarks with it)
)

_suite = optional_suite("latency")   # added in 1ed4beb
_NAMES = [c.name for c in _suite.latency_cases() if c.first is None] if _suite else [MISSING]


class Latency:
    """Repeat calls (plans cached); the first-call rows are in FirstCall."""

    params = (_NAMES, ["fastconv", "torch"])
    param_names = ["case", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 120

    def setup(self, name, system):
        missing(_suite)
        with_torch = system == "torch"
        if with_torch:
            try:
                import torch  # noqa: F401
            except ImportError:
                raise NotImplementedError("torch is not installed") from None
        pin_threads(system)
        case = {c.name: c for c in _suite.latency_cases(with_torch)}[name]
        self.run = case.torch if with_torch else case.fastconv
        self.run()

    def time_call(self, name, system):
        self.run()


class FirstCall:
    """The first call of a new shape (fastconv's caches cleared): at most 2x the
    repeat call (issue 17)."""

    params = ([15, 255, 2000],)
    param_names = ["taps"]  # noqa: RUF012 (asv reads a list)
    number = 1
    repeat = 5
    timeout = 120

    def setup(self, taps):
        missing(_suite)
        import numpy as np

        import fastconv

        pin_threads("fastconv")
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((1, 1, 100_000), dtype=np.float32)
        self.w = rng.standard_normal((1, 1, taps), dtype=np.float32)
        fastconv.clear_caches()

    def time_first_call(self, taps):
        import fastconv

        fastconv.conv1d(self.x, self.w)
