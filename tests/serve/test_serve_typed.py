"""Typed briefs and meeting transcripts through `storyreel serve` as a user starts it (a subprocess on an ephemeral
port): POST /runs with a .vtt/.txt name -> the signed PUT -> the run, read not recognised; a bad file is refused
at the PUT with the very line `storyreel run` prints for it (415 binary data, 422 empty or broken cues, 413 over
the typed bound), and the run stays queued."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator

import httpx
import pytest
from storyreel.services.transcribe.typed import MAX_TYPED_BYTES, read_typed
from storyreel.shared.errors import InputError

from testkit.serve import served

MEETING = b"""WEBVTT

00:00:00.000 --> 00:00:03.000
<v Dana>Hi Sam, how was your weekend?

00:00:03.000 --> 00:00:06.500
<v Sam>Good, thanks. So it's for Rosie's Bakery, a second shop on Mill Street.

00:00:06.500 --> 00:00:14.000
<v Dana>What we agreed: scene one, the baker pulls sourdough loaves out of the oven. Scene two, a child
presses her nose against the shop window.

00:00:14.000 --> 00:00:18.000
<v Sam>Perfect. Thirty seconds for Instagram Reels, warm and cozy.
"""
BROKEN_VTT = b"WEBVTT\n\n00:00:01.000 --> \nno end time here\n"
GOOD = {  # a good file of each kind, PUT after a refused one
    ".txt": b"A calm video about tea.",
    ".vtt": MEETING,
    ".srt": b"1\n00:00:00,000 --> 00:00:02,000\nA calm video about tea.\n",
    ".json": b'{"text": "A calm video about tea."}',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[httpx.Client]:
    with served(tmp_path_factory.mktemp("home")) as client:
        yield client


def _create(client: httpx.Client, filename: str) -> dict:
    made = client.post("/runs", json={"preset": "preview", "filename": filename})
    assert made.status_code == 201, made.text
    return made.json()


def _cli_line(name: str, data: bytes) -> str:
    """What `storyreel run <name>` prints for this file (its InputError's line)."""
    with pytest.raises(InputError) as err:
        read_typed(name, data)
    return str(err.value)


def test_a_meeting_transcript_runs_through_post_put_get(server):
    made = _create(server, "meeting.vtt")
    upload = made["upload"]
    assert upload["headers"] == {"Content-Type": "text/vtt"}
    assert upload["kind"] == "typed" and upload["max_bytes"] == MAX_TYPED_BYTES
    put = httpx.put(upload["url"], content=MEETING, headers=upload["headers"], timeout=60)
    assert put.status_code == 200, put.text
    run_id = made["run_id"]
    for _ in range(240):
        progress = server.get(f"/runs/{run_id}/progress").json()
        if progress["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert progress["status"] == "succeeded", progress
    transcript = server.get(f"/files/{run_id}/transcript.json").json()
    assert transcript["provider"] == "typed" and transcript["timed"] is True
    assert [s["speaker"] for s in transcript["segments"]] == ["Dana", "Sam", "Dana", "Sam"]
    assert transcript["segments"][2]["start"] == 6.5
    board = server.get(f"/runs/{run_id}/storyboard").json()
    text = str(board["storyboard"]["scenes"]).lower()
    assert "sourdough" in text and "weekend" not in text  # what was agreed, not the small talk


@pytest.mark.parametrize(
    ("filename", "body", "status"),
    [
        ("brief.txt", b"\x00\x01PNG binary\x00" * 40, 415),
        ("brief.txt", "caf\u00e9".encode("latin-1") * 10, 415),
        ("brief.txt", b"  \n\n  ", 422),
        ("meeting.vtt", BROKEN_VTT, 422),
        ("meeting.vtt", b"WEBVTT\n\n", 422),
        ("notes.srt", b"1\nnot a time\nhello\n", 422),
        ("brief.json", b'{"words": 3}', 422),
    ],
)
def test_a_bad_typed_brief_is_refused_at_the_put_with_the_cli_line(server, filename, body, status):
    made = _create(server, filename)
    upload = made["upload"]
    refused = httpx.put(upload["url"], content=body, headers=upload["headers"], timeout=60)
    assert refused.status_code == status, refused.text
    assert refused.json() == {"error": _cli_line(filename, body), "status": status}
    assert server.get(f"/runs/{made['run_id']}").json()["run"]["status"] == "queued"
    # the same run takes a good file afterwards (nothing was kept of the refused one)
    good_body = GOOD[filename[filename.rindex(".") :]]
    good = httpx.put(upload["url"], content=good_body, headers=upload["headers"], timeout=60)
    assert good.status_code == 200, good.text


def test_a_typed_brief_over_its_bound_is_refused_before_it_is_read(server):
    upload = _create(server, "brief.md")["upload"]
    assert upload["headers"] == {"Content-Type": "text/markdown"}
    url = httpx.URL(upload["url"])
    conn = http.client.HTTPConnection(url.host, url.port, timeout=10)
    conn.putrequest("PUT", url.raw_path.decode())
    conn.putheader("Content-Type", upload["headers"]["Content-Type"])
    conn.putheader("Content-Length", str(MAX_TYPED_BYTES + 1))  # far under an audio file's bound
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413
    assert b"brief.md is over 4 MiB, the most a typed brief or meeting transcript may take" in answer.read()
    conn.close()


def test_an_audio_name_still_gets_the_audio_check(server):
    upload = _create(server, "brief.wav")["upload"]
    assert upload["kind"] == "audio" and upload["max_bytes"] > 50 * MAX_TYPED_BYTES
    refused = httpx.put(upload["url"], content=b"A calm video about tea." * 20, headers=upload["headers"])
    assert refused.status_code == 415 and "not an audio file" in refused.json()["error"]
