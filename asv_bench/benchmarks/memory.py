"""Peak memory (asv ``peakmem_``) of the cases that grew with outputs x taps
before issue 17: long 1-D kernels, 3-D volumes bigger than a thread's share of
the workspace, and depthwise volumes.  asv reports the process's peak resident
size: the inputs + the result + fastconv's workspace (at most 64 MiB)."""

import numpy as np

import fastconv

from . import pin_threads

CASES = {
    # name: (x shape, w shape, kwargs)
    "long1d_1e6x2000": ((1, 1, 10**6), (1, 1, 2000), dict(padding="same")),
    "long1d_1e6x2000_reflect": ((1, 1, 10**6), (1, 1, 2000),
                                dict(padding="same", padding_mode="reflect")),
    "volume_8x96x128x128": ((1, 8, 96, 128, 128), (8, 8, 3, 3, 3), dict(padding=1)),
    "depthwise_volume": ((1, 8, 96, 128, 128), (8, 1, 3, 3, 3), dict(padding=1, groups=8)),
}


class PeakMemory:
    params = (list(CASES), ["forward", "input_grad", "weight_grad"])
    param_names = ["case", "op"]  # noqa: RUF012 (asv reads a list)
    timeout = 300

    def setup(self, name, op):
        pin_threads("fastconv")
        xs, ws, self.kw = CASES[name]
        self.x = np.ones(xs, np.float32)
        self.w = np.ones(ws, np.float32)
        self.g = np.ones(fastconv.conv(self.x, self.w, **self.kw).shape, np.float32)

    def peakmem_call(self, name, op):
        if op == "forward":
            fastconv.conv(self.x, self.w, **self.kw)
        elif op == "input_grad":
            fastconv.conv_input_grad(self.g, self.w, self.x.shape, **self.kw)
        else:
            fastconv.conv_weight_grad(self.x, self.g, self.w.shape, **self.kw)
