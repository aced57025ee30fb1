"""
An LTI system: impulse response and output
==========================================

A linear time-invariant system is characterised by its impulse response ``h``: its
output for any input ``x`` is the convolution ``y = x * h``. Here the system is a
damped oscillator (a mass on a spring with friction) sampled at 100 Hz, written as the
difference equation ``y[n] = a1 y[n-1] + a2 y[n-2] + b x[n]``.

We measure ``h`` by feeding the recursion a unit impulse, then predict the response to
a step and to a noisy pulse train by :func:`fastconv.signal.convolve`, and check the
prediction against the recursion run on those inputs.
"""

import matplotlib.pyplot as plt
import numpy as np

from fastconv import signal

fs = 100.0  # samples per second
f0, zeta = 2.0, 0.1  # natural frequency (Hz) and damping ratio
r = np.exp(-zeta * 2 * np.pi * f0 / fs)
theta = 2 * np.pi * f0 / fs * np.sqrt(1 - zeta**2)
a1, a2 = 2 * r * np.cos(theta), -(r**2)
b = 1 - a1 - a2  # unit gain at rest


def run_system(x):
    """The system itself: its difference equation, one sample at a time."""
    y = np.zeros(len(x))
    for n in range(len(x)):
        y[n] = b * x[n] + (a1 * y[n - 1] if n >= 1 else 0) + (a2 * y[n - 2] if n >= 2 else 0)
    return y


n = 600
t = np.arange(n) / fs
impulse = np.zeros(n)
impulse[0] = 1.0
h = run_system(impulse)  # the impulse response (decays to ~1e-6 within 6 s)

# %%
# Two inputs: a step at 0.5 s, and a train of pulses with noise.
rng = np.random.default_rng(0)
step = (t >= 0.5).astype(float)
pulses = np.zeros(n)
pulses[::120] = 40.0
pulses += 0.5 * rng.standard_normal(n)

fig, axes = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True, layout="constrained")
axes[0].plot(t, h, color="C3")
axes[0].set_title("impulse response h", loc="left")
for ax, x, name in [(axes[1], step, "a step"), (axes[2], pulses, "noisy pulses")]:
    y = signal.convolve(x, h)[:n]  # the output up to time n: the causal part
    err = np.max(np.abs(y - run_system(x)))
    print(f"{name}: max |convolution - recursion| = {err:.1e}")
    assert err < 1e-9 * max(1.0, np.max(np.abs(y)))
    ax.plot(t, x, color="0.7", lw=0.8, label="input x")
    ax.plot(t, y, color="C0", lw=1.5, label="output y = x * h")
    ax.set_title(f"response to {name}", loc="left")
    ax.legend(loc="upper right", fontsize="small")
axes[2].set_ylim(-3, 6)
axes[-1].set_xlabel("time (s)")

plt.show()
