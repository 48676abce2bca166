"""The real ASL file in moto's state-machine interpreter, its Lambda tasks bridged to the real handlers
in-process (aws_testkit.install_lambda_bridge), started by the real intake handler from an S3 upload event."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from aws_testkit import (
    BUCKET,
    BUS,
    FUNCTIONS,
    REGION,
    FakeImages,
    FakeLambdaContext,
    create_functions,
    create_state_machine,
    install_fakes,
    install_lambda_bridge,
    substituted_definition,
    tiny_wav,
)

from shared.aws_runtime import PREVIEW_READY, state
from shared.contracts import RunStatus, Storyboard, ViralityReport
from shared.errors import InputError

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
    from shared.settings import deep_merge

    base = {"pipeline": {"scenes": 3}, "image_generation": {"seed": 7}}
    return deep_merge(deep_merge(base, IMAGES[images]), VIRALITY[virality])


@pytest.fixture
def machine(aws, monkeypatch):
    """Lambda functions + the state machine in moto, the bridge and the fakes installed."""
    calls: list = []
    install_fakes(monkeypatch)
    install_lambda_bridge(monkeypatch, calls=calls)
    arns = create_functions([name for name, _ in FUNCTIONS.values()])
    arn = create_state_machine(substituted_definition(arns))
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    # a rule that catches PreviewReady into a queue, to see the background render being asked for
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="preview-ready")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="preview", EventBusName=BUS, EventPattern=json.dumps({"detail-type": [PREVIEW_READY]})
    )
    events.put_targets(Rule="preview", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
    return {"arn": arn, "calls": calls, "queue": queue}


def upload_event(key: str, etag: str = "abc123") -> dict:
    """An S3 "Object Created" event as EventBridge delivers it."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-25T14:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {"key": key, "size": 32044, "etag": etag, "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def start_run(opts: dict, key: str = "uploads/brief.wav") -> str:
    from services.api.lifecycle import intake_handler

    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=key, Body=tiny_wav(), Metadata={"options": json.dumps(opts)}
    )
    out = intake_handler(upload_event(key), FakeLambdaContext("storyreel-intake"))
    assert out["status"] == "running", out
    return out["run_id"]


def wait(run_id: str, timeout: float = 60) -> dict:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = [
        e for e in sfn.list_executions(stateMachineArn=_machine_arn())["executions"] if e["name"] == run_id
    ][0]["executionArn"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            entered = [
                e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")
            ]
            return {**desc, "entered": entered}
        time.sleep(0.05)
    raise AssertionError(f"execution {run_id} still running after {timeout}s")


def _machine_arn() -> str:
    import os

    return os.environ["STATE_MACHINE_ARN"]


def blob(run_id: str, name: str) -> bytes:
    return (
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=BUCKET, Key=f"runs/{run_id}/{name}")["Body"]
        .read()
    )


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
    assert all(t.status == "succeeded" for t in record.stages.values())
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert board.status == RunStatus.succeeded and board.decision.variant == {"hook_style": "question"}
    assert b"<html" in blob(run_id, "index.html").lower()

    rendered = {"skip": 0, "preview": 3, "all": 6}[images]
    assert (board.frames.total, board.frames.rendered, board.frames.pending) == (6, rendered, 6 - rendered)
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
    import shared.aws_runtime as runtime

    class Mute:
        name = "mute"

        def transcribe(self, audio_path, language):
            raise InputError("no speech found in audio.wav")

    monkeypatch.setitem(runtime.OVERRIDES, "transcriber", Mute())
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
    import shared.aws_runtime as runtime

    class Broken(FakeImages):
        def render(self, requests):
            raise RuntimeError("GPU fell off the bus")

    monkeypatch.setitem(runtime.OVERRIDES, "image_provider", Broken())
    run_id = start_run(options("all", "on"))
    done = wait(run_id)
    assert done["status"] == "FAILED"
    record = state().get(run_id)
    assert record.status == RunStatus.failed
    assert record.error.stage.startswith("images.s")
    assert record.error.kind == "internal" and "GPU fell off the bus" in record.error.message
