"""A reference image of the subject through `storyreel serve`: POST /runs names its Content-Type, the answer's
reference_upload is a signed PUT into the run's folder (S3 in the cloud), checked here as the images stage checks
it (a bad image is a 415 with its one line, nothing kept); it goes up before the brief, whose upload starts the run."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from storyreel.services.images.step import MAX_REFERENCE_BYTES

from testkit.serve import served


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[httpx.Client]:
    with served(tmp_path_factory.mktemp("home")) as client:
        yield client


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "#cc3366").save(buf, format="JPEG")
    return buf.getvalue()


def _create(server: httpx.Client, **extra) -> dict:
    made = server.post("/runs", json={"preset": "preview", "filename": "brief.txt", **extra})
    assert made.status_code == 201, made.text
    return made.json()


def test_the_reference_goes_up_first_then_the_brief_runs_with_it(server):
    made = _create(server, reference="image/jpeg")
    ref, run_id = made["reference_upload"], made["run_id"]
    assert ref["kind"] == "reference" and ref["max_bytes"] == MAX_REFERENCE_BYTES
    assert ref["key"] == f"runs/{run_id}/reference/subject.png"

    bad = httpx.put(ref["url"], content=b"not an image", headers=ref["headers"], timeout=30)
    assert bad.status_code == 415, bad.text
    assert (
        bad.json()["error"]
        == "reference image upload is not an image Pillow can read (UnidentifiedImageError)"
    )
    assert server.get(f"/files/{run_id}/reference/subject.png").status_code == 404  # nothing kept

    other = httpx.put(ref["url"], content=_jpeg(), headers={"Content-Type": "image/png"}, timeout=30)
    assert other.status_code == 403 and "Content-Type" in other.json()["error"]

    good = httpx.put(ref["url"], content=_jpeg(), headers=ref["headers"], timeout=30)
    assert good.status_code == 200, good.text
    stored = server.get(f"/files/{run_id}/reference/subject.png")
    with Image.open(io.BytesIO(stored.content)) as img:
        assert img.format == "PNG" and img.size == (40, 30)  # what the providers get

    brief = made["upload"]
    put = httpx.put(brief["url"], content=b"A calm video about tea.", headers=brief["headers"], timeout=30)
    assert put.status_code == 200, put.text
    for _ in range(240):
        progress = server.get(f"/runs/{run_id}/progress").json()
        if progress["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert progress["status"] == "succeeded", progress
    record = server.get(f"/runs/{run_id}").json()["run"]
    assert record["options"]["image_generation"]["subject_reference"] == "given"
    late = httpx.put(ref["url"], content=_jpeg(), headers=ref["headers"], timeout=30)
    assert late.status_code == 409 and "before the brief" in late.json()["error"]


def test_a_run_file_other_than_the_reference_cannot_be_put(server):
    made = _create(server, reference="image/png")
    url = made["reference_upload"]["url"].replace("reference/subject.png", "storyboard.json")
    refused = httpx.put(url, content=b"{}", headers={"Content-Type": "image/png"}, timeout=30)
    assert refused.status_code == 405


def test_a_reference_over_the_bound_is_refused_before_it_is_read(server):
    ref = _create(server, reference="image/png")["reference_upload"]
    big = httpx.put(
        ref["url"],
        content=b"\0" * (MAX_REFERENCE_BYTES + 1),
        headers=ref["headers"],
        timeout=30,
    )
    assert big.status_code == 413
