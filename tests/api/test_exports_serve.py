"""storyreel serve answers POST /runs/{id}/exports as the cloud does, through the same handler: the mp4 is
queued (202), its worker thread makes it (the real ffmpeg; read back with ffprobe) and GET shows queued or
running, then done with links that the server serves; an animatic that fails is recorded failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from storyreel.services.export import animatic

from storyreel.serve import Server
from tests.api.test_exports import _failing_ffmpeg
from tests.api.test_exports import finished as finished  # the fixture
from tests.export.conftest import Finished, ffprobe


@pytest.fixture
def served(finished: Finished) -> Iterator[httpx.Client]:
    server = Server(port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client
    server.httpd.shutdown()
    thread.join(timeout=20)


def _poll(client: httpx.Client, path: str, timeout: float = 240) -> dict:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(path).json()
        seen.append(body["status"])
        if body["status"] in ("done", "failed"):
            assert set(seen) <= {"queued", "running", body["status"]}, seen
            return body
        time.sleep(0.2)
    raise AssertionError(f"export still {seen[-1]} after {timeout} s")


def test_serve_makes_the_mp4_on_its_worker(served: httpx.Client, finished: Finished, tmp_path: Path) -> None:
    answer = served.post("/runs/run-test/exports", json={"formats": ["mp4"], "size": "360p"})
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert queued["status"] == "queued" and answer.headers["location"] == queued["poll"]
    done = _poll(served, queued["poll"])
    assert done["status"] == "done", done
    assert sorted(done["files"]) == ["animatic.mp4", "animatic.srt"]
    video = served.get(done["files"]["animatic.mp4"])
    assert video.status_code == 200
    path = tmp_path / "animatic.mp4"
    path.write_bytes(video.content)
    stream = next(s for s in ffprobe(path)["streams"] if s["codec_type"] == "video")
    assert stream["codec_name"] == "h264" and min(stream["width"], stream["height"]) == 360
    folder = finished.exports / queued["export_id"]
    assert sorted(p.name for p in folder.iterdir()) == ["animatic.mp4", "animatic.srt"]


def test_serve_records_a_failing_ffmpeg(
    served: httpx.Client, finished: Finished, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(animatic, "ffmpeg_exe", lambda: _failing_ffmpeg(tmp_path))
    queued = served.post("/runs/run-test/exports", json={"formats": ["mp4", "pdf"], "size": "360p"}).json()
    failed = _poll(served, queued["poll"])
    assert failed["status"] == "failed" and "ffmpeg could not encode the animatic" in failed["error"]
    folder = finished.exports / queued["export_id"]
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))
