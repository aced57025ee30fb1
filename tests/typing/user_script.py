"""A user's script, type-checked by tests/test_typing.py (mypy --strict): the
public API's annotations must let typical calls through and catch misuse
marked below with ``# type: ignore[...]`` (mypy's warn_unused_ignores turns
an ignore that is not needed, i.e. an error fastconv's hints do not catch,
into a failure)."""

import numpy as np
import numpy.typing as npt

import fastconv

x: npt.NDArray[np.float32] = np.ones((2, 3, 16, 16), dtype=np.float32)
w = np.ones((8, 3, 3, 3), dtype=np.float32)
b = np.zeros(8, dtype=np.float32)

y = fastconv.conv2d(x, w, b, stride=2, padding="same", padding_mode="reflect")
y2 = fastconv.conv(x, w, padding=((1, 0), (0, 1)), dilation=(1, 2), flip=True)
shape: tuple[int, ...] = y.shape
gx, gw, gb = fastconv.conv_backward(y2, x, w, padding=((1, 0), (0, 1)), dilation=(1, 2),
                                    flip=True, needs=("input", "weight"))
dx = fastconv.conv_input_grad(y, w, x.shape, stride=2, padding="same", padding_mode="reflect")
dw = fastconv.conv_weight_grad(x, y, w.shape, stride=2, padding="same", padding_mode="reflect")
t = fastconv.conv_transpose2d(y, np.ones((8, 3, 2, 2)), stride=2, output_padding=0)
p = fastconv.max_pool2d(x, 2)
pooled, idx = fastconv.max_pool(x, (2, 2), return_indices=True)
a = fastconv.avg_pool1d(np.ones((1, 2, 9)), 3, stride=2, count_include_pad=False)
info: dict[str, object] = fastconv.explain(x, w, padding=1)
fastconv.set_num_threads(1)
threads: int = fastconv.get_num_threads()
fastconv.set_winograd(fastconv.get_winograd())
fastconv.set_workspace_limit(fastconv.get_workspace_limit())
fastconv.clear_caches()

fastconv.conv2d(x, w, stride="2")  # type: ignore[arg-type]
fastconv.conv(x, w, groups=1.5)  # type: ignore[arg-type]
fastconv.conv1d(x, w, bogus=1)  # type: ignore[call-arg]
fastconv.set_winograd("yes")  # type: ignore[arg-type]
