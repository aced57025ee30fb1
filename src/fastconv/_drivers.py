"""The compiled drivers, each specialised for float32 and float64 once.

The drivers are Cython fused-type ``def`` functions: called plainly, each call
picks its specialisation from the buffers' types (0.2-0.3 us of a tiny call's
4-6 us, see docs/performance.md).  Indexed once here, a call goes straight to
the specialisation: ``max_pool_backward[x.dtype](...)``.  The same compiled code
runs either way, so every bit is the same.
"""

import numpy as np

from fastconv import _conv_kernels as _k

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _by_dtype(driver):
    return {_F32: driver["float"], _F64: driver["double"]}


conv_forward_rows = _by_dtype(_k.conv_forward_rows)
conv_forward_winograd = _by_dtype(_k.conv_forward_winograd)
conv_input_grad = _by_dtype(_k.conv_input_grad)
conv_weight_grad = _by_dtype(_k.conv_weight_grad)
depthwise_forward = _by_dtype(_k.depthwise_forward)
depthwise_input_grad = _by_dtype(_k.depthwise_input_grad)
depthwise_weight_grad = _by_dtype(_k.depthwise_weight_grad)
max_pool_backward = _by_dtype(_k.max_pool_backward)
avg_pool_backward = _by_dtype(_k.avg_pool_backward)
