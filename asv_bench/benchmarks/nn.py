"""fastconv.nn vs PyTorch: training steps (forward, loss, backward, Adam) of the course's
model2 on 28x28 inputs at batches 1, 64 and 1,000, and inference of one image.
The cases are ``fastconv.bench.nn_suite``'s, which ``python -m fastconv bench --suite nn``
times the same way."""

from . import (
    MISSING,
    missing,
    optional_suite,
    pin_threads,
    timer,  # noqa: F401 (asv times this module's benchmarks with it)
)

_suite = optional_suite("nn_suite")   # added in 8605e55
CASES = _suite.CASES if _suite else [(MISSING, 0, False)]


class Model2:
    """One step of model2 (``train b*``) or one inference (``infer b1``)."""

    params = ([name for name, _, _ in CASES], ["fastconv", "torch"])
    param_names = ["case", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, case, system):
        missing(_suite)
        _, batch, train = next(c for c in CASES if c[0] == case)
        pin_threads(system)
        if system == "torch":
            try:
                import torch  # noqa: F401
            except ImportError:
                raise NotImplementedError("torch is not installed") from None
        self.run = _suite.make_case(system, batch, train)
        self.run()

    def time_step(self, case, system):
        self.run()

    def peakmem_step(self, case, system):
        self.run()
