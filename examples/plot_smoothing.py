"""
Smoothing a noisy 1-D signal
============================

An EEG recording (the sample that ships with matplotlib: four channels of 800
samples) smoothed by two low-pass kernels: a moving average and a Gaussian window.
Each is a convolution of the signal with a kernel that sums to one, computed for all
four channels at once by :func:`fastconv.conv1d` with ``padding='same'`` (as many
outputs as samples) and ``padding_mode='reflect'`` (the ends are mirrored rather than
pulled towards zero).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

import fastconv

with cbook.get_sample_data("eeg.dat") as f:
    eeg = np.fromfile(f, dtype=float).reshape(800, 4).T  # (channels, samples)
eeg = eeg - eeg.mean(axis=1, keepdims=True)
t = np.arange(eeg.shape[1])

# %%
# Two kernels of 21 taps.
taps = 21
box = np.full(taps, 1.0 / taps)
g = np.exp(-0.5 * (np.arange(taps) - taps // 2) ** 2 / 4.0**2)
gauss = g / g.sum()

# %%
# The four channels are four signals of one batch: ``(N=4, C=1, length)``; one kernel
# ``(C_out=1, C_in=1, taps)`` applies to each.
x = eeg[:, None, :]
smooth_box = fastconv.conv1d(x, box[None, None], padding="same",
                             padding_mode="reflect", flip=True)[:, 0]
smooth_gauss = fastconv.conv1d(x, gauss[None, None], padding="same",
                               padding_mode="reflect", flip=True)[:, 0]

fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True, layout="constrained")
for ax, ch in zip(axes, [0, 2]):
    ax.plot(t, eeg[ch], color="0.7", lw=0.8, label="recorded")
    ax.plot(t, smooth_box[ch], lw=1.5, label=f"moving average ({taps} taps)")
    ax.plot(t, smooth_gauss[ch], lw=1.5, label="Gaussian window (sigma 4)")
    ax.set_title(f"EEG channel {ch}", loc="left")
axes[0].legend(loc="upper right", fontsize="small")
axes[-1].set_xlabel("sample")

# %%
# What the kernels keep: their frequency responses
# ------------------------------------------------
# Convolution multiplies spectra. The moving average lets through ripples of high
# frequency (its side lobes); the Gaussian window falls off smoothly.
freqs = np.fft.rfftfreq(512)
fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
ax.plot(freqs, 20 * np.log10(np.abs(np.fft.rfft(box, 512)) + 1e-12), label="moving average")
ax.plot(freqs, 20 * np.log10(np.abs(np.fft.rfft(gauss, 512)) + 1e-12), label="Gaussian")
ax.set_ylim(-80, 5)
ax.set_xlabel("frequency (cycles per sample)")
ax.set_ylabel("gain (dB)")
ax.legend()

plt.show()
