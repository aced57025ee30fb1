"""
The sum of dice by repeated convolution
=======================================

If ``p`` is the distribution of one die's score, the distribution of the sum of two
independent dice is the convolution ``p * p``: each total ``s`` collects every way to
write ``s = a + b``. Ten dice are nine more convolutions. By the central limit theorem
the result approaches a normal distribution with mean ``10 * 3.5`` and variance
``10 * 35 / 12``.

With integer counts (how many of the ``6**n`` outcomes give each total),
:func:`fastconv.signal.convolve` computes in integers, so the counts are exact.
"""

import math

import matplotlib.pyplot as plt
import numpy as np

from fastconv import signal

one = np.ones(6, dtype=np.int64)  # counts of scores 1..6
counts = {1: one}
for n in range(2, 11):
    counts[n] = signal.convolve(counts[n - 1], one)

two = counts[2]
print("two dice, totals 2..12:", two.tolist())
assert two.tolist() == [1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1]
assert counts[10].dtype == np.int64 and counts[10].sum() == 6**10
# the exact count of one total of ten dice, by inclusion-exclusion
s = 35 - 10  # total 35 means sum of (score - 1) = 25
exact = sum((-1) ** j * math.comb(10, j) * math.comb(s - 6 * j + 9, 9) for j in range(s // 6 + 1))
assert counts[10][s] == exact

# %%
# The distributions: counts over ``6**n``, against the normal approximation.
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
for ax, n in zip(axes, [1, 2, 10]):
    totals = np.arange(n, 6 * n + 1)
    p = counts[n] / 6.0**n
    ax.bar(totals, p, width=0.8, color="C0")
    if n > 1:
        mu, var = 3.5 * n, 35 / 12 * n
        xs = np.linspace(totals[0], totals[-1], 300)
        ax.plot(xs, np.exp(-0.5 * (xs - mu) ** 2 / var) / np.sqrt(2 * np.pi * var),
                color="C3", label="normal approximation")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_title(f"{n} {'die' if n == 1 else 'dice'}")
    ax.set_xlabel("total")
axes[0].set_ylabel("probability")

plt.show()
