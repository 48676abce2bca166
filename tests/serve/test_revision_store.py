"""The local run store's revision claim under real concurrency: threads claiming one run at one revision."""

from __future__ import annotations

import threading

import pytest
from storyreel.shared.contracts import RunRecord, RunStatus
from storyreel.shared.errors import ConflictError, UserError
from storyreel.shared.stores import RevisionConflict, SqliteStateStore, editing


@pytest.fixture
def store(tmp_path) -> SqliteStateStore:
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    store.create(RunRecord(run_id="r1", status=RunStatus.succeeded, source="a.wav", output_dir=str(tmp_path)))
    return store


def test_of_eight_claims_at_one_revision_exactly_one_wins(store):
    barrier = threading.Barrier(8)
    won: list[int] = []
    lost: list[int] = []

    def claim(n: int) -> None:
        barrier.wait()
        try:
            store.begin_edit("r1", 0, f"t{n}")
            won.append(n)
        except RevisionConflict as exc:
            lost.append(exc.revision)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and lost == [0] * 7


def test_editing_commits_or_releases(store):
    with editing(store, "r1", 0) as record:
        record.title = "edited"
    assert record.revision == 1 and store.get("r1").title == "edited" and store.get("r1").revision == 1
    with pytest.raises(UserError), editing(store, "r1", 1):
        raise UserError("scene 9 is out of range")  # before any write: released, revision kept
    assert store.get("r1").revision == 1
    with pytest.raises(RuntimeError), editing(store, "r1", 1):
        raise RuntimeError("half way")  # blobs may be written: the revision moves on
    assert store.get("r1").revision == 2
    with pytest.raises(RevisionConflict, match="not 1"):
        store.begin_edit("r1", 1, "late")
    store.save(store.get("r1").model_copy(update={"revision": 0}))  # a stage's save leaves it alone
    assert store.get("r1").revision == 2


def test_a_running_run_cannot_be_claimed(store):
    record = store.get("r1")
    record.status = RunStatus.running
    store.save(record)
    with pytest.raises(ConflictError, match="running"):
        store.begin_edit("r1", 0, "t")


def test_owner_listing_and_an_old_state_file(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)  # the runs table as the first release made it
    db.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL)"
    )
    old = RunRecord(run_id="old", status=RunStatus.succeeded, source="a", output_dir="b")
    db.execute(
        "INSERT INTO runs VALUES (?,?,?,?)",
        ("old", "succeeded", old.created_at.isoformat(), old.model_dump_json(exclude={"owner", "revision"})),
    )
    db.commit()
    db.close()
    store = SqliteStateStore(path)
    assert store.get("old").revision == 0 and store.get("old").owner == "local"
    store.create(RunRecord(run_id="theirs", source="a", output_dir="b", owner="user-2"))
    assert [r.run_id for r in store.list_owned("local")] == ["old"]
    assert [r.run_id for r in store.list_owned("user-2")] == ["theirs"]
