"""fastconv.nn: train and run CNNs in NumPy with PyTorch's vocabulary and numbers.

Layers with explicit backward passes (no autograd) on fastconv's kernels, losses,
the SGD and Adam optimisers (:mod:`fastconv.nn.optim`), PyTorch's default
initialisation (:mod:`fastconv.nn.init`) and state_dict keys, so that a model
trained in PyTorch loads as ``model.load_state_dict({k: v.numpy() for k, v in
torch_model.state_dict().items()})`` and runs without PyTorch.

>>> import numpy as np
>>> from fastconv import nn
>>> model = nn.Sequential(
...     nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
...     nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
...     nn.Flatten(), nn.Linear(16 * 5 * 5, 10))
>>> opt = nn.optim.Adam(model.parameters(), lr=0.005)
>>> loss_fn = nn.CrossEntropyLoss()
>>> x = np.zeros((4, 1, 28, 28), dtype=np.float32); t = np.array([0, 1, 2, 3])
>>> opt.zero_grad()
>>> loss = loss_fn(model(x), t)
>>> _ = model.backward(loss_fn.backward(), input_grad=False)
>>> opt.step()
>>> [k for k in model.state_dict()][:3]
['0.weight', '0.bias', '3.weight']
"""

from fastconv.nn import data, init, optim
from fastconv.nn.activation import ReLU, Sigmoid, Tanh
from fastconv.nn.conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from fastconv.nn.dropout import Dropout
from fastconv.nn.linear import Flatten, Linear
from fastconv.nn.loss import CrossEntropyLoss, MSELoss
from fastconv.nn.module import Module, Parameter, Sequential
from fastconv.nn.norm import BatchNorm1d, BatchNorm2d
from fastconv.nn.pool import AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d

__all__ = [
    "Module", "Parameter", "Sequential",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "Linear", "Flatten", "ReLU", "Tanh", "Sigmoid", "Dropout", "BatchNorm1d", "BatchNorm2d",
    "CrossEntropyLoss", "MSELoss", "optim", "init", "data",
]
