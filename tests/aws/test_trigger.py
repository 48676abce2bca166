"""The upload trigger: the EventBridge rule's pattern (the JSON file the CDK stack loads) against a real S3
"Object Created" event in moto's TestEventPattern, and the intake handler fed the same event twice."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from storyreel.services.intake.handler import handler as intake_handler
from storyreel.shared.aws.env import state
from storyreel.shared.contracts import RunStatus

from testkit.aws import BUCKET, REGION, ROOT, FakeLambdaContext, tiny_wav, upload_event, wait

PATTERN = ROOT / "infra" / "statemachine" / "upload_rule_pattern.json"


def _pattern(path: Path, bucket: str) -> str:
    """The file as the stack loads it: "${BucketName}" is its one substitution."""
    text = path.read_text()
    assert "${BucketName}" in text
    return text.replace("${BucketName}", bucket)


_rules = iter(range(1_000_000))


def _matches(pattern: str, event: dict) -> bool:
    """Does EventBridge deliver `event` to a rule with `pattern`? moto has no TestEventPattern, so this goes the
    whole way: the rule (moto validates the pattern) with an SQS target, PutEvents, and a look in the queue."""
    n = next(_rules)
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName=f"rule-{n}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"rule-{n}", EventPattern=pattern)
    events.put_targets(Rule=f"rule-{n}", Targets=[{"Id": "q", "Arn": arn}])
    resp = events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": event["resources"],
            }
        ]
    )
    assert resp["FailedEntryCount"] == 0
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    events.remove_targets(Rule=f"rule-{n}", Ids=["q"])
    events.delete_rule(Name=f"rule-{n}")
    return len(got) == 1


def test_upload_pattern_matches_object_created_under_uploads(aws):
    sample = json.loads((ROOT / "events" / "intake.json").read_text())  # the SAM sample event
    assert _matches(_pattern(PATTERN, sample["detail"]["bucket"]["name"]), sample)
    for pattern in (_pattern(PATTERN, BUCKET),):
        assert _matches(pattern, upload_event("uploads/brief.m4a"))
        assert _matches(pattern, upload_event("uploads/api/20261125-140000-abcdef/brief.m4a"))
        assert not _matches(pattern, upload_event("runs/r1/audio.m4a"))  # the copy intake makes
        assert not _matches(pattern, upload_event("brief.m4a"))
        deleted = upload_event("uploads/brief.m4a")
        deleted["detail-type"] = "Object Deleted"
        assert not _matches(pattern, deleted)
    other = upload_event("uploads/brief.m4a")
    other["detail"]["bucket"]["name"] = "someone-elses-bucket"
    assert not _matches(_pattern(PATTERN, BUCKET), other)


def _executions() -> list[dict]:
    import os

    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.list_executions(stateMachineArn=os.environ["STATE_MACHINE_ARN"])["executions"]


def test_duplicate_upload_event_starts_nothing(machine):
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="uploads/brief.wav", Body=tiny_wav(), Metadata={"preset": "preview"})
    event = upload_event("uploads/brief.wav", etag="e1")
    first = intake_handler(event, FakeLambdaContext("storyreel-intake"))
    again = intake_handler(event, FakeLambdaContext("storyreel-intake"))
    assert again == first
    assert [e["name"] for e in _executions()] == [first["run_id"]]
    assert [r.run_id for r in state().list()] == [first["run_id"]]
    record = state().get(first["run_id"])
    assert record.options["preset"] == "preview" and record.options["pipeline"]["skip_image_generation"]
    assert record.source == f"s3://{BUCKET}/uploads/brief.wav"
    assert wait(first["run_id"])["status"] == "SUCCEEDED"

    # new content under the same key (a new etag) is a new run
    second = intake_handler(
        upload_event("uploads/brief.wav", etag="e2"), FakeLambdaContext("storyreel-intake")
    )
    assert second["run_id"] != first["run_id"]
    assert len(_executions()) == 2
    wait(second["run_id"])


@pytest.mark.parametrize(
    ("metadata", "needle"),
    [
        ({"options": "{not json"}, "not valid JSON"),
        ({"options": '["a"]'}, "JSON object"),
        ({"options": '{"pipeline": {"scenes": 99}}'}, "pipeline.scenes"),
        ({"preset": "turbo"}, "preset"),
    ],
)
def test_bad_upload_options_fail_the_run_with_the_reason(machine, metadata, needle):
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key="uploads/b.wav", Body=tiny_wav(), Metadata=metadata
    )
    out = intake_handler(upload_event("uploads/b.wav"), FakeLambdaContext("storyreel-intake"))
    assert out["status"] == "failed" and needle in out["error"]
    record = state().get(out["run_id"])
    assert record.status == RunStatus.failed
    assert record.error.stage == "intake" and record.error.kind == "user" and needle in record.error.message
    assert _executions() == []


def test_api_upload_for_a_run_already_started_is_refused(machine):
    from testkit.aws import call_api

    run_id = call_api("POST", "/runs", {"preset": "preview"})[1]["run_id"]
    key = f"uploads/api/{run_id}/brief.m4a"
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=tiny_wav())
    intake_handler(upload_event(key, etag="a"), FakeLambdaContext("storyreel-intake"))
    wait(run_id)
    again = intake_handler(upload_event(key, etag="b"), FakeLambdaContext("storyreel-intake"))
    assert again["status"] == "ignored" and "already taken" in again["error"]
    assert len(_executions()) == 1
    key = "uploads/api/20990101-000000-000000/brief.m4a"  # no such run
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=tiny_wav())
    out = intake_handler(upload_event(key, etag="c"), FakeLambdaContext("storyreel-intake"))
    assert out["status"] == "ignored" and out["error"] == "no such run"
    assert len(_executions()) == 1


def test_non_upload_keys_are_ignored(aws):
    out = intake_handler(upload_event("runs/r1/audio.wav"), FakeLambdaContext("storyreel-intake"))
    assert out == {"ignored": "runs/r1/audio.wav"}


def test_a_retry_after_a_failed_start_resumes_the_same_run(machine, monkeypatch):
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key="uploads/r.wav", Body=tiny_wav())
    event = upload_event("uploads/r.wav", etag="r1")
    good_arn = machine["arn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", good_arn.replace("storyreel-storyboard", "gone"))
    with pytest.raises(Exception, match=r"(?i)not exist"):
        intake_handler(event, FakeLambdaContext("storyreel-intake"))
    (queued,) = state().list()
    assert queued.status == RunStatus.queued

    monkeypatch.setenv("STATE_MACHINE_ARN", good_arn)  # EventBridge retries the same event
    out = intake_handler(event, FakeLambdaContext("storyreel-intake"))
    assert out["run_id"] == queued.run_id and out["status"] == "running"
    assert [r.run_id for r in state().list()] == [queued.run_id]
    assert wait(queued.run_id)["status"] == "SUCCEEDED"
