"""
Convolution, cross-correlation and the three output sizes
=========================================================

Neural networks call *convolution* what signal processing calls
*cross-correlation*: the kernel slides over the signal without being flipped.
:func:`fastconv.conv1d` computes the cross-correlation by default and the true
convolution with ``flip=True``; :mod:`fastconv.signal` follows SciPy, where
``convolve`` flips and ``correlate`` does not.

The output size depends on how far the kernel may hang over the ends of the signal:
``'valid'`` keeps only the outputs where it lies wholly inside, ``'same'`` keeps as
many outputs as inputs and ``'full'`` every output that touches the signal.
"""

import matplotlib.pyplot as plt
import numpy as np

import fastconv
from fastconv import signal

x = np.array([0.0, 1.0, 2.0, 3.0, 2.0, 0.0, 0.0, 1.0])
k = np.array([1.0, 0.5, -1.0])  # asymmetric, so flipping it shows

# %%
# fastconv's arrays are ``(N, C, length)``: one signal, one channel here.
corr = fastconv.conv1d(x[None, None], k[None, None], padding="full")[0, 0]
conv = fastconv.conv1d(x[None, None], k[None, None], padding="full", flip=True)[0, 0]
print("cross-correlation:", corr)
print("convolution:      ", conv)
assert np.allclose(conv, np.convolve(x, k))
assert np.allclose(corr, np.correlate(x, k, mode="full"))

fig, axes = plt.subplots(1, 3, figsize=(11, 3), sharey=True, layout="constrained")
for ax, (title, y) in zip(axes, [("signal x", x), ("correlate(x, k)", corr),
                                 ("convolve(x, k)", conv)]):
    ax.stem(np.arange(len(y)), y, basefmt="k-")
    ax.set_title(title)
    ax.set_xlabel("index")
axes[0].text(0.02, 0.95, f"kernel k = {k.tolist()}", transform=axes[0].transAxes, va="top")

# %%
# 'full', 'same' and 'valid'
# --------------------------
# The three sizes of ``signal.convolve`` (SciPy's alignment) and of ``conv1d``'s
# ``padding``: 10, 8 and 6 outputs for 8 inputs and 3 taps.
modes = ["full", "same", "valid"]
fig, axes = plt.subplots(3, 1, figsize=(8, 6), sharex=True, layout="constrained")
for ax, mode in zip(axes, modes):
    y = signal.convolve(x, k, mode=mode)
    y2 = fastconv.conv1d(x[None, None], k[None, None], padding=mode, flip=True)[0, 0]
    assert np.allclose(y, y2)
    # place each output under the input position its kernel centre is on
    start = {"full": -1, "same": 0, "valid": 1}[mode]
    pos = np.arange(start, start + len(y))
    ax.axvspan(-0.5, len(x) - 0.5, color="0.92", zorder=0)
    ax.stem(pos, y, basefmt="k-")
    ax.set_title(f"mode='{mode}': {len(y)} outputs", loc="left")
    ax.set_xlim(-1.7, len(x) + 0.7)
axes[-1].set_xlabel("position of the kernel's centre (grey: the signal)")

plt.show()
