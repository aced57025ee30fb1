"""
Blur, sharpen and edge detection on a photograph
================================================

Image filters are 2-D convolutions with small kernels. This example runs a Gaussian
blur, a sharpening kernel and the Sobel edge detector on the cameraman photograph
that ships with scikit-image, through :func:`fastconv.conv2d`: the image is one
``(N=1, C=1, H, W)`` batch and the kernels ``(C_out, C_in=1, kH, kW)``, so the two
Sobel kernels run as the two output channels of one call.

Then the same blur, with a wide kernel, under each ``padding_mode``: what the filter
sees beyond the border decides what the border of the result looks like.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import fastconv

image = data.camera().astype(np.float32) / 255.0  # 512 x 512, grey levels in [0, 1]
x = image[None, None]


def gaussian_kernel(sigma):
    r = int(3 * sigma)
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


blur = fastconv.conv2d(x, gaussian_kernel(2.0)[None, None], padding="same",
                       padding_mode="reflect")[0, 0]

# sharpen: the image plus its difference from a blurred copy (an unsharp mask)
sharpen_kernel = -gaussian_kernel(1.0)
sharpen_kernel[3, 3] += 2.0  # 2 * identity - blur; its taps still sum to one
sharp = fastconv.conv2d(x, sharpen_kernel[None, None], padding="same",
                        padding_mode="reflect")[0, 0]

# %%
# Sobel: a derivative across one axis, smoothed along the other. Both kernels in one
# call, as two output channels; ``flip=True`` makes it a true convolution, so
# ``gx`` grows from left to right and ``gy`` from top to bottom.
sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)
sobel = np.stack([sobel_x, sobel_x.T])[:, None]  # (2, 1, 3, 3)
gx, gy = fastconv.conv2d(x, sobel, padding="same", padding_mode="replicate", flip=True)[0]
edges = np.hypot(gx, gy)

fig, axes = plt.subplots(2, 3, figsize=(11, 7.6), layout="constrained")
panels = [(image, "original"), (blur, "Gaussian blur (sigma 2)"),
          (np.clip(sharp, 0, 1), "sharpened (unsharp mask)"),
          (gx, "Sobel x (d/dx)"), (gy, "Sobel y (d/dy)"), (edges, "edge magnitude")]
for ax, (img, title) in zip(axes.flat, panels):
    if title.startswith("Sobel"):  # signed: blue negative, red positive
        lim = np.percentile(np.abs(img), 99.5)
        ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
    elif title.startswith("edge"):
        ax.imshow(img, cmap="gray", vmin=0, vmax=np.percentile(img, 99.5))
    else:
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_axis_off()

# %%
# Padding modes side by side
# --------------------------
# A 41 x 41 box blur of a corner of the photograph (its top-left 160 x 160 pixels).
# ``'zeros'`` darkens the border (black beyond it), ``'reflect'`` and ``'symmetric'``
# mirror the image, ``'replicate'`` repeats the edge pixels and ``'circular'`` wraps
# around, mixing the opposite edges in.
crop = image[:160, :160][None, None]
box = np.full((1, 1, 41, 41), 1 / 41**2, dtype=np.float32)
modes = ["zeros", "reflect", "symmetric", "replicate", "circular"]
fig, axes = plt.subplots(1, 6, figsize=(13, 2.8), layout="constrained")
axes[0].imshow(crop[0, 0], cmap="gray", vmin=0, vmax=1)
axes[0].set_title("corner")
for ax, mode in zip(axes[1:], modes):
    out = fastconv.conv2d(crop, box, padding="same", padding_mode=mode)[0, 0]
    ax.imshow(out, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"'{mode}'")
for ax in axes:
    ax.set_axis_off()

plt.show()
