"""Type stub of the compiled pooling kernels (_pool_kernels.pyx)."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

def simd_levels() -> int: ...
def max_pool_forward(x: NDArray[Any], y: NDArray[Any], indices: NDArray[np.int64],
                     with_indices: bool, planes: int, geo: tuple[Any, ...], tap_lo: NDArray[Any],
                     tap_hi: NDArray[Any], first_w: NDArray[Any], num_threads: int,
                     level: int = ...) -> None: ...
def max_pool_backward(gy: NDArray[Any], indices: NDArray[np.int64], gx: NDArray[Any], planes: int,
                      pin: int, pout: int, num_threads: int) -> int: ...
def avg_pool_forward(x: NDArray[Any], y: NDArray[Any], planes: int, geo: tuple[Any, ...],
                     tap_lo: NDArray[Any], tap_hi: NDArray[Any], fd: NDArray[np.int64],
                     fh: NDArray[np.int64], fw: NDArray[np.int64], divisor: Any, wide: bool,
                     num_threads: int, level: int = ...) -> int: ...
def avg_pool_backward(gy: NDArray[Any], gx: NDArray[Any], planes: int, geo: tuple[Any, ...],
                      tap_lo: NDArray[Any], tap_hi: NDArray[Any], fd: NDArray[np.int64],
                      fh: NDArray[np.int64], fw: NDArray[np.int64], divisor: Any,
                      num_threads: int) -> int: ...
