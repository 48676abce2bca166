"""The same behaviour from the SQLite store and the DynamoDB store (moto): one test, both stores."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from storyreel.shared.aws.stores import DynamoStateStore, S3BlobStore
from storyreel.shared.contracts import RunRecord, RunStatus, StageTiming, utcnow
from storyreel.shared.errors import ConflictError, NotFoundError
from storyreel.shared.stores import (
    BlobStore,
    CacheStore,
    LocalBlobStore,
    PolicyStore,
    RunStore,
    SqliteStateStore,
)

from testkit.aws import BUCKET, REGION, TABLE


@pytest.fixture(params=["sqlite", "dynamodb"])
def state(request, tmp_path):
    if request.param == "sqlite":
        return SqliteStateStore(tmp_path / "state.sqlite3")
    request.getfixturevalue("aws")
    return DynamoStateStore(TABLE, client=boto3.client("dynamodb", region_name=REGION))


@pytest.fixture(params=["local", "s3"])
def blobs(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(tmp_path / "runs")
    request.getfixturevalue("aws")
    return S3BlobStore(BUCKET, client=boto3.client("s3", region_name=REGION))


def _record(run_id: str, minutes_ago: float = 0) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        source="brief.wav",
        output_dir="runs",
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        options={"pipeline": {"limit_images": 2}},
    )


def test_protocols(state, blobs):
    assert isinstance(state, RunStore) and isinstance(state, PolicyStore) and isinstance(state, CacheStore)
    assert isinstance(blobs, BlobStore)


def test_run_roundtrip_and_duplicate(state):
    rec = _record("r1")
    rec.stages["transcribe"] = StageTiming(status="succeeded", seconds=1.5)
    state.create(rec)
    got = state.get("r1")
    assert got.options == {"pipeline": {"limit_images": 2}}
    assert got.stages["transcribe"].seconds == 1.5
    with pytest.raises(ConflictError):
        state.create(_record("r1"))
    with pytest.raises(NotFoundError):
        state.get("nope")


def test_status_transition_is_conditional(state):
    state.create(_record("r1"))
    rec = state.get("r1")
    rec.status = RunStatus.running
    state.save(rec, expect_status=RunStatus.queued)
    assert state.get("r1").status == RunStatus.running
    rec.status = RunStatus.succeeded
    with pytest.raises(ConflictError, match="running"):
        state.save(rec, expect_status=RunStatus.queued)
    assert state.get("r1").status == RunStatus.running
    state.save(rec)  # unconditional
    assert state.get("r1").status == RunStatus.succeeded
    with pytest.raises(NotFoundError):
        state.save(_record("ghost"))


def test_list_newest_first_with_limit(state):
    for i, ago in enumerate([30, 10, 20]):
        state.create(_record(f"r{i}", minutes_ago=ago))
    assert [r.run_id for r in state.list()] == ["r1", "r2", "r0"]
    assert [r.run_id for r in state.list(limit=2)] == ["r1", "r2"]


def test_policy_versions(state):
    assert state.get_policy("thompson") == ({}, 0)
    state.put_policy("thompson", {"arms": {"a": [1, 1]}}, expected_version=0)
    assert state.get_policy("thompson") == ({"arms": {"a": [1, 1]}}, 1)
    with pytest.raises(ConflictError):
        state.put_policy("thompson", {"arms": {}}, expected_version=0)
    state.put_policy("thompson", {"arms": {"a": [2, 1]}}, expected_version=1)
    assert state.get_policy("thompson") == ({"arms": {"a": [2, 1]}}, 2)


def test_cache_ttl(state):
    assert state.cache_get("k") is None
    state.cache_put("k", {"posts": [1, 2]}, ttl_s=60)
    assert state.cache_get("k") == {"posts": [1, 2]}
    state.cache_put("old", {"x": 1}, ttl_s=-1)
    assert state.cache_get("old") is None


def test_blobs(blobs):
    blobs.put_bytes("r1/transcript.json", b"{}", "application/json")
    blobs.put_bytes("r1/frames/s1-start.png", b"png")
    blobs.put_bytes("r2/transcript.json", b"{}")
    assert blobs.exists("r1/transcript.json") and not blobs.exists("r1/nope.json")
    assert blobs.get_bytes("r1/frames/s1-start.png") == b"png"
    assert blobs.list("r1/") == ["r1/frames/s1-start.png", "r1/transcript.json"]
    blobs.delete("r1/transcript.json")
    assert not blobs.exists("r1/transcript.json")
    with pytest.raises(NotFoundError):
        blobs.get_bytes("r1/transcript.json")
    with pytest.raises(ValueError):
        blobs.put_bytes("../escape", b"x")


def test_s3_uri_and_presign(aws):
    blobs = S3BlobStore(BUCKET, client=boto3.client("s3", region_name=REGION))
    assert blobs.put_bytes("r1/index.html", b"<html>") == f"s3://{BUCKET}/runs/r1/index.html"
    url = blobs.presign("r1/index.html", expires=60)
    assert url.startswith("https://") and "runs/r1/index.html" in url and "Signature" in url


def test_dynamo_stage_write_survives_concurrent_save(aws):
    """A stage timing written by one Lambda is not lost when another saves its older copy of the record."""
    store = DynamoStateStore(TABLE, client=boto3.client("dynamodb", region_name=REGION))
    store.create(_record("r1"))
    stale = store.get("r1")
    store.record_stage("r1", "virality", StageTiming(status="succeeded", seconds=0.2))
    stale.stages["scenes"] = StageTiming(status="succeeded", seconds=0.3)
    store.save(stale)
    assert set(store.get("r1").stages) == {"virality", "scenes"}
