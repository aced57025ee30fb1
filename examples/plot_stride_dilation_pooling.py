"""
Stride, dilation and pooling on a small grid
============================================

Which input cells does one output of a 3 x 3 convolution read? Stride moves the
window by more than one cell between neighbouring outputs; dilation spreads the
kernel's taps apart. The numbers on each grid are computed by fastconv: with a kernel
of ones, each output is the sum of the cells it reads.

Last, 2 x 2 max pooling with stride 2 keeps the largest value of each block, and
``return_indices=True`` says where it was (a flat index into the plane, as PyTorch).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import fastconv

x = np.arange(49, dtype=np.float64).reshape(7, 7) % 10  # the input, digits 0..9
w = np.ones((1, 1, 3, 3))


def draw_grid(ax, values, title, highlight=(), colour="C1", fmt="{:g}"):
    h, wdt = values.shape
    ax.set_xlim(-0.5, wdt - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_aspect("equal")
    for (i, j) in highlight:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, color=colour, alpha=0.55))
    for i in range(h):
        for j in range(wdt):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=0.8))
            ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


cases = [("stride 1", dict(stride=1, dilation=1)),
         ("stride 2", dict(stride=2, dilation=1)),
         ("dilation 2", dict(stride=1, dilation=2))]
fig, axes = plt.subplots(2, 3, figsize=(11, 7.5), layout="constrained")
for col, (name, kw) in enumerate(cases):
    y = fastconv.conv2d(x[None, None], w, **kw)[0, 0]
    s, d = kw["stride"], kw["dilation"]
    oi, oj = 1, 1  # the output shown
    cells = [(oi * s + a * d, oj * s + b * d) for a in range(3) for b in range(3)]
    assert y[oi, oj] == sum(x[c] for c in cells)
    draw_grid(axes[0, col], x, f"{name}: input cells of output (1, 1)", cells)
    draw_grid(axes[1, col], y, f"output {y.shape[0]} x {y.shape[1]}", [(oi, oj)], "C0")

# %%
# Max pooling
# -----------
# ``max_pool2d(x, 2)`` (the stride defaults to the kernel size): a 6 x 6 plane gives
# 3 x 3 outputs, each the largest of its block (green: the winners). On a tie, as in
# the top-left block, the first maximum in row-major order wins, as in PyTorch.
rng = np.random.default_rng(3)
p_in = rng.integers(0, 10, size=(6, 6)).astype(np.float64)
pooled, idx = fastconv.max_pool2d(p_in[None, None], 2, return_indices=True)
pooled, idx = pooled[0, 0], idx[0, 0]
winners = [divmod(int(i), p_in.shape[1]) for i in idx.ravel()]
fig, axes = plt.subplots(1, 3, figsize=(11, 4), layout="constrained")
draw_grid(axes[0], p_in, "input (2 x 2 blocks)", winners, "C2")
for k in range(1, 3):
    axes[0].axhline(2 * k - 0.5, color="k", lw=2)
    axes[0].axvline(2 * k - 0.5, color="k", lw=2)
draw_grid(axes[1], pooled, "max_pool2d(x, 2)")
draw_grid(axes[2], idx, "indices (flat, into the plane)", fmt="{:d}")

plt.show()
