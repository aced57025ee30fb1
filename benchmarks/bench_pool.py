"""Timing of fastconv pooling against torch.nn.functional on the workloads of
shared/workloads.md (input (8, 64, 112, 112) float32), alternating A B A B.

Run: PYTHONPATH=. python benchmarks/bench_pool.py [repeats]
Prints medians (ms), the ratio torch / fastconv, the geometric mean, and the
bandwidth of max2x2s2 against np.copyto of the input.
"""
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fastconv import get_num_threads
from fastconv.pool import avg_pool2d, max_pool2d, max_pool_backward


def median_pair(fa, fb, reps):
    ta, tb = [], []
    fa(), fb()
    for _ in range(reps):
        t0 = time.perf_counter(); fa(); ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); fb(); tb.append(time.perf_counter() - t0)
    return np.median(ta) * 1e3, np.median(tb) * 1e3


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    torch.set_num_threads(get_num_threads())
    x = np.random.default_rng(0).standard_normal((8, 64, 112, 112)).astype(np.float32)
    xt = torch.from_numpy(x)
    _, idx = max_pool2d(x, 2, 2, return_indices=True)
    gy = np.ones((8, 64, 56, 56), np.float32)
    gyt = torch.from_numpy(gy)

    def torch_fwd_bwd():
        xr = xt.detach().requires_grad_()
        y = F.max_pool2d(xr, 2, 2)
        y.backward(gyt)

    def fc_fwd_bwd():
        y, i = max_pool2d(x, 2, 2, return_indices=True)
        max_pool_backward(gy, i, x.shape)

    cases = [
        ("max2x2s2", lambda: max_pool2d(x, 2, 2), lambda: F.max_pool2d(xt, 2, 2)),
        ("max3x3s2p1", lambda: max_pool2d(x, 3, 2, 1), lambda: F.max_pool2d(xt, 3, 2, 1)),
        ("avg2x2s2", lambda: avg_pool2d(x, 2, 2), lambda: F.avg_pool2d(xt, 2, 2)),
        ("avg3x3s1p1", lambda: avg_pool2d(x, 3, 1, 1), lambda: F.avg_pool2d(xt, 3, 1, 1)),
        ("max2x2 fwd+bwd", fc_fwd_bwd, torch_fwd_bwd),
    ]
    print(f"threads: fastconv {get_num_threads()}, torch {torch.get_num_threads()}")
    print(f"{'workload':16s} {'fastconv ms':>12s} {'torch ms':>10s} {'speedup':>8s}")
    ratios = []
    for name, fa, fb in cases:
        a, b = median_pair(fa, fb, reps)
        ratios.append(b / a)
        print(f"{name:16s} {a:12.2f} {b:10.2f} {b / a:8.2f}")
    print(f"geomean speedup {np.exp(np.mean(np.log(ratios))):.2f}")
    dst = np.empty_like(x)
    a, b = median_pair(lambda: max_pool2d(x, 2, 2), lambda: np.copyto(dst, x), reps)
    moved_pool = x.nbytes * 1.25        # read x, write y (x / 4)
    moved_copy = x.nbytes * 2
    print(f"max2x2s2 {moved_pool / a / 1e6:.1f} GB/s (read+write) vs np.copyto "
          f"{moved_copy / b / 1e6:.1f} GB/s; ratio {moved_pool / a / (moved_copy / b):.2f}")


if __name__ == "__main__":
    main()
