"""The REST API through its Lambda handler with API Gateway events (moto S3 + DynamoDB + Step Functions)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from storyreel.services.api.handler import MAX_BODY_BYTES
from storyreel.shared.aws.env import state
from storyreel.shared.contracts import RunStatus

from testkit.aws import (
    BUCKET,
    REGION,
    FakeLambdaContext,
    apigw_event,
    call_api,
    invoke_raw,
    tiny_wav,
    upload_event,
    wait,
)


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
    from storyreel.services.intake.handler import handler as intake_handler

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
    import storyreel.services.optimizer.step as optimizer_step

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


# --------------------------------------------------------------------------- what a user can send
def send(
    method: str, path: str, raw: str | None, content_type: str | None = "application/json"
) -> tuple[int, Any]:
    return invoke_raw(method, path, raw, content_type)


def assert_error_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    assert body["status"] == status, body


def _nested(depth: int, opener: str = "[") -> str:
    return ('{"a":' * depth + "1" + "}" * depth) if opener == "{" else "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (_nested(1000), "nested"),  # 2 KB: RecursionError in json.loads before
        ('{"options": {"image_generation": {"params": ' + _nested(1000, "{") + "}}}", "nested"),
        ('{"options": {"image_generation": {"seed": ' + "1" * 4301 + "}}}", "number"),  # ValueError before
        ('{"filename": -' + "9" * 5000 + "}", "number"),
        ('{"filename": 1.' + "5" * 40 + "}", "number"),
        ('{"filename": 1e999}', "range"),
        ('{"filename": NaN}', "NaN"),
        ('{"filename": -Infinity}', "Infinity"),
        (
            '{"options": {"image_generation": {"params": {"x": "\\ud800"}}}}',
            "surrogate",
        ),  # 502 in dumps before
        ('{"options": {"image_generation": {"params": {"\\udfff": 1}}}}', "surrogate"),
    ],
)
@pytest.mark.parametrize("path", ["/runs", "/runs/nope/feedback", "/runs/nope/images"])
def test_hostile_bodies_are_400_in_the_error_shape(aws, raw, needle, path):
    assert len(raw.encode()) <= MAX_BODY_BYTES
    status, body = send("POST", path, raw)
    assert status == 400, body
    assert_error_shape(status, body)
    assert needle in body["error"]


def test_bodies_at_the_parser_bounds_pass(aws):
    from storyreel.services.api.handler import MAX_JSON_DEPTH, MAX_NUMBER_CHARS

    params = _nested(MAX_JSON_DEPTH - 3, "{")  # the body, options and image_generation are 3 levels
    raw = '{"options": {"image_generation": {"params": ' + params + "}}}"
    assert send("POST", "/runs", raw)[0] == 201
    assert send("POST", "/runs", '{"options": {"image_generation": {"params": [' + params + "]}}}")[0] == 400
    seed = "9" * MAX_NUMBER_CHARS
    status, body = send("POST", "/runs", '{"options": {"image_generation": {"seed": ' + seed + "}}}")
    assert status == 201, body
    assert state().get(body["run_id"]).options["image_generation"]["seed"] == int(seed)
    pair = '{"options": {"image_generation": {"params": {"x": "\\ud83d\\ude00"}}}}'  # a pair is one character
    assert send("POST", "/runs", pair)[0] == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"views": True}, "views"),
        ({"views": "100"}, "views"),
        ({"views": 100.0}, "views"),
        ({"views": 10**11 + 1}, "views"),
        ({"views": 10, "likes": True}, "likes"),
        ({"views": 10, "comments": "1"}, "comments"),
        ({"views": 10, "shares": -1}, "shares"),
        ({"views": 10, "likes": 11}, "views"),  # likes, comments, shares cannot exceed views
    ],
)
def test_engagement_counts_are_strict_bounded_integers(aws, body, field):
    status, answer = call_api("POST", "/runs/nope/feedback", body)
    assert status == 422, answer
    assert_error_shape(status, answer)
    assert field in answer["error"]


def test_engagement_counts_up_to_the_maximum_are_accepted(aws, monkeypatch):
    import storyreel.services.optimizer.step as optimizer_step
    from storyreel.shared.contracts import MAX_ENGAGEMENT_COUNT

    run_id = call_api("POST", "/runs", {})[1]["run_id"]
    record = state().get(run_id)
    record.status = RunStatus.succeeded
    state().save(record)
    monkeypatch.setattr(optimizer_step, "feedback", lambda *a, **k: 1.0)
    top = MAX_ENGAGEMENT_COUNT
    body = {"views": top, "likes": top, "comments": top, "shares": top}
    assert call_api("POST", f"/runs/{run_id}/feedback", body)[0] == 202


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"pipeline": {"limit_images": True}}, "limit_images"),
        ({"pipeline": {"limit_images": "3"}}, "limit_images"),
        ({"pipeline": {"scenes": 5.0}}, "scenes"),
        ({"pipeline": {"fast_mode": 1}}, "fast_mode"),
        ({"pipeline": {"skip_image_generation": "true"}}, "skip_image_generation"),
        ({"pipeline": {"max_audio_minutes": True}}, "max_audio_minutes"),
        ({"pipeline": {"max_audio_minutes": "10"}}, "max_audio_minutes"),
        ({"image_generation": {"seed": "7"}}, "seed"),
        ({"image_generation": {"compile": "no"}}, "compile"),
        ({"virality": {"forums": "reddit:r/videos"}}, "forums"),
        ({"optimizer": {"enabled": 0}}, "enabled"),
    ],
)
def test_create_options_are_strict(aws, options, field):
    status, answer = call_api("POST", "/runs", {"options": options})
    assert status == 422, answer
    assert_error_shape(status, answer)
    assert field in answer["error"]


def test_create_options_keep_their_real_types(aws):
    options = {"pipeline": {"limit_images": 1, "max_audio_minutes": 5, "fast_mode": True}}
    status, body = call_api("POST", "/runs", {"options": options, "preset": "quick"})
    assert status == 201, body
    pipeline = state().get(body["run_id"]).options["pipeline"]
    assert (pipeline["limit_images"], pipeline["max_audio_minutes"], pipeline["fast_mode"]) == (1, 5.0, True)
    assert call_api("POST", "/runs/nope/images", {"frames": [1]})[0] == 422


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "APPLICATION/JSON",
        "Application/Json; Charset=UTF-8",
        'application/json;charset="utf-8"',
        "application/json ; charset=utf8 ;",
        "application/problem+json",
        "application/vnd.storyreel.run+JSON",
    ],
)
def test_json_media_types_are_json(aws, content_type):
    status, body = send("POST", "/runs", '{"preset": "preview"}', content_type)
    assert status == 201, body


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
        "application/json-seq",
        "application/json; charset",
        'application/json; charset="utf-8',
        "json",
        "application/",
        "/json",
        "application/json, text/plain",
    ],
)
@pytest.mark.parametrize("path", ["/runs", "/runs/nope/feedback"])
def test_other_media_types_are_415_in_the_error_shape(aws, content_type, path):
    status, body = send("POST", path, '{"views": 1}', content_type)
    assert status == 415, body
    assert_error_shape(status, body)


def test_powertools_own_4xx_are_in_the_error_shape(aws):
    from aws_lambda_powertools.event_handler.exceptions import BadRequestError, ServiceError
    from storyreel.services.api.handler import app

    for method, path in [
        ("GET", "/nothing"),
        ("DELETE", "/runs"),
        ("PUT", "/runs/nope"),
        ("GET", "/runs/a/b"),
    ]:
        status, body = send(method, path, None)
        assert status == 404, (method, path, body)
        assert_error_shape(status, body)
    status, body = call_api("GET", "/runs", query={"limit": "x"})
    assert status == 422 and "limit" in body["error"] and body["detail"]
    assert_error_shape(status, body)
    status, body = send("POST", "/runs", "{not json")
    assert status == 422 and "json" in body["error"].lower()
    assert_error_shape(status, body)
    # past refuse_body: Powertools' own 415 (its content-type check) and its ServiceErrors, answered by ours
    event = apigw_event("POST", "/runs", "{}", headers={"Content-Type": "text/plain"})
    out = app.resolve(event, FakeLambdaContext("storyreel-api"))
    assert out["statusCode"] == 415
    assert_error_shape(415, json.loads(out["body"]))
    for exc in (BadRequestError("bad"), ServiceError(429, "slow down")):
        answer = app.exception_handler_manager.lookup_exception_handler(type(exc))(exc)
        assert json.loads(answer.body) == {"error": exc.msg, "status": exc.status_code}


# --------------------------------------------------------------------------- the editing routes (issue #11)
def as_caller(
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
    sub: str | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """The API as a caller with an API key id and/or a Cognito user (`sub` in the authorizer's claims)."""
    from storyreel.services.api.handler import handler

    event = apigw_event(method, path, body, query)
    if key:
        event["requestContext"]["identity"]["apiKeyId"] = key
    if sub:
        event["requestContext"]["authorizer"] = {"claims": {"sub": sub, "token_use": "id"}}
    out = handler(event, FakeLambdaContext("storyreel-api"))
    return out["statusCode"], json.loads(out["body"]) if out.get("body") else None


@pytest.fixture
def finished_run(aws, tmp_path):
    """A succeeded run in S3 + DynamoDB, owned by API key `key-a`: the blobs a real local run writes (the stage
    seams, testkit/briefs.py build_run), copied under runs/<run_id>/, and its record."""
    from storyreel.shared.contracts import RunRecord
    from storyreel.shared.settings import Settings

    from testkit.briefs import asr_transcript, build_run

    folder = build_run(tmp_path, asr_transcript(), limit_images=4, fail=None)
    run_id = "20261203-120000-abc123"
    s3 = boto3.client("s3", region_name=REGION)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.put_object(
            Bucket=BUCKET, Key=f"runs/{run_id}/{path.relative_to(folder).as_posix()}", Body=path.read_bytes()
        )
    settings = Settings.model_validate({"pipeline": {"limit_images": 4, "scenes": 5}})
    state().create(
        RunRecord(
            run_id=run_id,
            status=RunStatus.succeeded,
            source=f"s3://{BUCKET}/uploads/x.wav",
            output_dir=f"s3://{BUCKET}/runs/{run_id}/",
            options=settings.model_dump(mode="json"),
            owner="key-a",
        )
    )
    return run_id


def test_runs_belong_to_their_caller(aws):
    status, made = as_caller("POST", "/runs", {}, key="key-a")
    assert status == 201 and state().get(made["run_id"]).owner == "key-a"
    status, mine = as_caller("POST", "/runs", {}, sub="user-1", key="web-key")
    assert status == 201 and state().get(mine["run_id"]).owner == "user-1"  # the Cognito user, not the key
    assert [r["run_id"] for r in as_caller("GET", "/runs", key="key-a")[1]["runs"]] == [made["run_id"]]
    assert [r["run_id"] for r in as_caller("GET", "/runs", sub="user-1")[1]["runs"]] == [mine["run_id"]]
    for path in ("", "/progress", "/storyboard"):
        status, body = as_caller("GET", f"/runs/{made['run_id']}{path}", sub="user-1")
        assert status == 404 and body == {"error": f"no run with id {made['run_id']!r}", "status": 404}
    assert as_caller("GET", f"/runs/{made['run_id']}/progress", key="key-a")[0] == 200


def test_edits_through_the_lambda_bump_the_revision(finished_run):
    run_id = finished_run
    status, view = as_caller("GET", f"/runs/{run_id}/storyboard", key="key-a")
    assert status == 200 and view["revision"] == 0
    assert (
        "X-Amz-Signature" in view["images"]["s1-start"]["url"]
        or "Signature" in view["images"]["s1-start"]["url"]
    )
    status, view = as_caller(
        "PATCH",
        f"/runs/{run_id}/scenes/2",
        {"revision": 0, "description": "the pour, close", "locked": True},
        key="key-a",
    )
    assert status == 200, view
    assert view["revision"] == 1 and view["storyboard"]["scenes"][1]["locked"] is True
    assert state().get(run_id).revision == 1
    # stale: 409 with the revision now, nothing written
    status, body = as_caller(
        "PATCH", f"/runs/{run_id}/scenes/2", {"revision": 0, "title": "late"}, key="key-a"
    )
    assert status == 409 and body["revision"] == 1
    assert (
        as_caller("GET", f"/runs/{run_id}/storyboard", key="key-a")[1]["storyboard"]["scenes"][1]["title"]
        != "late"
    )
    # a re-render in the Lambda (sketch), a version kept, then the old one made current again
    status, view = as_caller(
        "POST", f"/runs/{run_id}/frames/s1-start/regenerate", {"revision": 1, "seed": 3}, key="key-a"
    )
    assert status == 200, view
    assert view["revision"] == 2 and sorted(view["images"]["s1-start"]["versions"]) == ["1", "2"]
    status, listed = as_caller("GET", f"/runs/{run_id}/frames/s1-start/versions", key="key-a")
    assert status == 200 and listed["current"] == 2 and len(listed["versions"]) == 2
    status, view = as_caller(
        "PUT", f"/runs/{run_id}/frames/s1-start/current", {"revision": 2, "version": 1}, key="key-a"
    )
    assert status == 200 and view["revision"] == 3
    status, view = as_caller("POST", f"/runs/{run_id}/replan", {"revision": 3}, key="key-a")
    assert status == 200, view
    assert view["revision"] == 4 and view["storyboard"]["scenes"][1]["locked"] is True
    # another caller sees none of it
    assert (
        as_caller("PATCH", f"/runs/{run_id}/scenes/1", {"revision": 4, "title": "x"}, key="key-b")[0] == 404
    )


def test_edit_errors(finished_run, monkeypatch):
    run_id = finished_run
    cases = [
        ("PATCH", f"/runs/{run_id}/scenes/9", {"revision": 0, "title": "x"}, 404),
        ("DELETE", f"/runs/{run_id}/scenes/9", None, 404),
        ("POST", f"/runs/{run_id}/frames/s9-end/regenerate", {"revision": 0}, 404),
        ("PUT", f"/runs/{run_id}/frames/s1-start/current", {"revision": 0, "version": 5}, 404),
        ("PATCH", f"/runs/{run_id}/scenes/1", {"revision": 0, "start_prompt": "p" * 4001}, 422),
        ("PATCH", f"/runs/{run_id}/scenes/1", {"revision": 0, "duration_s": 601}, 422),
        ("PATCH", f"/runs/{run_id}/scenes/1", {"revision": "0", "title": "x"}, 422),
        ("POST", f"/runs/{run_id}/scenes", {"revision": 0, "index": 9, "description": "x"}, 400),
        (
            "POST",
            f"/runs/{run_id}/frames/s1-start/regenerate",
            {"revision": 0, "image_provider": "batch"},
            409,
        ),
    ]
    for method, path, body, expected in cases:
        query = {"revision": "0"} if method == "DELETE" else None
        status, answer = as_caller(method, path, body, key="key-a", query=query)
        assert status == expected, (method, path, answer)
        assert answer["status"] == expected and answer["error"]
    assert state().get(run_id).revision == 0  # every one refused before a write
    # a run still running: 409
    record = state().get(run_id)
    record.status = RunStatus.running
    state().save(record)
    status, answer = as_caller(
        "PATCH", f"/runs/{run_id}/scenes/1", {"revision": 0, "title": "x"}, key="key-a"
    )
    assert status == 409 and "running" in answer["error"]


def test_dynamo_claim_one_of_two_wins(finished_run):
    """The conditional write itself: the second claim at a revision is refused while the first holds the run,
    and after the first commits (moto serialises nothing across threads, so the two come one after the other;
    DynamoDB's conditional update is what makes them atomic)."""
    from storyreel.shared.stores import RevisionConflict

    store = state()
    record = store.begin_edit(finished_run, 0, "first")
    with pytest.raises(RevisionConflict, match="being edited") as busy:
        store.begin_edit(finished_run, 0, "second")
    assert busy.value.revision == 0
    assert store.end_edit(record, "first", commit=True) == 1
    with pytest.raises(RevisionConflict, match="revision 1, not 0") as stale:
        store.begin_edit(finished_run, 0, "second")
    assert stale.value.revision == 1
    # a lease that ran out can be taken over; the edit that held it can no longer commit
    store.begin_edit(finished_run, 1, "crashed", lease_s=-1)
    taken = store.begin_edit(finished_run, 1, "next")
    with pytest.raises(RevisionConflict, match="ran out"):
        store.end_edit(taken, "crashed", commit=True)
    assert store.end_edit(taken, "next", commit=False) == 1
    # a stage saving an older record never moves the revision back
    taken.revision = 0
    store.save(taken)
    assert store.get(finished_run).revision == 1


def test_policy_route(aws):
    status, body = call_api("GET", "/policy")
    assert status == 200 and body["policy"] and body["version"] == 0 and body["beliefs"] == []


def test_the_storyboard_links_each_done_clip_and_only_those(finished_run):
    """A scene whose clip is done gets clips[<index>] (a presigned mp4 link); a failed or pending one gets none."""
    from storyreel.shared.contracts import Clip, ClipStatus, Storyboard

    run_id = finished_run
    s3 = boto3.client("s3", region_name=REGION)
    key = f"runs/{run_id}/storyboard.json"
    board = Storyboard.model_validate_json(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    board.scenes[0].clip = Clip(status=ClipStatus.done, video_key="clips/scene-01.mp4", provider="replicate")
    board.scenes[1].clip = Clip(status=ClipStatus.failed, reason="the model refused the prompt")
    board.scenes[2].clip = Clip(status=ClipStatus.pending)
    s3.put_object(Bucket=BUCKET, Key=key, Body=board.model_dump_json().encode())
    status, view = as_caller("GET", f"/runs/{run_id}/storyboard", key="key-a")
    assert status == 200, view
    assert list(view["clips"]) == ["1"]
    assert f"runs/{run_id}/clips/scene-01.mp4" in view["clips"]["1"] and "Signature" in view["clips"]["1"]
    assert view["storyboard"]["scenes"][1]["clip"]["reason"] == "the model refused the prompt"
