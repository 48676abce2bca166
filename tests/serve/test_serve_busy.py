"""storyreel serve under more uploads than its workers take: the PUT that finds the queue full is a 429 with
Retry-After (nothing is started, the run stays queued), and the same PUT later starts the run."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from storyreel import serve
from storyreel.serve import Server
from tests.serve.test_serve import BRIEF, wait_done


@pytest.fixture
def served() -> Iterator[httpx.Client]:
    server = Server(port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client
    server.httpd.shutdown()
    thread.join(timeout=20)


def test_a_full_queue_is_a_429_with_retry_after_and_the_put_again_starts_the_run(
    served: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = served.post("/runs", json={"preset": "quick", "filename": "brief.wav"}).json()
    upload, run_id = made["upload"], made["run_id"]
    monkeypatch.setattr(serve, "MAX_QUEUED", 0)  # every worker slot taken
    busy = httpx.put(upload["url"], content=BRIEF.read_bytes(), headers=upload["headers"], timeout=60)
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == str(serve.BUSY_RETRY_S)
    assert busy.json() == {
        "error": f"the local workers are busy: PUT the audio again in {serve.BUSY_RETRY_S} s",
        "status": 429,
    }
    assert served.get(f"/runs/{run_id}").json()["run"]["status"] == "queued"
    monkeypatch.setattr(serve, "MAX_QUEUED", 8)
    again = httpx.put(upload["url"], content=BRIEF.read_bytes(), headers=upload["headers"], timeout=60)
    assert again.status_code == 200, again.text
    assert wait_done(served, run_id)["status"] == "succeeded"
