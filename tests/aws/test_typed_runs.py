"""Typed briefs and meeting transcripts in the cloud (moto): POST /runs signs the upload with the kind's
Content-Type and bound, intake copies it under its own name, the state machine's transcribe step reads it (no
recognition), and a bad one fails the run with the very line `storyreel run` prints for it."""

from __future__ import annotations

import boto3
import pytest
from storyreel.services.intake.handler import handler as intake_handler
from storyreel.services.transcribe.typed import MAX_TYPED_BYTES, TYPED_SUFFIXES, read_typed
from storyreel.shared.aws.env import state
from storyreel.shared.contracts import RunStatus, Transcript
from storyreel.shared.errors import InputError

from testkit.aws import BUCKET, REGION, FakeLambdaContext, blob, call_api, upload_event, wait

MEETING = b"""WEBVTT

00:00:00.000 --> 00:00:03.000
<v Dana>Hi Sam, how was your weekend?

00:00:03.000 --> 00:00:08.000
<v Sam>So it's for Rosie's Bakery. Scene one, the baker pulls sourdough loaves out of the oven.
"""


def _cli_line(name: str, data: bytes) -> str:
    with pytest.raises(InputError) as err:
        read_typed(name, data)
    return str(err.value)


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("brief.txt", "text/plain"),
        ("brief.md", "text/markdown"),
        ("notes.markdown", "text/markdown"),
        ("meeting.vtt", "text/vtt"),
        ("meeting.srt", "application/x-subrip"),
        ("transcript.json", "application/json"),
        ("brief.m4a", "audio/mp4"),
    ],
)
def test_post_runs_signs_each_kind_with_its_content_type_and_bound(aws, filename, content_type):
    status, body = call_api("POST", "/runs", {"filename": filename})
    assert status == 201, body
    upload = body["upload"]
    assert upload["headers"] == {"Content-Type": content_type}
    assert upload["key"] == f"uploads/api/{body['run_id']}/{filename}"
    assert "content-type" in upload["url"].lower()  # signed with it: S3 refuses a PUT with another
    typed = not filename.endswith(".m4a")
    assert upload["kind"] == ("typed" if typed else "audio")
    if typed:
        assert upload["max_bytes"] == MAX_TYPED_BYTES
    else:  # the run's max_audio_minutes worth of audio: far more than a text may take
        assert upload["max_bytes"] > 50 * MAX_TYPED_BYTES


def test_every_typed_suffix_is_accepted_by_post_runs(aws):
    for suffix in TYPED_SUFFIXES:
        assert call_api("POST", "/runs", {"filename": f"brief{suffix}"})[0] == 201, suffix
    assert call_api("POST", "/runs", {"filename": "brief.docx"})[0] == 422


def _upload(filename: str, body: bytes, content_type: str) -> str:
    run_id = call_api("POST", "/runs", {"preset": "preview", "filename": filename})[1]["run_id"]
    key = f"uploads/api/{run_id}/{filename}"
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=key, Body=body, ContentType=content_type
    )
    intake_handler(upload_event(key, etag=run_id), FakeLambdaContext("storyreel-intake"))
    return run_id


def test_a_meeting_transcript_runs_through_the_state_machine_unrecognised(machine):
    run_id = _upload("meeting.vtt", MEETING, "text/vtt")
    done = wait(run_id)
    assert done["status"] == "SUCCEEDED", done
    assert blob(run_id, "audio/meeting.vtt") == MEETING  # intake's copy keeps the user's name
    transcript = Transcript.model_validate_json(blob(run_id, "transcript.json"))
    assert transcript.provider == "typed" and transcript.timed
    assert [(s.speaker, s.start) for s in transcript.segments] == [("Dana", 0.0), ("Sam", 3.0)]
    status, body = call_api("GET", f"/runs/{run_id}")
    assert status == 200 and body["run"]["status"] == "succeeded"
    assert "typed brief (vtt)" in body["run"]["stages"]["transcribe"]["detail"]


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("meeting.vtt", b"WEBVTT\n\n00:00:01.000 --> \nno end time here\n"),
        ("brief.txt", b"\x00\x01binary\x00" * 20),
        ("brief.md", b"   \n\n"),
    ],
)
def test_a_bad_typed_brief_fails_the_run_with_the_cli_line(machine, filename, data):
    run_id = _upload(filename, data, "text/plain")
    assert wait(run_id)["status"] == "FAILED"
    record = state().get(run_id)
    assert record.status == RunStatus.failed
    assert record.error.stage == "transcribe" and record.error.kind == "user"
    assert record.error.message == _cli_line(filename, data)
    _, body = call_api("GET", f"/runs/{run_id}")
    assert body["run"]["error"]["message"] == _cli_line(filename, data)


def test_a_typed_upload_over_its_bound_fails_at_intake(machine):
    run_id = _upload("brief.txt", b"tea " * (MAX_TYPED_BYTES // 4 + 1), "text/plain")
    record = state().get(run_id)
    assert record.status == RunStatus.failed and record.error.stage == "intake"
    assert record.error.message == (
        "brief.txt is over 4 MiB, the most a typed brief or meeting transcript may take"
    )
