"""The real ASL file in moto's state-machine interpreter, its Lambda tasks bridged to the real handlers
in-process (testkit.aws.install_lambda_bridge), started by the real intake handler from an S3 upload event."""

from __future__ import annotations

import json

import boto3
import pytest
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.shared.aws.env import state
from storyreel.shared.contracts import RunStatus, Storyboard, ViralityReport
from storyreel.shared.errors import InputError

from testkit.aws import REGION, blob, start_run, wait
from testkit.fakes import FakeImageProvider, FakeTranscriber, use_provider

IMAGES = {
    "skip": {"pipeline": {"skip_image_generation": True}},
    "preview": {"pipeline": {"limit_images": 3, "background_full_render": True}},
    "all": {"pipeline": {"limit_images": None}},
}
VIRALITY = {
    "on": {"pipeline": {"virality_evaluation": True}},
    "off": {"pipeline": {"virality_evaluation": False}},
}


def options(images: str, virality: str) -> dict:
    from storyreel.shared.settings import deep_merge

    base = {"pipeline": {"scenes": 3}, "image_generation": {"seed": 7}}
    return deep_merge(deep_merge(base, IMAGES[images]), VIRALITY[virality])


@pytest.mark.parametrize("virality", ["on", "off"])
@pytest.mark.parametrize("images", ["skip", "preview", "all"])
def test_every_fast_mode_branch(machine, images, virality):
    run_id = start_run(options(images, virality))
    done = wait(run_id)
    assert done["status"] == "SUCCEEDED", done
    assert done["name"] == run_id

    record = state().get(run_id)
    assert record.status == RunStatus.succeeded
    assert {"transcribe", "context", "choose", "scenes", "virality", "optimizer", "finalize"} <= set(
        record.stages
    )
    assert all(t.status in ("succeeded", "skipped") for t in record.stages.values())
    assert ("images" in record.stages) == (images == "skip")  # a Map run times each scene: images.s1, ...
    if images == "skip":
        assert record.stages["images"].status == "skipped"
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert board.status == RunStatus.succeeded and board.decision.variant
    assert record.variant == board.decision.variant
    assert b"<html" in blob(run_id, "index.html").lower()

    rendered = {"skip": 0, "preview": 3, "all": 6}[images]
    left = "skipped" if images == "skip" else "pending"
    assert (board.frames.total, board.frames.rendered, getattr(board.frames, left)) == (
        6,
        rendered,
        6 - rendered,
    )
    assert record.frames == board.frames
    entered = done["entered"]
    if images == "skip":
        assert "Images skipped" in entered and "Render frames per scene" not in entered
    else:
        assert "Render frames per scene" in entered
        # one Map item per scene: preview 3 frames = s1 (start, end) + s2 (start)
        image_calls = [e for name, e in machine["calls"] if name == "storyreel-images"]
        expect = [["s1-start", "s1-end"], ["s2-start"]] if images == "preview" else None
        if expect:
            assert sorted(c["frames"] for c in image_calls) == sorted(expect)
        else:
            assert len(image_calls) == 3

    report = ViralityReport.model_validate_json(blob(run_id, "virality.json"))
    if virality == "on":
        assert "Score virality with forum evidence" in entered and report.method != "content-only"
    else:
        assert "Score virality (content only)" in entered and report.method == "content-only"
    assert record.virality_score == report.score

    msgs = (
        boto3.client("sqs", region_name=REGION)
        .receive_message(QueueUrl=machine["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=0)
        .get("Messages", [])
    )
    if images == "preview":  # background_full_render: the pending frames go to the background render
        (msg,) = msgs
        detail = json.loads(msg["Body"])["detail"]
        assert detail["run_id"] == run_id and detail["frames"] == ["s2-end", "s3-start", "s3-end"]
    else:
        assert msgs == []


def test_failing_task_fails_the_run_with_its_cause(machine, monkeypatch):
    use_provider(monkeypatch, TRANSCRIBERS, FakeTranscriber(error=InputError("no speech found in audio.wav")))
    run_id = start_run(options("all", "off"))
    done = wait(run_id)
    assert done["status"] == "FAILED"
    assert done["entered"][-2:] == ["Mark run failed", "Run failed"]
    assert "Extract creative context" not in done["entered"]
    record = state().get(run_id)
    assert record.status == RunStatus.failed
    assert record.error.stage == "transcribe"
    assert record.error.kind == "user"
    assert record.error.message == "no speech found in audio.wav"


def test_failure_inside_the_parallel_branch_fails_the_run(machine, monkeypatch):
    class Broken(FakeImageProvider):
        def render(self, requests):
            raise RuntimeError("GPU fell off the bus")

    use_provider(monkeypatch, IMAGE_PROVIDERS, Broken())
    run_id = start_run(options("all", "on"))
    done = wait(run_id)
    assert done["status"] == "FAILED"
    record = state().get(run_id)
    assert record.status == RunStatus.failed
    assert record.error.stage.startswith("images.s")
    assert record.error.kind == "internal" and "GPU fell off the bus" in record.error.message


def preview_ready_event(
    run_id: str, frames: list[str], event_id: str = "7f3c2a10-0000-4000-8000-000000000001"
) -> dict:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "PreviewReady",
        "source": "storyreel",
        "account": "123456789012",
        "time": "2026-11-25T14:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"run_id": run_id, "frames": frames, "reason": "preview"},
    }


def test_background_render_runs_the_render_mode_and_refreshes_the_storyboard(machine):
    from storyreel.services.intake.handler import render_rest_handler

    from testkit.aws import FakeLambdaContext

    run_id = start_run(options("preview", "off"))
    assert wait(run_id)["status"] == "SUCCEEDED"
    msgs = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=machine["queue"])["Messages"]
    sent = json.loads(
        msgs[0]["Body"]
    )  # the PreviewReady finalize sent (moto's copy lacks a few envelope keys)
    assert sent["detail-type"] == "PreviewReady" and sent["source"] == "storyreel"
    event = preview_ready_event(run_id, sent["detail"]["frames"], event_id=sent["id"])

    out = render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))
    assert out["frames"] == ["s2-end", "s3-start", "s3-end"]
    name = f"{run_id}-render-{event['id']}"
    done = wait(run_id, name=name)
    assert done["status"] == "SUCCEEDED"
    assert done["entered"][:3] == ["Run or render?", "How to render the rest?", "Set render concurrency"]
    assert "Transcribe audio" not in done["entered"] and done["entered"][-2:] == [
        "Finalize storyboard",
        "Storyboard ready",
    ]

    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert (board.frames.rendered, board.frames.pending) == (6, 0)
    record = state().get(run_id)
    assert record.status == RunStatus.succeeded and record.frames.rendered == 6
    assert record.stages["render_rest"].status == "succeeded"
    # the render's finalize asks for nothing more
    extra = (
        boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=machine["queue"]).get("Messages", [])
    )
    assert extra == []

    # EventBridge delivers at least once: the same event again starts nothing new
    again = render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))
    assert again["frames"] == [] and again["execution_arn"] is None  # nothing left to render


def test_a_failing_background_render_keeps_the_run_succeeded(machine, monkeypatch):
    from storyreel.services.intake.handler import render_rest_handler

    from testkit.aws import FakeLambdaContext

    run_id = start_run(options("preview", "off"))
    assert wait(run_id)["status"] == "SUCCEEDED"

    class Broken(FakeImageProvider):
        def render(self, requests):
            raise RuntimeError("provider exploded")

    use_provider(monkeypatch, IMAGE_PROVIDERS, Broken())
    event = preview_ready_event(run_id, [])
    render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))
    done = wait(run_id, name=f"{run_id}-render-{event['id']}")
    assert done["status"] == "FAILED" and done["entered"][-1] == "Background render failed"
    record = state().get(run_id)
    assert record.status == RunStatus.succeeded and record.error is None
    assert record.stages["render_rest"].status == "failed"
    assert "provider exploded" in record.stages["render_rest"].detail


def test_a_redelivered_render_event_starts_nothing(machine, monkeypatch):
    from storyreel.services.intake.handler import render_rest_handler

    from testkit.aws import FakeLambdaContext

    run_id = start_run(options("preview", "off"))
    assert wait(run_id)["status"] == "SUCCEEDED"
    event = preview_ready_event(run_id, ["s3-end"])
    first = render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))
    again = render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))  # while it may still run
    assert first["frames"] == ["s3-end"] and again["execution_arn"] in (None, first["execution_arn"])
    assert wait(run_id, name=f"{run_id}-render-{event['id']}")["status"] == "SUCCEEDED"
    assert render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))["frames"] == []
    sfn = boto3.client("stepfunctions", region_name=REGION)
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine["arn"])["executions"]]
    assert sorted(names) == sorted([run_id, f"{run_id}-render-{event['id']}"])
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert (board.frames.rendered, board.frames.pending) == (4, 2)  # s2-end and s3-start still wait


def test_gpu_provider_renders_in_one_batch_job(aws, monkeypatch):
    """provider batch: Write scenes -> one Batch submitJob.sync, run by the real GPU worker (moto's Batch
    bridged in-process, an injected image provider instead of diffusers)."""
    from testkit.aws import (
        FUNCTIONS,
        create_functions,
        create_gpu_queue,
        create_state_machine,
        install_batch_bridge,
        install_fakes,
        install_lambda_bridge,
        substituted_definition,
    )

    fakes = install_fakes(monkeypatch)
    install_lambda_bridge(monkeypatch)
    jobs: list = []
    install_batch_bridge(monkeypatch, fakes.images, jobs)
    arns = create_functions([name for name, _ in FUNCTIONS.values()])
    monkeypatch.setenv(
        "STATE_MACHINE_ARN", create_state_machine(substituted_definition(arns, create_gpu_queue()))
    )

    opts = options("preview", "off")
    opts["image_generation"]["provider"] = "batch"
    run_id = start_run(opts)
    done = wait(run_id)
    assert done["status"] == "SUCCEEDED", done
    assert (
        "Render frames on GPU (Batch)" in done["entered"] and "Render frames per scene" not in done["entered"]
    )
    assert jobs == [
        {
            "STORYREEL_RUN_ID": run_id,
            "STORYREEL_FRAMES": '["s1-start","s1-end","s2-start"]',
            "MANAGED_BY_AWS": "STARTED_BY_STEP_FUNCTIONS",
        }
    ]
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert (board.frames.rendered, board.frames.pending) == (3, 3)

    # the background render of the rest goes to the GPU queue too
    from storyreel.services.intake.handler import render_rest_handler

    from testkit.aws import FakeLambdaContext

    event = preview_ready_event(run_id, [])
    assert render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))["frames"] == [
        "s2-end",
        "s3-start",
        "s3-end",
    ]
    done = wait(run_id, name=f"{run_id}-render-{event['id']}")
    assert done["status"] == "SUCCEEDED" and "Render the rest on GPU (Batch)" in done["entered"]
    assert jobs[-1]["STORYREEL_FRAMES"] == '["s2-end","s3-start","s3-end"]'
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert (board.frames.rendered, board.frames.pending) == (6, 0)
