"""A reference image of the subject through the API (moto): POST /runs names its Content-Type and answers a second
signed upload into the run's own folder (not under uploads/, whose objects start runs); the images stage reads it
from S3 with a bound and hands the provider a PNG, whatever the user sent."""

from __future__ import annotations

import io

import boto3
import pytest
import requests
from PIL import Image
from storyreel.services.images import step as images_step
from storyreel.shared.aws.context import run_settings
from storyreel.shared.aws.env import state
from storyreel.shared.aws.stores import S3BlobStore
from storyreel.shared.errors import InputError

from testkit.aws import BUCKET, REGION, call_api


def _jpeg(color: str = "#3366cc", size: tuple[int, int] = (24, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def test_post_runs_with_a_reference_signs_its_upload_into_the_run_folder(aws):
    status, body = call_api("POST", "/runs", {"filename": "brief.m4a", "reference": "image/jpeg"})
    assert status == 201, body
    run_id = body["run_id"]
    ref = body["reference_upload"]
    assert ref["kind"] == "reference" and ref["method"] == "PUT"
    assert ref["key"] == f"runs/{run_id}/reference/subject.png"
    assert ref["headers"] == {"Content-Type": "image/jpeg"}
    assert ref["max_bytes"] == images_step.MAX_REFERENCE_BYTES
    assert "content-type" in ref["url"].lower()  # signed with it: S3 refuses a PUT with another
    assert body["upload"]["key"].startswith("uploads/api/")  # the brief's upload is unchanged
    record = state().get(run_id)
    assert run_settings(record).image_generation.subject_reference == "given"

    put = requests.put(ref["url"], data=_jpeg(), headers=ref["headers"], timeout=10)
    assert put.status_code == 200, put.text
    got = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=ref["key"])
    assert got["ContentType"] == "image/jpeg"


def test_a_run_without_a_reference_gets_no_reference_upload(aws):
    status, body = call_api("POST", "/runs", {"filename": "brief.m4a"})
    assert status == 201 and body.get("reference_upload") is None


@pytest.mark.parametrize(
    ("request_body", "status", "words"),
    [
        (
            {"reference": "image/png", "options": {"image_generation": {"subject_reference": "first-frame"}}},
            400,
            "subject_reference is 'first-frame' but a reference image is given",
        ),
        (
            {"options": {"image_generation": {"subject_reference": "given"}}},
            400,
            "subject_reference 'given' needs the reference image",
        ),
        ({"reference": "image/gif"}, 422, "reference"),
        ({"reference": True}, 422, "reference"),
    ],
)
def test_a_reference_that_cannot_work_is_refused_before_a_run_exists(aws, request_body, status, words):
    before = len(state().list(100))
    got, body = call_api("POST", "/runs", {"filename": "brief.m4a", **request_body})
    assert got == status, body
    assert words in body["error"] and "\n" not in body["error"]
    assert len(state().list(100)) == before


def test_the_images_stage_reads_the_uploaded_reference_bounded_from_s3(aws, monkeypatch):
    """What the images Lambda does with the object: one ranged GET, so a 5 GB PUT is never read whole."""
    s3 = boto3.client("s3", region_name=REGION)
    store = S3BlobStore(BUCKET, client=s3)
    key = f"run-1/{images_step.REFERENCE_KEY}"
    store.put_bytes(key, _jpeg(), "image/jpeg")
    data = store.get_bytes(key, images_step.MAX_REFERENCE_BYTES)
    png = images_step.reference_png(data, key)
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG" and img.size == (24, 16)

    ranges: list[str | None] = []

    def spy(**kwargs):
        ranges.append(kwargs.get("Range"))
        return real(**kwargs)

    real = s3.get_object
    monkeypatch.setattr(s3, "get_object", spy)
    store.put_bytes(key, b"\0" * 5000, "image/jpeg")
    with pytest.raises(InputError, match="over 4096 bytes: refused unread"):
        store.get_bytes(key, 4096)
    assert ranges == ["bytes=0-4096"]
    store.put_bytes(key, b"", "image/jpeg")
    assert store.get_bytes(key, 4096) == b""  # S3's 416 for a range of an empty object
