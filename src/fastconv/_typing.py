"""Type aliases of the public API's annotations (for type checkers and help();
nothing here runs on a call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ArrayLike", "FloatArray", "IndexArray", "Size", "Padding", "Shape"]

FloatArray = NDArray[np.floating]
"""A result: float32 or float64."""
IndexArray = NDArray[np.int64]
"""Max pooling's flat argmax indices."""
Size = Union[int, Sequence[int]]
"""One int for every spatial axis, or one per axis."""
Padding = Union[int, str, Sequence[Union[int, tuple[int, int]]]]
"""An int, 'valid' / 'same' / 'full', one int per axis, or one (lo, hi) pair per axis."""
Shape = Sequence[int]
