"""
Training the course's model1 and model2 on handwritten digits
=============================================================

The course compares a fully connected network ("model1": flatten, 200, 100, 10 units
with ReLU) with a small convolutional one ("model2": a 5x5 convolution to 8 channels,
ReLU, 2x2 max pooling, a 3x3 convolution to 16 channels, ReLU, pooling, then a dense
layer to 10 classes), both trained with Adam at a learning rate of 0.005.

Here both are trained with :mod:`fastconv.nn` on scikit-learn's 1,797 real 8x8 digits
(shipped with the package: nothing is downloaded). 8x8 images are smaller than the
course's 28x28, so model2 pads its convolutions ('same': 2 and 1) to keep its planes
through both poolings. Then the trained model2 is saved as a PyTorch-style
``state_dict`` (plain arrays, PyTorch's keys) and served by a fresh model, as an
inference service would.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from fastconv import nn

digits = load_digits()
x = (digits.images / 16).astype(np.float32)[:, None]        # (1797, 1, 8, 8)
x_train, y_train, x_val, y_val = nn.data.train_val_split(x, digits.target, 0.2, seed=0)


def model1():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 200), nn.ReLU(),
                         nn.Linear(200, 100), nn.ReLU(), nn.Linear(100, 10))


def model2():
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10))


def train(model, epochs=15, seed=0):
    opt = nn.optim.Adam(model.parameters(), lr=0.005)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        for xb, yb in nn.data.batches(x_train, y_train, 64, rng=rng):
            opt.zero_grad()
            loss_fn(model(xb), yb)
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
        history.append(nn.data.accuracy(model, x_val, y_val))
    return history


nn.init.manual_seed(0)
m1, m2 = model1(), model2()
acc1, acc2 = train(m1), train(m2)
print(f"validation accuracy after {len(acc1)} epochs: model1 {acc1[-1]:.3f}, "
      f"model2 {acc2[-1]:.3f}")
assert min(acc1[-1], acc2[-1]) > 0.9          # ten classes: chance is 0.1

# %%
# Validation accuracy per epoch.
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
epochs = np.arange(1, len(acc1) + 1)
n1, n2 = (sum(p.data.size for p in m.parameters()) for m in (m1, m2))
ax.plot(epochs, acc1, "o-", label=f"model1 (fully connected, {n1:,} weights)")
ax.plot(epochs, acc2, "s-", label=f"model2 (convolutional, {n2:,} weights)")
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy")
ax.set_ylim(0.5, 1.0)
ax.grid(alpha=0.3)
ax.legend(loc="lower right")
ax.set_title("fastconv.nn on scikit-learn's digits (Adam, lr 0.005)")

# %%
# Serving: the ``state_dict`` holds plain arrays under PyTorch's keys, so it saves with
# ``np.savez`` and loads into a fresh model (in eval mode) with nothing but NumPy and
# fastconv. A PyTorch model's ``{k: v.numpy() for k, v in model.state_dict().items()}``
# loads the same way.
state = m2.state_dict()
print(sorted(state))
served = model2().eval()
served.load_state_dict(state)
pred = served(x_val).argmax(axis=1)
assert np.array_equal(pred, m2.eval()(x_val).argmax(axis=1))
print(f"served model2: {np.mean(pred == y_val):.3f} of {len(y_val)} validation digits right")

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4), layout="constrained")
for ax, img, p, t in zip(axes.flat, x_val[:16, 0], pred[:16], y_val[:16]):
    ax.imshow(img, cmap="gray_r")
    ax.set_title(f"{p}" + ("" if p == t else f" ({t})"), color="k" if p == t else "r")
    ax.axis("off")
fig.suptitle("predictions of the served model (true label in brackets where wrong)")
