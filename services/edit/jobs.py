"""A frame re-render as an AWS Batch job on the GPU queue the images stage uses (infra/constructs/gpu.py).

The job runs the GPU worker image with STORYREEL_JOB=regenerate, which hands it to services/edit/worker.py:
STORYREEL_RUN_ID names the run, STORYREEL_RENDER the frame whose request (renders/<frame>.json) it renders.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from storyreel.shared.contracts import RenderJob
from storyreel.shared.errors import ConfigError

QUEUE_ENV = "STORYREEL_GPU_JOB_QUEUE"  # set by infra (StageFunctions.grant_gpu_submit) with the GPU queue
DEFINITION_ENV = "STORYREEL_GPU_JOB_DEFINITION"
JOB_KIND = "regenerate"  # STORYREEL_JOB: the images worker hands such a job to services/edit/worker.py


def gpu_queue(environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """(job queue, job definition) of this deployment's GPU queue; None when it has none."""
    queue, definition = environ.get(QUEUE_ENV), environ.get(DEFINITION_ENV)
    if bool(queue) != bool(definition):
        raise ConfigError(f"{QUEUE_ENV} and {DEFINITION_ENV} go together; only one is set")
    return (queue, definition) if queue and definition else None


def job_environment(run_id: str, job: RenderJob) -> list[dict[str, str]]:
    return [
        {"name": "STORYREEL_JOB", "value": JOB_KIND},
        {"name": "STORYREEL_RUN_ID", "value": run_id},
        {"name": "STORYREEL_RENDER", "value": job.frame_id},
    ]


def submit(batch: Any, run_id: str, job: RenderJob, queue: str, definition: str) -> str:
    """Submit the re-render; returns the Batch job id. `batch`: a boto3 Batch client."""
    answer = batch.submit_job(
        jobName=f"regenerate-{run_id}-{job.frame_id}"[:128],
        jobQueue=queue,
        jobDefinition=definition,
        containerOverrides={"environment": job_environment(run_id, job)},
    )
    return str(answer["jobId"])
