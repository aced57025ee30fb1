"""Layer configurations shared by the fastconv.nn tests: (name, args, kwargs, input shape)."""

LAYER_CASES = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 11)),
    ("Conv1d", (4, 6, 5), dict(stride=2, padding=2, dilation=1, groups=2), (2, 4, 17)),
    ("Conv1d", (3, 4, 3), dict(padding="same", padding_mode="reflect"), (2, 3, 9)),
    ("Conv2d", (1, 8, 5), {}, (3, 1, 12, 12)),
    ("Conv2d", (4, 6, 3), dict(stride=2, padding=1, groups=2, bias=False), (2, 4, 9, 8)),
    ("Conv2d", (3, 5, (3, 2)), dict(padding=(1, 2), dilation=(2, 1),
                                    padding_mode="circular"), (2, 3, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="replicate"), (2, 3, 6, 6)),
    ("Conv3d", (2, 3, 3), dict(padding=1), (2, 2, 5, 4, 6)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 7)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, groups=2), (2, 4, 5, 4)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(dilation=2, bias=False), (2, 3, 4, 5)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2), (2, 2, 3, 3, 2)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 10)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, dilation=1, ceil_mode=True), (2, 3, 9, 7)),
    ("MaxPool3d", (2,), dict(stride=1), (2, 2, 4, 3, 5)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 10)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True, divisor_override=5),
     (2, 3, 9, 7)),
    ("AvgPool3d", (2,), dict(stride=1, padding=1), (2, 2, 4, 3, 5)),
    ("Linear", (7, 5), {}, (4, 7)),
    ("Linear", (7, 5), dict(bias=False), (2, 3, 7)),
    ("ReLU", (), {}, (4, 9)),
    ("Tanh", (), {}, (3, 2, 5)),
    ("Sigmoid", (), {}, (3, 2, 5)),
    ("Flatten", (), {}, (3, 2, 4, 5)),
    ("Flatten", (), dict(start_dim=2), (3, 2, 4, 5)),
    ("BatchNorm1d", (4,), {}, (6, 4)),
    ("BatchNorm1d", (4,), dict(momentum=None), (5, 4, 3)),
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 6)),
    ("BatchNorm2d", (3,), dict(affine=False), (4, 3, 5, 6)),
]

HAS_PARAMS = ("Conv", "ConvTranspose", "Linear", "BatchNorm")


def case_id(case):
    name, args, kwargs, shape = case
    kw = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}{args}{'[' + kw + ']' if kw else ''}-{'x'.join(map(str, shape))}"
