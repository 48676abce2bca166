"""The REST API through its Lambda handler with API Gateway events (moto S3 + DynamoDB + Step Functions)."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_testkit import BUCKET, REGION, FakeLambdaContext, call_api, tiny_wav, upload_event, wait

from services.api.handler import MAX_BODY_BYTES
from shared.aws_runtime import state
from shared.contracts import RunStatus


def test_create_run_then_upload_starts_it(machine):
    status, body = call_api("POST", "/runs", {"preset": "quick", "options": {"pipeline": {"scenes": 3}}})
    assert status == 201, body
    run_id = body["run_id"]
    record = state().get(run_id)
    assert record.status == RunStatus.queued
    assert record.options["pipeline"]["limit_images"] == 2 and record.options["pipeline"]["scenes"] == 3
    upload = body["upload"]
    assert upload["key"] == f"uploads/api/{run_id}/brief.m4a"
    assert upload["method"] == "PUT" and upload["headers"] == {"Content-Type": "audio/mp4"}
    assert f"uploads/api/{run_id}/brief.m4a" in upload["url"] and "Signature" in upload["url"]

    # the client PUTs the audio; S3 -> EventBridge -> intake starts the run created above
    from services.api.lifecycle import intake_handler

    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=upload["key"], Body=tiny_wav())
    out = intake_handler(upload_event(upload["key"]), FakeLambdaContext("storyreel-intake"))
    assert out["run_id"] == run_id
    assert wait(run_id)["status"] == "SUCCEEDED"

    status, detail = call_api("GET", f"/runs/{run_id}")
    assert status == 200
    assert detail["run"]["status"] == "succeeded"
    assert {"transcribe", "scenes", "finalize"} <= set(detail["run"]["stages"])
    links = detail["links"]
    assert "runs/" + run_id + "/storyboard.json" in links["storyboard"]
    assert "index.html" in links["index"]
    assert sorted(links["frames"]) == ["s1-end", "s1-start"]  # quick: 2 frames now

    status, listing = call_api("GET", "/runs", query={"limit": "5"})
    assert status == 200 and listing["runs"][0]["run_id"] == run_id

    # the rest of the frames, on request (a PreviewReady event for render_rest_handler)
    status, accepted = call_api("POST", f"/runs/{run_id}/images", {})
    assert status == 202
    assert accepted["frames"] == ["s2-start", "s2-end", "s3-start", "s3-end"]
    status, accepted = call_api("POST", f"/runs/{run_id}/images", {"frames": ["s3-end"]})
    assert status == 202 and accepted["frames"] == ["s3-end"]
    status, err = call_api("POST", f"/runs/{run_id}/images", {"frames": ["s9-end"]})
    assert status == 400 and "s9-end" in err["error"]

    # real engagement goes to the optimizer (the real step), and onto the run record
    status, body = call_api("POST", f"/runs/{run_id}/feedback", {"views": 5000, "likes": 400, "shares": 30})
    assert status == 202 and 0 <= body["reward"] <= 1, body
    assert state().get(run_id).feedback.views == 5000


def test_list_runs_newest_first(aws):
    ids = [call_api("POST", "/runs", {})[1]["run_id"] for _ in range(3)]
    status, body = call_api("GET", "/runs", query={"limit": "2"})
    assert status == 200
    assert [r["run_id"] for r in body["runs"]] == ids[::-1][:2]
    assert body["runs"][0]["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{not json", 422, "json"),
        ({"preset": "turbo"}, 422, "preset"),
        ({"options": {"pipeline": {"scenes": 99}}}, 422, "scenes"),
        ({"options": {"pipline": {}}}, 422, "pipline"),
        ({"filename": "../etc/passwd"}, 422, "filename"),
        ({"filename": "brief.exe"}, 422, "filename"),
        ({"surprise": 1}, 422, "surprise"),
        ({"options": {"image_generation": {"provider": "midjourney"}}}, 422, "provider"),
    ],
)
def test_bad_create_bodies_are_4xx_with_a_message(aws, body, status, needle):
    got, answer = call_api("POST", "/runs", body)
    assert got == status
    assert needle in json.dumps(answer).lower()


def test_body_size_limit(aws):
    big = {"options": {"image_generation": {"params": {"x": "a" * (MAX_BODY_BYTES + 1)}}}}
    status, body = call_api("POST", "/runs", big)
    assert status == 413 and str(MAX_BODY_BYTES) in body["error"]


def test_unknown_run_and_bad_ids(aws):
    assert call_api("GET", "/runs/nope")[0] == 404
    assert call_api("GET", "/runs/bad%20id!")[0] == 422
    assert call_api("GET", "/runs", query={"limit": "0"})[0] == 422
    assert call_api("POST", "/runs/nope/images", {})[0] == 404
    assert call_api("POST", "/runs/nope/feedback", {"views": 10})[0] == 404


def test_images_and_feedback_need_a_finished_run(aws):
    run_id = call_api("POST", "/runs", {})[1]["run_id"]
    status, body = call_api("POST", f"/runs/{run_id}/images", {})
    assert status == 409 and "queued" in body["error"]
    status, body = call_api("POST", f"/runs/{run_id}/feedback", {"views": 10})
    assert status == 409
    assert call_api("POST", f"/runs/{run_id}/images", {"frames": ["scene-1"]})[0] == 422


def test_feedback_goes_to_the_optimizer(aws, monkeypatch):
    import services.optimizer.step as optimizer_step

    run_id = call_api("POST", "/runs", {})[1]["run_id"]
    record = state().get(run_id)
    record.status = RunStatus.succeeded
    state().save(record)
    seen = []
    monkeypatch.setattr(
        optimizer_step,
        "feedback",
        lambda st, rid, eng, config=None, record=None: seen.append((rid, eng)) or 0.5,
    )

    assert call_api("POST", f"/runs/{run_id}/feedback", {"views": -1})[0] == 422
    assert seen == []
    status, body = call_api("POST", f"/runs/{run_id}/feedback", {"views": 1200, "likes": 90, "shares": 4})
    assert status == 202 and body == {"run_id": run_id, "recorded": True, "reward": 0.5}
    ((rid, engagement),) = seen
    assert rid == run_id and (engagement.views, engagement.likes, engagement.shares) == (1200, 90, 4)
