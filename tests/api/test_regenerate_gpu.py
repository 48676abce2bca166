"""POST /runs/{id}/frames/{fid}/regenerate on a GPU provider in the cloud (moto S3 + DynamoDB + Batch): the API
claims the revision, records the request (the frame shows as rendering) and submits a Batch job to the GPU
queue, answering 202; the job's worker (services/edit/worker.py, run in-process here with the sketch renderer
or a failing provider) writes the new version through the edit step, or records why it failed and keeps the
current version."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.batch_simple.models import BatchSimpleBackend
from storyreel.services.edit import worker as edit_worker
from storyreel.services.images.providers.sketch import SketchRenderer
from storyreel.shared.aws.env import reset_clients, state
from storyreel.shared.aws.stores import create_table
from storyreel.shared.contracts import RunRecord, RunStatus
from storyreel.shared.settings import Settings

from testkit.aws import BUCKET, MOTO_CONFIG, REGION, TABLE, FakeLambdaContext, apigw_event, create_gpu_queue
from testkit.briefs import asr_transcript, build_run
from testkit.fakes import FakeImageProvider, make_providers

RUN = "20261203-120000-abc123"
KEY = "key-a"


def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
    from storyreel.services.api.handler import handler

    event = apigw_event(method, path, body)
    event["requestContext"]["identity"]["apiKeyId"] = KEY
    out = handler(event, FakeLambdaContext("storyreel-api"))
    return out["statusCode"], json.loads(out["body"])


@pytest.fixture
def cloud(monkeypatch, tmp_path):
    """A finished run in moto S3 + DynamoDB (owned by API key `key-a`), the GPU queue and job definition in moto
    Batch, named in the Api Lambda's environment as the stack names them (StageFunctions.grant_gpu_submit)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STORYREEL_BUCKET": BUCKET,
        "STORYREEL_TABLE": TABLE,
        "POWERTOOLS_SERVICE_NAME": "storyreel",
        "POWERTOOLS_METRICS_NAMESPACE": "storyreel-test",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "storyreel-test",
    }.items():
        monkeypatch.setenv(name, value)
    jobs: list[Any] = []
    # moto's docker-free Batch marks a job finished inside submit_job; here it stays submitted (kept to look at)
    # and the test runs the worker itself, after the API has answered, as Batch would.

    def keep(self: Any, include_start_attempt: bool, job: Any) -> None:
        self.backend._jobs[job.job_id] = job
        jobs.append(job)

    monkeypatch.setattr(BatchSimpleBackend, "_mark_job_as_finished", keep)
    with mock_aws(config=MOTO_CONFIG):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        reset_clients()
        queue = create_gpu_queue()
        monkeypatch.setenv("STORYREEL_GPU_JOB_QUEUE", queue["GpuJobQueueArn"])
        monkeypatch.setenv("STORYREEL_GPU_JOB_DEFINITION", queue["GpuJobDefinitionArn"])
        folder = build_run(tmp_path, asr_transcript(), limit_images=4, fail=None)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            s3.put_object(
                Bucket=BUCKET, Key=f"runs/{RUN}/{path.relative_to(folder).as_posix()}", Body=path.read_bytes()
            )
        settings = Settings.model_validate({"pipeline": {"limit_images": 4, "scenes": 5}})
        state().create(
            RunRecord(
                run_id=RUN,
                status=RunStatus.succeeded,
                source=f"s3://{BUCKET}/uploads/x.wav",
                output_dir=f"s3://{BUCKET}/runs/{RUN}/",
                options=settings.model_dump(mode="json"),
                owner=KEY,
            )
        )
        yield {"jobs": jobs, **queue}
        reset_clients()


def run_job(job: Any, provider: Any) -> int:
    """The GPU job as Batch runs it: its container environment, the edit worker (no claim waits in a test)."""
    env = {e["name"]: e["value"] for e in job.container_overrides["environment"]}
    assert env["STORYREEL_JOB"] == "regenerate"  # the images worker's entry point hands it to the edit worker
    return edit_worker.render(
        env["STORYREEL_RUN_ID"],
        env["STORYREEL_RENDER"],
        providers=make_providers(images=provider),
        sleep=lambda s: None,
    )


def test_a_gpu_re_render_is_a_batch_job_then_a_new_version(cloud):
    status, before = call("GET", f"/runs/{RUN}/storyboard")
    assert status == 200 and before["revision"] == 0 and before["renders"] == {}
    url_before = before["images"]["s1-start"]["url"]

    status, body = call(
        "POST",
        f"/runs/{RUN}/frames/s1-start/regenerate",
        {
            "revision": 0,
            "seed": 7,
            "prompt": "a red kite over the dunes",
            "with_end": True,
            "image_provider": "diffusers",
        },
    )
    assert status == 202, body
    assert body["status"] == "rendering" and body["frames"] == ["s1-start", "s1-end"]
    assert body["revision"] == 1 and body["job_id"]
    assert body["poll"] == {"storyboard": f"/runs/{RUN}/storyboard", "progress": f"/runs/{RUN}/progress"}

    # the job, as Batch got it: the stack's queue and job definition, the worker told what to render
    (job,) = cloud["jobs"]
    described = boto3.client("batch", region_name=REGION).describe_jobs(jobs=[body["job_id"]])["jobs"][0]
    assert described["jobQueue"] == cloud["GpuJobQueueArn"]
    assert described["jobDefinition"] == cloud["GpuJobDefinitionArn"]
    env = {e["name"]: e["value"] for e in job.container_overrides["environment"]}
    env.pop("AWS_BATCH_JOB_ID")  # moto's own, as Batch sets it in the container
    assert env == {"STORYREEL_JOB": "regenerate", "STORYREEL_RUN_ID": RUN, "STORYREEL_RENDER": "s1-start"}

    # while it renders: the frame shows as rendering, its current image is unchanged
    status, view = call("GET", f"/runs/{RUN}/storyboard")
    assert view["revision"] == 1
    rendering = view["renders"]["s1-start"]
    assert rendering["status"] == "rendering" and rendering["job_id"] == body["job_id"]
    assert rendering["seed"] == 7 and rendering["prompt"] == "a red kite over the dunes"
    assert view["images"]["s1-start"]["version"] is None
    assert call("GET", f"/runs/{RUN}/progress")[1]["renders"]["s1-start"]["status"] == "rendering"
    # the same frame again while it renders: 409, nothing written; moving scenes waits too (positions)
    status, again = call(
        "POST", f"/runs/{RUN}/frames/s1-end/regenerate", {"revision": 1, "image_provider": "diffusers"}
    )
    assert status == 409 and "rendering" in again["error"]
    status, moved = call("POST", f"/runs/{RUN}/scenes/1/move", {"revision": 1, "to": 2})
    assert status == 400 and "rendering on the GPU" in moved["error"]
    assert state().get(RUN).revision == 1

    assert run_job(job, SketchRenderer()) == edit_worker.EXIT_OK
    status, after = call("GET", f"/runs/{RUN}/storyboard")
    assert after["revision"] == 2 and after["renders"] == {}
    start = after["images"]["s1-start"]
    assert start["version"] == 2 and sorted(start["versions"]) == ["1", "2"]  # the first rendering kept as v1
    assert after["images"]["s1-end"]["version"] == 2
    scene = after["storyboard"]["scenes"][0]
    assert scene["start_frame"]["prompt"] == "a red kite over the dunes" and scene["start_frame"]["seed"] == 7
    assert scene["start_frame"]["image_key"] == "frames/s1-start.v2.png"
    assert [e["action"] for e in after["storyboard"]["edits"]][-2:] == ["regenerate", "regenerate"]
    assert start["url"] != url_before


def test_a_failed_gpu_render_keeps_the_current_version_and_says_why(cloud):
    status, body = call(
        "POST",
        f"/runs/{RUN}/frames/s2-start/regenerate",
        {"revision": 0, "seed": 3, "image_provider": "batch"},
    )
    assert status == 202, body
    (job,) = cloud["jobs"]
    before = call("GET", f"/runs/{RUN}/storyboard")[1]["storyboard"]["scenes"][1]["start_frame"]
    failing = FakeImageProvider(fail={"s2-start"}, error="CUDA out of memory")
    assert run_job(job, failing) == edit_worker.EXIT_FAILED
    status, view = call("GET", f"/runs/{RUN}/storyboard")
    failed = view["renders"]["s2-start"]
    assert failed["status"] == "failed" and "CUDA out of memory" in failed["error"] and failed["finished_at"]
    assert view["storyboard"]["scenes"][1]["start_frame"] == before  # the current version stays
    assert view["revision"] == 2  # the request, then its recorded failure
    # the request no longer blocks the frame: it can be asked for again
    status, _ = call(
        "POST", f"/runs/{RUN}/frames/s2-start/regenerate", {"revision": 2, "image_provider": "diffusers"}
    )
    assert (
        status == 202
        and call("GET", f"/runs/{RUN}/progress")[1]["renders"]["s2-start"]["status"] == "rendering"
    )


def test_a_refused_submit_is_recorded_and_answered_502(cloud, monkeypatch):
    monkeypatch.setenv("STORYREEL_GPU_JOB_QUEUE", cloud["GpuJobQueueArn"].replace("storyreel-gpu", "gone"))
    status, body = call(
        "POST", f"/runs/{RUN}/frames/s1-end/regenerate", {"revision": 0, "image_provider": "diffusers"}
    )
    assert status == 502 and "not submitted" in body["error"] and body["revision"] == 1
    failed = call("GET", f"/runs/{RUN}/storyboard")[1]["renders"]["s1-end"]
    assert failed["status"] == "failed" and "not submitted" in failed["error"]


def test_without_a_gpu_queue_a_gpu_provider_is_refused(cloud, monkeypatch):
    monkeypatch.delenv("STORYREEL_GPU_JOB_QUEUE")
    monkeypatch.delenv("STORYREEL_GPU_JOB_DEFINITION")
    status, body = call(
        "POST", f"/runs/{RUN}/frames/s1-start/regenerate", {"revision": 0, "image_provider": "diffusers"}
    )
    assert status == 409 and "no GPU queue" in body["error"]
    assert cloud["jobs"] == [] and state().get(RUN).revision == 0


def test_the_worker_waits_while_another_edit_holds_the_run(cloud):
    status, _ = call(
        "POST", f"/runs/{RUN}/frames/s1-start/regenerate", {"revision": 0, "image_provider": "diffusers"}
    )
    assert status == 202
    (job,) = cloud["jobs"]
    store = state()
    store.begin_edit(RUN, 1, "another-edit")  # held for the lease: the worker cannot claim it
    assert run_job(job, SketchRenderer()) == edit_worker.EXIT_TEMPORARY  # Batch retries the job
    assert call("GET", f"/runs/{RUN}/storyboard")[1]["renders"]["s1-start"]["status"] == "rendering"
