"""The batch's jobs on a Dask cluster (`verifier batch --scheduler tcp://HOST:PORT`), through
dask.distributed futures: many machines check a fleet of drivers, no home-made job system.

On a Dask worker a job runs in the worker process itself (Dask's nanny workers may not fork children),
so the limits are the cluster's: each entry point's emulation budget stops a spinning driver, the
worker's own memory limit bounds memory, and a job whose worker dies is reported as crashed (Dask
retries it on other workers `distributed.scheduler.allowed-failures` times first).
"""
from __future__ import annotations

import time

from distributed import Client, WorkerPlugin, as_completed

from verifier.worker import Job, attempt, prepare

PLUGIN_NAME = "hvci-verifier-prepared-kernel"
CONNECT_TIMEOUT = "20s"


class PreparedKernel(WorkerPlugin):
    """Warms each worker once at start (imports, handler catalog, rootfs export lists, argument
    decoders) so that no driver pays for it; the seconds it took are kept on the worker."""

    def setup(self, worker) -> None:
        worker.hvci_prepare_s = prepare()


def timed(job: Job) -> tuple[tuple, float]:
    start = time.perf_counter()
    result = attempt(job)
    return result, time.perf_counter() - start


def run_dask(jobs: list[Job], address: str, done) -> None:
    with Client(address, timeout=CONNECT_TIMEOUT) as client:
        client.register_plugin(PreparedKernel(), name=PLUGIN_NAME)
        futures = {client.submit(timed, job, pure=False): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result, seconds = future.result()
            except Exception as exc:        # KilledWorker: the driver took its worker(s) down
                result, seconds = ("crashed", f"the Dask worker failed: {type(exc).__name__}: {exc}"), 0.0
            done(job, result, seconds)
