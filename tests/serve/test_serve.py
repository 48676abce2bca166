"""`storyreel serve` as a user starts it (a subprocess on an ephemeral port, its own STORYREEL_HOME), driven over
HTTP with httpx: the same API the Lambda answers, the upload URL it hands out, the run it starts, the edits."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.serve import served

ROOT = Path(__file__).resolve().parents[2]
BRIEF = ROOT / "examples" / "brief.wav"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[httpx.Client]:
    with served(tmp_path_factory.mktemp("home")) as client:
        yield client
    assert "stopped" in client.stopped_output  # type: ignore[attr-defined]


def create_and_upload(client: httpx.Client, path: Path = BRIEF) -> str:
    made = client.post("/runs", json={"preset": "quick", "filename": "brief.wav"})
    assert made.status_code == 201, made.text
    upload = made.json()["upload"]
    assert upload["url"].startswith(str(client.base_url)) and "sig=" in upload["url"]
    put = httpx.put(upload["url"], content=path.read_bytes(), headers=upload["headers"], timeout=60)
    assert put.status_code == 200, put.text
    return made.json()["run_id"]


def wait_done(client: httpx.Client, run_id: str) -> dict:
    for _ in range(240):
        body = client.get(f"/runs/{run_id}/progress").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish: {body}")


@pytest.fixture(scope="module")
def finished(server: httpx.Client) -> str:
    run_id = create_and_upload(server)
    # right after the PUT the run is queued or running (a loaded machine may not have started it): an edit is
    # a 409 (the run is not finished)
    early = server.patch(f"/runs/{run_id}/scenes/1", json={"revision": 0, "title": "too early"})
    error = early.json()["error"]
    assert early.status_code == 409 and ("running" in error or "queued" in error), early.text
    progress = wait_done(server, run_id)
    assert progress["status"] == "succeeded", progress
    assert {"transcribe", "scenes", "images", "finalize"} <= set(progress["stages"])
    assert sorted(progress["frames"]) == ["s1-end", "s1-start"]  # quick: two frames now
    return run_id


def test_create_upload_run_storyboard_and_edits(server, finished):
    run_id = finished
    assert server.get("/runs").json()["runs"][0]["run_id"] == run_id
    view = server.get(f"/runs/{run_id}/storyboard").json()
    assert view["revision"] == 0 and view["status"] == "succeeded"
    scenes = view["storyboard"]["scenes"]
    image = server.get(view["images"]["s1-start"]["url"])
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"

    patched = server.patch(
        f"/runs/{run_id}/scenes/2",
        json={"revision": 0, "start_prompt": "a red cup on a desk", "duration_s": 4},
    )
    assert patched.status_code == 200, patched.text
    board = patched.json()
    assert board["revision"] == 1
    assert board["storyboard"]["scenes"][1]["start_frame"]["prompt"] == "a red cup on a desk"
    assert board["storyboard"]["scenes"][1]["duration"] == 4

    regen = server.post(f"/runs/{run_id}/frames/s1-start/regenerate", json={"revision": 1, "seed": 7})
    assert regen.status_code == 200, regen.text
    assert regen.json()["revision"] == 2
    frame = regen.json()["storyboard"]["scenes"][0]["start_frame"]
    assert frame["version"] == 2 and frame["seed"] == 7  # v1: the original, filed on the first re-render

    versions = server.get(f"/runs/{run_id}/frames/s1-start/versions").json()
    assert versions["current"] == 2 and [v["version"] for v in versions["versions"]] == [1, 2]
    assert all(server.get(v["url"]).status_code == 200 for v in versions["versions"])

    used = server.put(f"/runs/{run_id}/frames/s1-start/current", json={"revision": 2, "version": 1})
    assert used.status_code == 200 and used.json()["revision"] == 3
    assert used.json()["images"]["s1-start"]["version"] == 1

    replanned = server.post(
        f"/runs/{run_id}/replan", json={"revision": 3, "transcript": "a short cold brew ad"}
    )
    assert replanned.status_code == 200, replanned.text
    assert replanned.json()["revision"] == 4 and len(replanned.json()["storyboard"]["scenes"]) >= 3

    moved = server.post(f"/runs/{run_id}/scenes/1/move", json={"revision": 4, "to": 2})
    assert moved.status_code == 200 and moved.json()["revision"] == 5
    inserted = server.post(
        f"/runs/{run_id}/scenes", json={"revision": 5, "index": 1, "description": "an opener"}
    )
    assert (
        inserted.status_code == 201
        and inserted.json()["storyboard"]["scenes"][0]["description"] == "an opener"
    )
    count = len(inserted.json()["storyboard"]["scenes"])
    deleted = server.delete(f"/runs/{run_id}/scenes/1", params={"revision": 6})
    assert deleted.status_code == 200 and len(deleted.json()["storyboard"]["scenes"]) == count - 1
    assert len(scenes) >= 3


def test_two_edits_at_one_revision_one_wins(server, finished):
    run_id = finished
    revision = server.get(f"/runs/{run_id}/storyboard").json()["revision"]
    answers: list[httpx.Response] = []

    def edit(title: str) -> None:
        answers.append(server.patch(f"/runs/{run_id}/scenes/1", json={"revision": revision, "title": title}))

    threads = [threading.Thread(target=edit, args=(t,)) for t in ("first title", "second title")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    lost = next(a for a in answers if a.status_code == 409).json()
    assert lost["revision"] == revision + 1 and set(lost) == {"error", "status", "revision"}
    title = server.get(f"/runs/{run_id}/storyboard").json()["storyboard"]["scenes"][0]["title"]
    won = next(a for a in answers if a.status_code == 200).json()["storyboard"]["scenes"][0]["title"]
    assert title == won and title in ("first title", "second title")


def test_user_errors_are_4xx_in_the_error_shape(server, finished):
    run_id = finished
    revision = server.get(f"/runs/{run_id}/storyboard").json()["revision"]
    cases = [
        (server.get("/runs/20990101-000000-abcdef/storyboard"), 404),
        (server.patch(f"/runs/{run_id}/scenes/42", json={"revision": revision, "title": "x"}), 404),
        (server.post(f"/runs/{run_id}/frames/s42-start/regenerate", json={"revision": revision}), 404),
        (server.put(f"/runs/{run_id}/frames/s1-end/current", json={"revision": revision, "version": 9}), 404),
        (
            server.patch(f"/runs/{run_id}/scenes/1", json={"revision": revision, "start_prompt": "x" * 4001}),
            422,
        ),
        (server.patch(f"/runs/{run_id}/scenes/1", json={"revision": revision + 5, "title": "x"}), 409),
        (server.get("/files/../state.sqlite3"), 404),
        (server.get(f"/files/{run_id}/%2e%2e/%2e%2e/state.sqlite3"), 404),
        (server.get(f"/files/{run_id}/.replan/x"), 404),
        (server.get("/app/..%2f..%2fpyproject.toml"), 404),
    ]
    for answer, status in cases:
        assert answer.status_code == status, (answer.request.url, answer.text)
        body = answer.json()
        assert body["status"] == status and body["error"], body
    assert server.get(f"/runs/{run_id}/storyboard").json()["revision"] == revision  # nothing written


def test_an_upload_that_is_not_audio_is_refused(server):
    made = server.post("/runs", json={"filename": "brief.wav"}).json()
    upload = made["upload"]
    refused = httpx.put(upload["url"], content=b"not audio at all " * 64, headers=upload["headers"])
    assert refused.status_code == 415 and "not an audio file" in refused.json()["error"]
    assert server.get(f"/runs/{made['run_id']}").json()["run"]["status"] == "queued"
    forged = httpx.put(
        upload["url"].replace("sig=", "sig=0"), content=BRIEF.read_bytes(), headers=upload["headers"]
    )
    assert forged.status_code == 403
    # a body over the run's bound is refused from its Content-Length, before a byte of it is read
    url = httpx.URL(upload["url"])
    conn = http.client.HTTPConnection(url.host, url.port, timeout=10)
    conn.putrequest("PUT", url.raw_path.decode())
    conn.putheader("Content-Type", upload["headers"]["Content-Type"])
    conn.putheader("Content-Length", str(10**12))
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413 and b"over" in answer.read()
    conn.close()


def test_openapi_document_is_served(server):
    doc = server.get("/openapi.json").json()
    assert "/runs/{run_id}/scenes/{index}" in doc["paths"] and "/policy" in doc["paths"]
    assert server.get("/policy").json()["policy"]


def test_the_root_sends_the_browser_into_the_app_folder(server):
    """The app's stylesheet and script are relative to its folder: at / they would resolve to the API."""
    root = server.get("/", follow_redirects=False)
    assert root.status_code == 302 and root.headers["location"] == "/app/index.html"
    page = server.get("/", follow_redirects=True)
    assert page.status_code == 200 and 'href="style.css"' in page.text
    assert server.get("/app/style.css").status_code == 200
    assert server.get("/app/js/app.js").status_code == 200
