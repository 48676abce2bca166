from __future__ import annotations

import threading
from pathlib import Path

import pytest
from storyreel.shared.contracts import RunRecord, RunStatus, StageTiming, Transcript
from storyreel.shared.errors import ConflictError, NotFoundError
from storyreel.shared.stores import BlobStore, LocalBlobStore, SqliteStateStore, get_model, put_model


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id=run_id, source="brief.wav", output_dir=f"/tmp/{run_id}")


def test_local_blobs_roundtrip_and_list(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    assert isinstance(blobs, BlobStore)
    blobs.put_bytes("r1/frames/s1-start.png", b"png")
    put_model(blobs, "r1/transcript.json", Transcript(text="hi", duration_s=1.0))
    assert blobs.exists("r1/frames/s1-start.png")
    assert blobs.list("r1/frames/") == ["r1/frames/s1-start.png"]
    assert get_model(blobs, "r1/transcript.json", Transcript).text == "hi"
    with pytest.raises(NotFoundError):
        blobs.get_bytes("r1/nope.json")
    with pytest.raises(ValueError):
        blobs.put_bytes("../escape.txt", b"x")
    blobs.delete("r1/frames/s1-start.png")
    assert not blobs.exists("r1/frames/s1-start.png")
    assert not list(tmp_path.rglob(".*"))  # no temp files left behind


def test_run_store_lifecycle_and_conditional_save(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.db")
    store.create(record("a"))
    store.create(record("b"))
    with pytest.raises(ConflictError):
        store.create(record("a"))
    rec = store.get("a")
    rec.status = RunStatus.running
    store.save(rec, expect_status=RunStatus.queued)
    rec.status = RunStatus.succeeded
    with pytest.raises(ConflictError):
        store.save(rec, expect_status=RunStatus.queued)
    store.save(rec, expect_status=RunStatus.running)
    assert store.get("a").status == RunStatus.succeeded
    assert [r.run_id for r in store.list()] == ["b", "a"]
    with pytest.raises(NotFoundError):
        store.get("zzz")


def test_record_stage_writes_one_entry(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.db")
    store.create(record("a"))
    store.record_stage("a", "images", StageTiming(status="running"))
    store.record_stage("a", "virality", StageTiming(status="succeeded", seconds=1.5))
    store.record_stage("a", "images", StageTiming(status="failed", detail="boom"))
    stages = store.get("a").stages
    assert stages["images"].status == "failed" and stages["images"].detail == "boom"
    assert stages["virality"].status == "succeeded"
    assert store.get("a").status == RunStatus.queued
    with pytest.raises(NotFoundError):
        store.record_stage("zzz", "images", StageTiming(status="running"))


def test_policy_versions_are_optimistic(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.db")
    assert store.get_policy("p") == ({}, 0)
    store.put_policy("p", {"n": 1}, expected_version=0)
    with pytest.raises(ConflictError):
        store.put_policy("p", {"n": 2}, expected_version=0)
    assert store.get_policy("p") == ({"n": 1}, 1)


def test_policy_concurrent_increments_lose_nothing(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.db")

    def bump() -> None:
        for _ in range(20):
            while True:
                state, version = store.get_policy("p")
                try:
                    store.put_policy("p", {"n": state.get("n", 0) + 1}, version)
                    break
                except ConflictError:
                    continue

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get_policy("p")[0]["n"] == 80


def test_cache_ttl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storyreel.shared.stores as stores

    store = SqliteStateStore(tmp_path / "s.db")
    now = [1000.0]
    monkeypatch.setattr(stores, "_now", lambda: now[0])
    store.cache_put("k", {"v": 1}, ttl_s=60)
    assert store.cache_get("k") == {"v": 1}
    now[0] += 61
    assert store.cache_get("k") is None


def test_home_is_overridable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storyreel.shared.stores import storyreel_home

    monkeypatch.setenv("STORYREEL_HOME", str(tmp_path / "h"))
    assert storyreel_home() == tmp_path / "h"


def test_list_walks_only_the_prefix_folder(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    blobs.put_bytes("r1/usage/a.json", b"1")
    blobs.put_bytes("r2/usage/b.json", b"2")
    blobs.put_bytes("r1/usage-not/c.json", b"3")
    assert blobs.list("r1/usage/") == ["r1/usage/a.json"]
    assert blobs.list("r9/") == []


@pytest.mark.parametrize("make", ["file", "not-sqlite"])
def test_unusable_home_is_a_config_error(tmp_path: Path, make: str) -> None:
    from storyreel.shared.errors import ConfigError

    if make == "file":
        home = tmp_path / "home"
        home.write_text("I am a file")
        path = home / "state.sqlite3"
    else:
        path = tmp_path / "state.sqlite3"
        path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="STORYREEL_HOME"):
        SqliteStateStore(path)
