"""POST /runs/{id}/exports through the API's Lambda handler (moto S3 + DynamoDB): the PDF and timelines are
written under runs/<id>/exports/ and answered as presigned links; mp4 is refused with one line (no ffmpeg
in the API), and so are unknown runs and unfinished ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import opentimelineio as otio
import pytest
from moto import mock_aws
from storyreel.shared.aws.env import reset_clients, state
from storyreel.shared.aws.stores import create_table
from storyreel.shared.contracts import RunRecord, RunStatus

from testkit.aws import BUCKET, MOTO_CONFIG, REGION, TABLE, call_api
from tests.export.conftest import Finished


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch):
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
    with mock_aws(config=MOTO_CONFIG):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        reset_clients()
        yield boto3.client("s3", region_name=REGION)
        reset_clients()


def _upload(s3, run: Finished, status: RunStatus = RunStatus.succeeded) -> None:
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
        )
    )


def test_exports_are_written_to_the_run_and_linked(cloud, finished: Finished, tmp_path: Path) -> None:
    _upload(cloud, finished)
    status, body = call_api("POST", "/runs/run-test/exports", {"formats": ["pdf", "otio", "edl"], "fps": 25})
    assert status == 200, body
    assert sorted(body["files"]) == ["storyboard.pdf", "timeline.edl", "timeline.otio"]
    assert all("runs/run-test/exports/" in url and "Signature" in url for url in body["files"].values())
    keys = {
        o["Key"] for o in cloud.list_objects_v2(Bucket=BUCKET, Prefix="runs/run-test/exports/")["Contents"]
    }
    assert "runs/run-test/exports/media/s1-start.png" in keys
    pdf = cloud.get_object(Bucket=BUCKET, Key="runs/run-test/exports/storyboard.pdf")["Body"].read()
    assert pdf.startswith(b"%PDF-")
    text = cloud.get_object(Bucket=BUCKET, Key="runs/run-test/exports/timeline.otio")["Body"].read()
    tl = otio.adapters.read_from_string(text.decode(), "otio_json")
    assert len(tl.find_clips()) == 5
    assert tl.duration().rate == 25
    assert tl.find_clips()[0].media_reference.target_url == "media/s1-start.png"


def test_the_default_is_every_format_but_mp4(cloud, finished: Finished) -> None:
    _upload(cloud, finished)
    status, body = call_api("POST", "/runs/run-test/exports", {})
    assert status == 200, body
    assert sorted(body["files"]) == [
        "storyboard.pdf",
        "timeline.edl",
        "timeline.otio",
        "timeline.otioz",
        "timeline.xml",
    ]


def test_refusals_are_one_line_4xx(cloud, finished: Finished) -> None:
    status, body = call_api("POST", "/runs/run-test/exports", {})
    assert status == 404 and body["status"] == 404
    _upload(cloud, finished, RunStatus.running)
    status, body = call_api("POST", "/runs/run-test/exports", {"formats": ["mp4"]})
    assert status == 400 and body["error"].startswith("mp4 export runs locally only")
    status, body = call_api("POST", "/runs/run-test/exports", {"formats": ["pdf"]})
    assert status == 409 and "running" in body["error"]
    status, body = call_api("POST", "/runs/run-test/exports", {"formats": ["gif"]})
    assert status == 422 and body["error"].startswith("body.formats.0")
    status, body = call_api("POST", "/runs/run-test/exports", {"fps": "24"})
    assert status == 422
    assert not cloud.list_objects_v2(Bucket=BUCKET, Prefix="runs/run-test/exports/").get("Contents")
    assert json.dumps(body)  # the error shape is JSON


def test_a_deployment_without_the_export_packages_says_so(
    cloud, finished: Finished, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storyreel.services.export as package

    _upload(cloud, finished)
    monkeypatch.delattr(package, "step", raising=False)
    monkeypatch.setitem(sys.modules, "storyreel.services.export.step", None)  # as if not installed
    status, body = call_api("POST", "/runs/run-test/exports", {"formats": ["pdf"]})
    assert status == 501 and body["status"] == 501
    assert body["error"].startswith("exports are not installed in this deployment")
