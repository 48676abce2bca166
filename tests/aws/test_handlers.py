"""Every stage handler called directly with the event the state machine sends, against moto S3 + DynamoDB."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import ValidationError
from storyreel.services.finalize import handler as finalize_handler
from storyreel.services.images import handler as images_handler
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.optimizer import handler as optimizer_handler
from storyreel.services.scenes import handler as scenes_handler
from storyreel.services.transcribe import handler as transcribe_handler
from storyreel.services.virality import handler as virality_handler
from storyreel.shared.aws.context import resolve_settings
from storyreel.shared.aws.env import blobs, state
from storyreel.shared.aws.events import PREVIEW_READY
from storyreel.shared.contracts import Frame, FrameStatus, RunRecord, RunStatus, Transcript

from testkit.aws import BUS, REGION, FakeLambdaContext, install_fakes, tiny_wav
from testkit.fakes import FakeImageProvider, use_provider

CTX = FakeLambdaContext()


def new_run(options: dict, run_id: str = "r1") -> str:
    settings = resolve_settings(options)
    state().create(
        RunRecord(
            run_id=run_id,
            status=RunStatus.running,
            source="s3://b/uploads/brief.wav",
            output_dir="s3://b/runs/r1/",
            options=settings.model_dump(mode="json"),
        )
    )
    blobs().put_bytes(f"{run_id}/audio.wav", tiny_wav(), "audio/wav")
    return run_id


def through_scenes(run_id: str) -> dict:
    transcribe_handler.handler({"run_id": run_id, "audio_key": f"{run_id}/audio.wav"}, CTX)
    scenes_handler.context_handler({"run_id": run_id}, CTX)
    optimizer_handler.choose_handler({"run_id": run_id}, CTX)
    return scenes_handler.scenes_handler({"run_id": run_id}, CTX)


@pytest.fixture
def stages(aws, monkeypatch):
    return install_fakes(monkeypatch)


def test_each_stage_writes_its_blob_and_timing(stages):
    run_id = new_run({"pipeline": {"scenes": 3, "limit_images": 3, "background_full_render": True}})
    out = transcribe_handler.handler({"run_id": run_id, "audio_key": f"{run_id}/audio.wav"}, CTX)
    assert out == {"run_id": run_id, "duration_s": 12.0, "segments": 1}
    assert Transcript.model_validate_json(blobs().get_bytes(f"{run_id}/transcript.json")).provider == "fake"

    assert scenes_handler.context_handler({"run_id": run_id}, CTX)["title"] == "Trail shoe teaser"
    variant = optimizer_handler.choose_handler({"run_id": run_id}, CTX)["variant"]
    assert variant and blobs().exists(f"{run_id}/decision.json")
    out = scenes_handler.scenes_handler({"run_id": run_id}, CTX)
    assert out["items"] == [
        {"run_id": run_id, "frames": ["s1-start", "s1-end"]},
        {"run_id": run_id, "frames": ["s2-start"]},
    ]
    assert (out["frames_now"], out["frames_total"]) == (3, 6)

    for item in out["items"]:
        images_handler.handler(item, CTX)
    assert blobs().exists(f"{run_id}/frames/s2-start.png") and not blobs().exists(
        f"{run_id}/frames/s2-end.png"
    )
    assert virality_handler.handler({"run_id": run_id}, CTX)["method"] != "content-only"  # forum evidence on
    assert blobs().exists(f"{run_id}/virality.json")
    optimizer_handler.learn_handler({"run_id": run_id}, CTX)
    assert state().get(run_id).stages["optimizer"].status == "succeeded"

    done = finalize_handler.handler({"run_id": run_id}, CTX)
    assert done["status"] == "succeeded" and done["background_render"] == ["s2-end", "s3-start", "s3-end"]
    record = state().get(run_id)
    assert record.status == RunStatus.succeeded
    assert set(record.stages) == {
        "transcribe", "context", "choose", "scenes", "images.s1", "images.s2", "virality", "optimizer", "finalize"
    }  # fmt: skip
    assert (record.frames.rendered, record.frames.pending) == (3, 3)
    assert record.usage == []  # the fakes report none; real providers' usage/<stage>.json are folded in
    assert record.title == "Trail shoe teaser" and record.variant == variant

    # a retried finalize (Step Functions retries on a Lambda service error) is harmless
    assert finalize_handler.handler({"run_id": run_id}, CTX)["status"] == "succeeded"


def test_a_failed_frame_is_recorded_and_does_not_fail_the_item(stages, monkeypatch):
    use_provider(monkeypatch, IMAGE_PROVIDERS, FakeImageProvider(fail={"s1-end"}))
    run_id = new_run({"pipeline": {"scenes": 3}})
    item = through_scenes(run_id)["items"][0]
    out = images_handler.handler(item, CTX)
    assert out == {"run_id": run_id, "rendered": ["s1-start"], "failed": ["s1-end"]}
    frame = Frame.model_validate_json(blobs().get_bytes(f"{run_id}/frames/s1-end.json"))
    assert frame.status == FrameStatus.failed and frame.error == "content policy refusal"


def test_preview_without_background_render_sends_no_event(stages):
    run_id = new_run({"pipeline": {"scenes": 3, "limit_images": 2, "background_full_render": False}})
    for item in through_scenes(run_id)["items"]:
        images_handler.handler(item, CTX)
    virality_handler.handler({"run_id": run_id}, CTX)
    assert finalize_handler.handler({"run_id": run_id}, CTX)["background_render"] == []


@pytest.mark.parametrize(
    ("error", "stage", "kind", "message"),
    [
        (
            {
                "Error": "InputError",
                "Cause": json.dumps({"errorMessage": "no speech", "errorType": "InputError"}),
            },
            "transcribe",
            "user",
            "no speech",
        ),
        (
            {
                "Error": "ProviderError",
                "Cause": json.dumps({"errorMessage": "429", "errorType": "ProviderError"}),
            },
            "transcribe",
            "provider",
            "429",
        ),
        ({"Error": "States.Timeout", "Cause": "Task timed out"}, "context", "internal", "Task timed out"),
    ],
)
def test_fail_handler_marks_the_run_failed_with_stage_and_cause(aws, error, stage, kind, message):
    from storyreel.shared.contracts import StageTiming

    run_id = new_run({})
    state().record_stage(
        run_id, "transcribe", StageTiming(status="failed" if kind != "internal" else "succeeded")
    )
    if kind == "internal":
        state().record_stage(run_id, "context", StageTiming(status="running"))  # killed by the timeout
    out = finalize_handler.fail_handler({"run_id": run_id, "error": error}, CTX)
    assert out["stage"] == stage
    record = state().get(run_id)
    assert record.status == RunStatus.failed
    assert (record.error.stage, record.error.kind, record.error.message) == (stage, kind, message)


def test_events_are_validated(aws):
    with pytest.raises(ValidationError):
        scenes_handler.context_handler({"run": "r1"}, CTX)
    with pytest.raises(ValidationError):
        images_handler.handler({"run_id": "r1", "frames": []}, CTX)
    with pytest.raises(ValidationError):
        transcribe_handler.handler({"run_id": "../etc", "audio_key": "x"}, CTX)


def test_preview_ready_event_goes_to_the_bus(aws):
    from storyreel.shared.aws.env import Env
    from storyreel.shared.aws.events import preview_ready

    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="r", EventBusName=BUS, EventPattern=json.dumps({"detail-type": [PREVIEW_READY]}))
    events.put_targets(Rule="r", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
    preview_ready("r1", ["s2-end"], "preview", Env.load())
    (msg,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    body = json.loads(msg["Body"])
    assert body["detail-type"] == PREVIEW_READY and body["detail"] == {
        "run_id": "r1",
        "frames": ["s2-end"],
        "reason": "preview",
    }


def test_a_failed_background_render_leaves_the_run_succeeded(aws):
    run_id = new_run({})
    record = state().get(run_id)
    record.status = RunStatus.succeeded
    state().save(record)
    error = {
        "Error": "States.TaskFailed",
        "Cause": json.dumps({"errorMessage": "boom", "errorType": "RuntimeError"}),
    }
    out = finalize_handler.fail_handler({"run_id": run_id, "mode": "render", "error": error}, CTX)
    assert out["stage"] == "render_rest"
    record = state().get(run_id)
    assert record.status == RunStatus.succeeded and record.error is None
    assert record.stages["render_rest"].status == "failed" and "boom" in record.stages["render_rest"].detail


def test_provider_keys_come_from_secrets_manager(aws, monkeypatch):
    """The Lambdas use the one documented loader: every documented value format, a missing secret skipped
    (only the provider that needs it fails), and a rotated secret picked up by a warm sandbox."""
    import os

    from aws_lambda_powertools.utilities import parameters
    from storyreel.shared.aws.context import load_secrets

    sm = boto3.client("secretsmanager", region_name=REGION)
    sm.create_secret(Name="storyreel/openai", SecretString=json.dumps({"OPENAI_API_KEY": "sk-doc-format"}))
    sm.create_secret(Name="storyreel/replicate", SecretString=json.dumps({"token": "r8_test"}))
    for var in ("OPENAI_API_KEY", "REPLICATE_API_TOKEN", "FIRECRAWL_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("STORYREEL_OPENAI_SECRET", "storyreel/openai")
    monkeypatch.setenv("STORYREEL_REPLICATE_SECRET", "storyreel/replicate")
    monkeypatch.setenv("STORYREEL_FIRECRAWL_SECRET", "storyreel/firecrawl")  # never created
    parameters.clear_caches()
    assert sorted(load_secrets()) == ["OPENAI_API_KEY", "REPLICATE_API_TOKEN"]
    assert os.environ["OPENAI_API_KEY"] == "sk-doc-format" and os.environ["REPLICATE_API_TOKEN"] == "r8_test"
    assert "FIRECRAWL_API_KEY" not in os.environ

    sm.put_secret_value(SecretId="storyreel/openai", SecretString="sk-rotated")
    parameters.clear_caches()  # what max_age expiring does in a warm sandbox
    load_secrets()
    assert os.environ["OPENAI_API_KEY"] == "sk-rotated"
    parameters.clear_caches()


def test_finalize_keeps_the_run_succeeded_when_the_render_request_cannot_be_sent(stages, monkeypatch):
    run_id = new_run({"pipeline": {"scenes": 3, "limit_images": 2, "background_full_render": True}})
    for item in through_scenes(run_id)["items"]:
        images_handler.handler(item, CTX)
    virality_handler.handler({"run_id": run_id}, CTX)
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    out = finalize_handler.handler({"run_id": run_id}, CTX)
    assert out["status"] == "succeeded" and out["background_render"] == []
    record = state().get(run_id)
    assert record.status == RunStatus.succeeded
    assert record.stages["render_rest"].status == "failed"
    assert "PreviewReady not sent" in record.stages["render_rest"].detail
