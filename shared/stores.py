"""Stores behind small protocols: blobs (a directory locally, S3 in the cloud) and run state
(SQLite locally, DynamoDB in the cloud). The cloud versions live in shared/aws/stores.py and fit the same
protocols, so the stage code never knows which one it has.

Blob keys are relative to a run's base: `{run_id}/transcript.json`, `{run_id}/frames/s1-start.png`.
"""

from __future__ import annotations

import builtins
import json
import os
import secrets
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel
from storyreel.shared.contracts import ExportRecord, ExportStatus, RunRecord, RunStatus, StageTiming, utcnow
from storyreel.shared.errors import ConfigError, ConflictError, InputError, NotFoundError, UserError

M = TypeVar("M", bound=BaseModel)


# --------------------------------------------------------------------------- protocols
@runtime_checkable
class BlobStore(Protocol):
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str: ...
    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        """The blob's bytes; with `max_bytes`, an InputError instead of reading a bigger one."""
        ...

    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, key: str) -> None: ...
    def uri(self, key: str) -> str: ...


@runtime_checkable
class RunStore(Protocol):
    def create(self, record: RunRecord) -> None: ...
    def get(self, run_id: str) -> RunRecord: ...
    def save(self, record: RunRecord, *, expect_status: RunStatus | None = None) -> None: ...
    def record_stage(self, run_id: str, stage: str, timing: StageTiming) -> None:
        """Write one stage's timing without touching the rest of the record (safe beside parallel stages)."""
        ...

    def list(self, limit: int = 50) -> list[RunRecord]: ...


class RevisionConflict(ConflictError):
    """An edit against a revision the run is no longer at, or while another edit holds the run (API 409)."""

    def __init__(self, message: str, revision: int) -> None:
        super().__init__(message)
        self.revision = revision


EDIT_LEASE_S = 900.0  # how long a crashed edit can hold a run (the longest a Lambda runs)


@runtime_checkable
class RevisionStore(Protocol):
    """A run's revision: an edit claims the run at the revision it saw (begin_edit: one conditional write, so
    of two edits at one revision exactly one gets it), then commits (the record, revision + 1) or aborts."""

    def begin_edit(self, run_id: str, revision: int, token: str, lease_s: float = EDIT_LEASE_S) -> RunRecord:
        """The record, claimed for an edit; RevisionConflict (stale revision, another edit holding it),
        ConflictError (not a succeeded run) or NotFoundError otherwise."""
        ...

    def end_edit(self, record: RunRecord, token: str, *, commit: bool) -> int:
        """Release the claim; `commit`: write the record and bump the revision. Returns the revision now."""
        ...

    def list_owned(self, owner: str, limit: int = 50) -> builtins.list[RunRecord]:
        """The runs of `owner`, newest first."""
        ...


@contextmanager
def editing(store: RevisionStore, run_id: str, revision: int) -> Iterator[RunRecord]:
    """Claim run `run_id` at `revision` for one edit. A UserError inside (raised before anything is written)
    releases it unchanged; anything else, or none, commits the record and bumps the revision (an error after
    some writes must not leave the old revision standing for the new blobs)."""
    token = secrets.token_hex(16)
    record = store.begin_edit(run_id, revision, token)
    try:
        yield record
    except UserError:
        store.end_edit(record, token, commit=False)
        raise
    except BaseException:
        record.revision = store.end_edit(record, token, commit=True)
        raise
    record.revision = store.end_edit(record, token, commit=True)


def edit_refused(run_id: str, revision: int, status: str, expected: int, busy: bool) -> ConflictError:
    """Why a claim failed, in one line (the state it found)."""
    if status != RunStatus.succeeded.value:
        return ConflictError(f"run {run_id} is {status}; only a finished (succeeded) run can be edited")
    if revision != expected:
        return RevisionConflict(
            f"run {run_id} is at revision {revision}, not {expected}: it changed since you read it "
            "(read the storyboard again)",
            revision,
        )
    if busy:
        return RevisionConflict(f"run {run_id} is being edited by another request; try again", revision)
    return RevisionConflict(f"run {run_id}: the edit lost its claim on the run", revision)


@runtime_checkable
class ExportStore(Protocol):
    """A run's exports (POST /runs/{id}/exports), one record each beside the run's: a stage saving the run
    record never touches them. Status changes are conditional on the status the writer saw."""

    def create_export(self, record: ExportRecord) -> None: ...
    def get_export(self, run_id: str, export_id: str) -> ExportRecord:
        """NotFoundError when the run has no such export."""
        ...

    def update_export(self, record: ExportRecord, *, expect: ExportStatus) -> None:
        """Write the record if its stored status is still `expect`; ConflictError otherwise."""
        ...


@runtime_checkable
class PolicyStore(Protocol):
    """Optimizer state: a JSON document per policy name with a version for optimistic concurrency."""

    def get_policy(self, name: str) -> tuple[dict[str, Any], int]: ...
    def put_policy(self, name: str, state: dict[str, Any], expected_version: int) -> None: ...


@runtime_checkable
class CacheStore(Protocol):
    def cache_get(self, key: str) -> dict[str, Any] | None: ...
    def cache_put(self, key: str, value: dict[str, Any], ttl_s: float) -> None: ...


# --------------------------------------------------------------------------- model helpers
def put_model(blobs: BlobStore, key: str, model: BaseModel) -> str:
    return blobs.put_bytes(key, model.model_dump_json(indent=2).encode(), "application/json")


def get_model(blobs: BlobStore, key: str, cls: type[M]) -> M:
    return cls.model_validate_json(blobs.get_bytes(key))


def too_big(key: str, max_bytes: int) -> InputError:
    bound = f"{max_bytes / 2**20:.0f} MiB" if max_bytes >= 2**20 else f"{max_bytes} bytes"
    return InputError(f"{key} is over {bound}: refused unread")


def get_optional_bytes(blobs: BlobStore, key: str, max_bytes: int | None = None) -> bytes | None:
    """The blob, or None when there is none: one request (a GET), not a check and then a GET."""
    try:
        return blobs.get_bytes(key, max_bytes)
    except NotFoundError:
        return None


def get_optional_model(blobs: BlobStore, key: str, cls: type[M]) -> M | None:
    data = get_optional_bytes(blobs, key)
    return None if data is None else cls.model_validate_json(data)


# --------------------------------------------------------------------------- local blobs
def _now() -> float:
    """The cache's clock (a seam for tests)."""
    return time.time()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


class LocalBlobStore:
    """Blobs as files under `root`; writes are atomic (temp file + rename) so a reader never sees half a file."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; outputs are meant to be read (served, opened)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(path)

    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(f"no blob {key!r} under {self.root}")
        if max_bytes is None:
            return path.read_bytes()
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise too_big(key, max_bytes)
        return data

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root
        if not base.exists():
            return []
        # Walk only the folder the prefix names, not the whole store (an --out root holds every run).
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = base / folder if folder else base
        if not start.is_dir():
            return []
        keys = (p.relative_to(base).as_posix() for p in start.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not Path(k).name.startswith("."))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def local_path(self, key: str) -> Path:
        return self._path(key)


# --------------------------------------------------------------------------- SQLite state
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT 'local',
    edit_token TEXT,
    edit_until REAL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE TABLE IF NOT EXISTS policy (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS exports (
    run_id TEXT NOT NULL,
    export_id TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run_id, export_id)
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    body TEXT NOT NULL
);
"""


_RUN_COLUMNS = (
    ("revision", "INTEGER NOT NULL DEFAULT 0"),
    ("owner", "TEXT NOT NULL DEFAULT 'local'"),
    ("edit_token", "TEXT"),
    ("edit_until", "REAL"),
)


def _body(record: RunRecord) -> str:
    """The record as stored: the revision lives in its own column/attribute, written only by end_edit, so a
    stage saving the record it read earlier never moves it back."""
    return record.model_dump_json(exclude={"revision"})


def _read(body: str, revision: int) -> RunRecord:
    record = RunRecord.model_validate_json(body)
    record.revision = revision
    return record


class SqliteStateStore:
    """Run records, optimizer state and caches in one SQLite file (WAL, so readers never block the writer).

    Implements RunStore, PolicyStore and CacheStore. Safe across threads and processes: every write is a
    transaction, status transitions and policy updates are conditional.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn().executescript(_SCHEMA)  # idempotent DDL; executescript manages its own transaction
            self._migrate()
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ConfigError(
                f"the state store {self.path} is not usable ({exc}); set STORYREEL_HOME to a writable folder"
            ) from None

    def _migrate(self) -> None:
        """Columns added since the first release (a state file made before them gets them, with defaults)."""
        with self._tx() as db:
            have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            for name, ddl in _RUN_COLUMNS:
                if name not in have:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {name} {ddl}")
            db.execute("CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner, created_at)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "PRAGMA synchronous=NORMAL"
            )  # WAL + NORMAL: durable across crashes, no fsync per commit
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # ---- RunStore
    def create(self, record: RunRecord) -> None:
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO runs(run_id, status, created_at, body, revision, owner) VALUES (?,?,?,?,?,?)",
                    (
                        record.run_id,
                        record.status.value,
                        record.created_at.isoformat(),
                        _body(record),
                        record.revision,
                        record.owner,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"run {record.run_id} already exists") from exc

    def get(self, run_id: str) -> RunRecord:
        row = self._conn().execute("SELECT body, revision FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return _read(row[0], row[1])

    def save(self, record: RunRecord, *, expect_status: RunStatus | None = None) -> None:
        record.updated_at = utcnow()
        with self._tx() as db:
            row = db.execute("SELECT status FROM runs WHERE run_id=?", (record.run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run with id {record.run_id!r}")
            if expect_status is not None and row[0] != expect_status.value:
                raise ConflictError(f"run {record.run_id} is {row[0]}, expected {expect_status.value}")
            db.execute(
                "UPDATE runs SET status=?, body=? WHERE run_id=?",
                (record.status.value, _body(record), record.run_id),
            )

    def record_stage(self, run_id: str, stage: str, timing: StageTiming) -> None:
        with self._tx() as db:  # read and write in one transaction: a concurrent stage's entry is kept
            row = db.execute("SELECT body FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no run with id {run_id!r}")
            record = RunRecord.model_validate_json(row[0])
            record.stages[stage] = timing
            db.execute("UPDATE runs SET body=? WHERE run_id=?", (_body(record), run_id))

    def list(self, limit: int = 50) -> list[RunRecord]:
        rows = (
            self._conn()
            .execute("SELECT body, revision FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [_read(r[0], r[1]) for r in rows]

    # ---- RevisionStore
    def list_owned(self, owner: str, limit: int = 50) -> builtins.list[RunRecord]:
        rows = (
            self._conn()
            .execute(
                "SELECT body, revision FROM runs WHERE owner=? ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (owner, limit),
            )
            .fetchall()
        )
        return [_read(r[0], r[1]) for r in rows]

    def begin_edit(self, run_id: str, revision: int, token: str, lease_s: float = EDIT_LEASE_S) -> RunRecord:
        now = time.time()
        with self._tx() as db:
            row = db.execute(
                "SELECT body, revision, status, edit_token, edit_until FROM runs WHERE run_id=?", (run_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no run with id {run_id!r}")
            body, current, status, held, until = row
            busy = held is not None and until is not None and until > now
            if status != RunStatus.succeeded.value or current != revision or busy:
                raise edit_refused(run_id, current, status, revision, busy)
            db.execute(
                "UPDATE runs SET edit_token=?, edit_until=? WHERE run_id=?", (token, now + lease_s, run_id)
            )
        return _read(body, current)

    def end_edit(self, record: RunRecord, token: str, *, commit: bool) -> int:
        with self._tx() as db:
            row = db.execute(
                "SELECT revision, edit_token FROM runs WHERE run_id=?", (record.run_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no run with id {record.run_id!r}")
            current, held = row
            if held != token:  # the lease ran out and another edit took the run
                raise RevisionConflict(f"run {record.run_id}: the edit's claim on the run ran out", current)
            if not commit:
                db.execute(
                    "UPDATE runs SET edit_token=NULL, edit_until=NULL WHERE run_id=?", (record.run_id,)
                )
                return int(current)
            record.updated_at = utcnow()
            db.execute(
                "UPDATE runs SET status=?, body=?, revision=?, edit_token=NULL, edit_until=NULL WHERE run_id=?",
                (record.status.value, _body(record), current + 1, record.run_id),
            )
            return int(current) + 1

    # ---- ExportStore
    def create_export(self, record: ExportRecord) -> None:
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO exports(run_id, export_id, status, body) VALUES (?,?,?,?)",
                    (record.run_id, record.export_id, record.status.value, record.model_dump_json()),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(
                    f"export {record.export_id} of run {record.run_id} already exists"
                ) from exc

    def get_export(self, run_id: str, export_id: str) -> ExportRecord:
        row = (
            self._conn()
            .execute("SELECT body FROM exports WHERE run_id=? AND export_id=?", (run_id, export_id))
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"run {run_id} has no export {export_id!r}")
        return ExportRecord.model_validate_json(row[0])

    def update_export(self, record: ExportRecord, *, expect: ExportStatus) -> None:
        record.updated_at = utcnow()
        with self._tx() as db:
            done = db.execute(
                "UPDATE exports SET status=?, body=? WHERE run_id=? AND export_id=? AND status=?",
                (
                    record.status.value,
                    record.model_dump_json(),
                    record.run_id,
                    record.export_id,
                    expect.value,
                ),
            ).rowcount
        if not done:
            current = self.get_export(record.run_id, record.export_id)  # NotFoundError if there is none
            raise ConflictError(
                f"export {record.export_id} is {current.status.value}, expected {expect.value}"
            )

    # ---- PolicyStore
    def get_policy(self, name: str) -> tuple[dict[str, Any], int]:
        row = self._conn().execute("SELECT body, version FROM policy WHERE name=?", (name,)).fetchone()
        return (json.loads(row[0]), int(row[1])) if row else ({}, 0)

    def put_policy(self, name: str, state: dict[str, Any], expected_version: int) -> None:
        body = json.dumps(state)
        with self._tx() as db:
            row = db.execute("SELECT version FROM policy WHERE name=?", (name,)).fetchone()
            current = int(row[0]) if row else 0
            if current != expected_version:
                raise ConflictError(f"policy {name} is at version {current}, expected {expected_version}")
            db.execute(
                "INSERT INTO policy(name, version, body) VALUES (?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET version=excluded.version, body=excluded.body",
                (name, current + 1, body),
            )

    # ---- CacheStore
    def cache_get(self, key: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT body, expires_at FROM cache WHERE key=?", (key,)).fetchone()
        if row is None or row[1] < _now():
            return None
        return json.loads(row[0])

    def cache_put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO cache(key, expires_at, body) VALUES (?,?,?)",
                (key, _now() + ttl_s, json.dumps(value)),
            )


def storyreel_home() -> Path:
    """Where what outlives a run lives (run index, optimizer state, caches). STORYREEL_HOME overrides."""
    env = os.environ.get("STORYREEL_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("storyreel", appauthor=False))


def local_state(home: Path | None = None) -> SqliteStateStore:
    return SqliteStateStore((home or storyreel_home()) / "state.sqlite3")
