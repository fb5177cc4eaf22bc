"""The soak's worker: production's (penguinflow.common.workers.Worker), which also adds up the CPU each kind of job
used, so that the soak can say where the workers' time went. Into two Redis hashes of the soak's own database,
once per job (a killed worker loses only the job it was running)."""

from __future__ import annotations

import time

from penguinflow.common.workers import Worker

JOB_CPU_KEY, JOB_COUNT_KEY = "bench:soak:job-cpu-s", "bench:soak:jobs"


class MeasuredWorker(Worker):
    def perform_job(self, job, queue) -> bool:
        started = time.process_time()  # the process's, its threads' included: deliveries send from a thread pool
        try:
            return super().perform_job(job, queue)
        finally:
            pipe = self.connection.pipeline(transaction=False)
            pipe.hincrbyfloat(JOB_CPU_KEY, job.func_name, time.process_time() - started)
            pipe.hincrby(JOB_COUNT_KEY, job.func_name, 1)
            pipe.execute()
