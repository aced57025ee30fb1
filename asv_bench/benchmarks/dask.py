"""fastconv on dask arrays against dask-image (and PyTorch for model2 inference), on a
2-process ``distributed.LocalCluster``: the workloads of ``python -m fastconv bench
--suite dask`` (``fastconv.bench.dask_suite``), timed the same way (the result is
materialised on the workers).  Skipped (NotImplementedError) without dask/distributed
or the peer."""

WORKLOADS = ("conv5x5", "conv5x5_cnn", "gauss_s3", "gauss_s3_1d", "model2")
SYSTEMS = ("fastconv", "peer")


class DaskCluster:
    params = (list(WORKLOADS), list(SYSTEMS))
    param_names = ["workload", "system"]  # noqa: RUF012 (asv reads a list)
    timeout = 600
    number = 1
    repeat = 5

    def setup(self, workload, system):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise NotImplementedError("dask[array,distributed] is not installed") from None
        from fastconv.bench.dask_suite import make_workloads

        self.cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                    dashboard_address=None)
        self.client = Client(self.cluster)
        systems = make_workloads(self.client)[workload][1]
        names = [s for s in systems if (s == "fastconv") == (system == "fastconv")]
        if not names:
            self.teardown(workload, system)
            raise NotImplementedError(f"no peer installed for {workload}")
        self.make = systems[names[0]]
        self.run()                       # warm-up: imports and plans on the workers

    def run(self):
        from fastconv.bench.dask_suite import _task_count, _timed

        _timed(self.client, self.make, baseline=_task_count(self.client))

    def teardown(self, workload, system):
        self.client.close()
        self.cluster.close()

    def time_dask(self, workload, system):
        self.run()
