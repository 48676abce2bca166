"""POST /runs/{id}/exports and GET /runs/{id}/exports/{export_id} through the Api Lambda's handler (moto S3 +
DynamoDB + Lambda): the PDF and timelines are made in the request (200), the mp4 is queued (202) and handed to
the Export function by an asynchronous invoke; the Export handler, run in-process as Lambda would run it, makes
it with the real ffmpeg (read back with ffprobe) and records it done; failures are recorded with their reason
and leave no file behind; every refusal is one line in the error shape."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import boto3
import opentimelineio as otio
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from storyreel.services.export import animatic
from storyreel.services.export import handler as export_handler
from storyreel.shared.aws.env import reset_clients, state
from storyreel.shared.aws.stores import create_table
from storyreel.shared.contracts import ExportStatus, RunRecord, RunStatus, Transcript

from testkit.aws import BUCKET, MOTO_CONFIG, REGION, TABLE, FakeLambdaContext, apigw_event, create_functions
from tests.export import conftest as export_runs
from tests.export.conftest import Finished, ffprobe

EXPORT_FN = "storyreel-export"


@pytest.fixture
def finished(tmp_path: Path, rambling: Transcript) -> Finished:
    """run-test: 5 scenes, every keyframe rendered by the sketch renderer (tests/export/conftest.py)."""
    return export_runs._finished(tmp_path, rambling, limit_images=10)


@pytest.fixture
def prompts_only(tmp_path: Path, rambling: Transcript) -> Finished:
    """run-test with no keyframe rendered."""
    return export_runs._finished(tmp_path, rambling, limit_images=0)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch):
    """The Api Lambda's environment in a moto account; yields an S3 client."""
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
    monkeypatch.delenv("EXPORT_FUNCTION_NAME", raising=False)
    with mock_aws(config=MOTO_CONFIG):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        reset_clients()
        yield boto3.client("s3", region_name=REGION)
        reset_clients()


def _upload(s3, run: Finished, status: RunStatus = RunStatus.succeeded, owner: str = "local") -> None:
    """The local run's blobs under runs/run-test/ in the bucket, and its record in the table."""
    for path in run.folder.rglob("*"):
        if path.is_file():
            s3.put_object(
                Bucket=BUCKET, Key=f"runs/run-test/{path.relative_to(run.folder)}", Body=path.read_bytes()
            )
    state().create(
        RunRecord(
            run_id="run-test",
            status=status,
            source=f"s3://{BUCKET}/uploads/brief.wav",
            output_dir=f"s3://{BUCKET}/runs/run-test/",
            owner=owner,
        )
    )


def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
    from storyreel.services.api.handler import handler

    out = handler(apigw_event(method, path, body, headers=headers), FakeLambdaContext("storyreel-api"))
    headers = {k: v[-1] for k, v in (out.get("multiValueHeaders") or {}).items()}
    return out["statusCode"], json.loads(out["body"]), {**headers, **(out.get("headers") or {})}


def _keys(s3, prefix: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}


@pytest.fixture
def invokes(cloud, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The Export function in moto; every invoke of it is recorded (function, invocation type, payload), not run:
    the test runs the handler itself, later, as Lambda would after an asynchronous invoke."""
    create_functions([EXPORT_FN])
    monkeypatch.setenv("EXPORT_FUNCTION_NAME", EXPORT_FN)
    seen: list[dict[str, Any]] = []

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        seen.append(
            {
                "function": self.get_function(function_name, qualifier).function_name,
                "type": headers.get("X-Amz-Invocation-Type", "RequestResponse"),
                "payload": json.loads(body),
            }
        )
        return b""

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    return seen


def run_export_function(payload: dict[str, Any]) -> dict[str, Any]:
    return export_handler.handler(payload, FakeLambdaContext(EXPORT_FN))


# --------------------------------------------------------------------------- made in the request
def test_pdf_and_timelines_are_made_in_the_request_under_the_exports_folder(
    cloud, finished: Finished
) -> None:
    _upload(cloud, finished)
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["pdf", "otio", "edl"], "fps": 25})
    assert status == 200, body
    assert body["status"] == "done" and body["expires_in"] == 3600
    folder = f"runs/run-test/exports/{body['export_id']}/"
    assert sorted(body["files"]) == ["storyboard.pdf", "timeline.edl", "timeline.otio"]
    assert all(folder in url and "Signature" in url for url in body["files"].values())
    assert f"{folder}media/s1-start.png" in _keys(cloud, folder)
    pdf = cloud.get_object(Bucket=BUCKET, Key=f"{folder}storyboard.pdf")["Body"].read()
    assert pdf.startswith(b"%PDF-")
    text = cloud.get_object(Bucket=BUCKET, Key=f"{folder}timeline.otio")["Body"].read().decode()
    tl = otio.adapters.read_from_string(text, "otio_json")
    assert len(tl.find_clips()) == 5 and tl.duration().rate == 25
    assert tl.find_clips()[0].media_reference.target_url == "media/s1-start.png"
    # and the export is recorded: GET answers the same
    status, again, _ = call("GET", body["poll"])
    assert status == 200 and again["status"] == "done" and sorted(again["files"]) == sorted(body["files"])


def test_the_default_is_every_format_but_mp4(cloud, finished: Finished) -> None:
    _upload(cloud, finished)
    status, body, _ = call("POST", "/runs/run-test/exports", {})
    assert status == 200, body
    assert sorted(body["files"]) == [
        "storyboard.pdf",
        "timeline.edl",
        "timeline.otio",
        "timeline.otioz",
        "timeline.xml",
    ]


# --------------------------------------------------------------------------- the mp4: queued, then made
def test_mp4_is_queued_invoked_async_and_made_by_the_export_function(
    invokes, cloud, finished: Finished
) -> None:
    _upload(cloud, finished)
    status, body, headers = call(
        "POST", "/runs/run-test/exports", {"formats": ["mp4", "pdf"], "size": "360p", "fps": 24}
    )
    assert status == 202, body
    export_id = body["export_id"]
    assert body["status"] == "queued" and body["files"] == {}
    assert body["poll"] == f"/runs/run-test/exports/{export_id}" == headers["Location"]
    assert invokes == [
        {"function": EXPORT_FN, "type": "Event", "payload": {"run_id": "run-test", "export_id": export_id}}
    ]
    status, polled, _ = call("GET", body["poll"])
    assert status == 200 and polled["status"] == "queued"
    folder = f"runs/run-test/exports/{export_id}/"
    assert not _keys(cloud, folder)

    out = run_export_function(invokes[0]["payload"])
    assert out["status"] == "done", out

    status, done, _ = call("GET", body["poll"])
    assert status == 200 and done["status"] == "done", done
    assert sorted(done["files"]) == ["animatic.mp4", "animatic.srt", "storyboard.pdf"]
    assert all(folder in url for url in done["files"].values())
    mp4 = cloud.get_object(Bucket=BUCKET, Key=f"{folder}animatic.mp4")["Body"].read()
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"export-{export_id}.mp4"
    path.write_bytes(mp4)
    try:
        probe = ffprobe(path)
    finally:
        path.unlink()
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert min(video["width"], video["height"]) == 360
    board = finished.board()
    seconds = sum(s.duration for s in board.scenes)
    assert int(video["nb_read_frames"]) == pytest.approx(seconds * 24, abs=len(board.scenes))

    # a second delivery of the same event changes nothing
    assert run_export_function(invokes[0]["payload"])["status"] == "done"
    assert state().get_export("run-test", export_id).status == ExportStatus.done


def _failing_ffmpeg(folder: Path) -> str:
    """An ffmpeg that fails as a build without x264 does."""
    fake = folder / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return str(fake)


def test_ffmpeg_failing_fails_the_export_with_its_reason_and_leaves_no_file(
    invokes, cloud, finished: Finished, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upload(cloud, finished)
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["pdf", "mp4"], "size": "360p"})
    assert status == 202, body
    monkeypatch.setattr(animatic, "ffmpeg_exe", lambda: _failing_ffmpeg(tmp_path))
    out = run_export_function(invokes[0]["payload"])
    assert out["status"] == "failed"
    status, failed, _ = call("GET", body["poll"])
    assert status == 200 and failed["status"] == "failed" and failed["files"] == {}
    assert "ffmpeg could not encode the animatic" in failed["error"] and "libx264" in failed["error"]
    assert not _keys(cloud, f"runs/run-test/exports/{body['export_id']}/")


def test_a_crash_reaches_the_on_failure_destination_which_records_it(
    invokes, cloud, finished: Finished
) -> None:
    _upload(cloud, finished)
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["mp4"]})
    assert status == 202, body
    export_id = body["export_id"]
    record = state().get_export("run-test", export_id)
    record.status = ExportStatus.running  # the Export function claimed it, published one file, and was killed
    state().update_export(record, expect=ExportStatus.queued)
    folder = f"runs/run-test/exports/{export_id}/"
    cloud.put_object(Bucket=BUCKET, Key=f"{folder}storyboard.pdf", Body=b"%PDF-half")
    destination = {  # the on-failure destination's record, as Lambda sends it
        "version": "1.0",
        "timestamp": "2026-12-03T18:00:00.000Z",
        "requestContext": {
            "requestId": "c1",
            "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:{EXPORT_FN}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1,
        },
        "requestPayload": invokes[0]["payload"],
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "2026-12-03T18:15:00Z c1 Task timed out after 900.00 seconds"},
    }
    out = export_handler.fail_handler(destination, FakeLambdaContext("storyreel-exportfail"))
    assert out["recorded"] is True
    status, failed, _ = call("GET", body["poll"])
    assert failed["status"] == "failed" and "RetriesExhausted" in failed["error"]
    assert "Task timed out after 900.00 seconds" in failed["error"]
    assert not _keys(cloud, folder)
    # a late destination for a finished export changes nothing
    assert export_handler.fail_handler(destination, FakeLambdaContext("x"))["recorded"] is False


def test_an_invoke_that_fails_fails_the_export(invokes, cloud, finished: Finished, monkeypatch) -> None:
    _upload(cloud, finished)
    monkeypatch.setenv("EXPORT_FUNCTION_NAME", "no-such-function")
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["mp4"]})
    assert status == 503 and body["status"] == 503
    assert body["error"].startswith("the export could not be started")
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE)["Items"]
    (export,) = [json.loads(i["body"]["S"]) for i in items if i["sk"]["S"].startswith("EXPORT#")]
    assert export["status"] == "failed" and export["error"].startswith("the export could not be started")


# --------------------------------------------------------------------------- refusals
def test_refusals_are_one_line_4xx_and_write_nothing(invokes, cloud, finished: Finished) -> None:
    status, body, _ = call("POST", "/runs/run-test/exports", {})
    assert status == 404 and body["status"] == 404
    _upload(cloud, finished, RunStatus.running)
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["mp4"]})
    assert status == 409 and "running" in body["error"]
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["pdf"]})
    assert status == 409 and "only a finished run" in body["error"]
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["gif"]})
    assert status == 422 and body["error"].startswith("body.formats.0")
    status, body, _ = call("POST", "/runs/run-test/exports", {"fps": "24"})
    assert status == 422
    status, body, _ = call("GET", "/runs/run-test/exports/0123456789abcdef")
    assert status == 404 and body["error"] == "run run-test has no export '0123456789abcdef'"
    status, body, _ = call("GET", "/runs/run-test/exports/not-an-id")
    assert status == 422
    assert invokes == [] and not _keys(cloud, "runs/run-test/exports/")


def test_brief_audio_the_run_does_not_keep_is_refused(invokes, cloud, finished: Finished) -> None:
    _upload(cloud, finished)
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["mp4"], "audio": "brief"})
    assert status == 409 and body["error"] == "run run-test keeps no audio of its brief: use --audio none"
    assert invokes == []


def test_a_prompts_only_run_refuses_the_mp4_with_the_cli_reason(
    invokes, cloud, prompts_only: Finished
) -> None:
    _upload(cloud, prompts_only)
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["mp4", "pdf"]})
    assert status == 409
    assert body["error"].startswith("run run-test has no rendered keyframe (prompts only)")
    assert "storyreel images run-test" in body["error"]
    assert invokes == [] and not _keys(cloud, "runs/run-test/exports/")
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["pdf"]})  # the rest still exports
    assert status == 200 and list(body["files"]) == ["storyboard.pdf"]


def test_another_callers_run_and_its_exports_are_404(invokes, cloud, finished: Finished) -> None:
    _upload(cloud, finished, owner="someone-else")
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["mp4"]})
    assert status == 404 and body["error"] == "no run with id 'run-test'"
    record = state().get("run-test")
    record.owner = "local"
    state().save(record)
    status, made, _ = call("POST", "/runs/run-test/exports", {"formats": ["pdf"]})
    assert status == 200
    record.owner = "someone-else"
    state().save(record)
    status, body, _ = call("GET", made["poll"])
    assert status == 404 and body["error"] == "no run with id 'run-test'"


def test_without_an_export_function_the_mp4_is_501(cloud, finished: Finished) -> None:
    _upload(cloud, finished)
    status, body, _ = call("POST", "/runs/run-test/exports", {"formats": ["mp4"]})
    assert status == 501 and "no Export function" in body["error"]
