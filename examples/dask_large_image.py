"""
Scaling out with dask: filtering an image larger than a worker's memory
=======================================================================

Run:  ``python examples/dask_large_image.py``  (needs ``pip install "fastconv[dask]"``;
not run by the documentation build: it starts a local cluster).

A 16384 x 16384 float32 image (1 GiB) is created on a local cluster of two worker
processes (400 MB memory limit each), in 2048 x 2048 chunks.  fastconv filters it
lazily with a 5x5 kernel and 'reflect' padding: every chunk reads a 2-pixel halo
from its neighbours, the image's outer edge is padded by the mode itself, and the
result equals the in-memory call bit for bit.  Nothing is gathered on the client:
the result is reduced to a few numbers (or written with ``to_zarr``/``to_npy_stack``).
"""

import numpy as np


def main():
    import dask.array as da
    from distributed import Client, LocalCluster

    import fastconv

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      memory_limit="400MB", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        image = da.random.default_rng(0).random((16384, 16384), dtype=np.float32,
                                                chunks=2048)
        w = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32) / 256

        # (N, C, H, W) view of the image; lazy: nothing runs yet
        smooth = fastconv.conv2d(image[None, None], w[None, None], padding="same",
                                 padding_mode="reflect")[0, 0]
        edges = fastconv.max_pool2d(smooth[None, None], 2)[0, 0]    # 8192 x 8192
        stats = da.stack([smooth.mean(), smooth.std(), edges.max()])

        mean, std, peak = client.compute(stats, sync=True)
        print(f"mean {mean:.4f}  std {std:.4f}  max of the pooled image {peak:.4f}")

        # the same numbers as the in-memory call on one chunk-sized corner
        corner = image[:1024, :1024].compute()
        lazy = fastconv.conv2d(image[None, None, :1024, :1024].rechunk(256), w[None, None],
                               padding="same", padding_mode="reflect")
        assert np.array_equal(client.compute(lazy, sync=True)[0, 0],
                              fastconv.conv2d(corner[None, None], w[None, None],
                                              padding="same", padding_mode="reflect")[0, 0])
        print("chunked result == in-memory result (bit for bit)")


if __name__ == "__main__":
    main()
