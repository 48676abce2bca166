"""The Lambda's environment (set by the CDK stack) and the AWS clients and stores made from it.

STORYREEL_BUCKET    the bucket (uploads/ and runs/ prefixes)
STORYREEL_TABLE     the single DynamoDB table (runs, policy, cache, idempotency records)
STATE_MACHINE_ARN   the storyboard state machine (intake starts it)
EVENT_BUS_NAME      where PreviewReady events go (finalize, the API)
STORYREEL_*__*      settings overrides, e.g. STORYREEL_IMAGE_GENERATION__PROVIDER=replicate

Local mode (`storyreel serve`, storyreel/serve.py): `use_local(LocalMode(...))` makes Env.load() answer the
local stores instead: SQLite state and files under STORYREEL_HOME, URLs that point at the serving process, and
the serve process's own background worker where the cloud would send an event.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from storyreel.shared.aws.observability import patch_traced
from storyreel.shared.aws.stores import DynamoStateStore, S3BlobStore, ServedBlobStore
from storyreel.shared.errors import ConfigError, NotFoundError
from storyreel.shared.stores import SqliteStateStore

RUN_PREFIX = "runs/"
UPLOAD_PREFIX = "uploads/"
API_UPLOAD_PREFIX = "uploads/api/"  # uploads/api/<run_id>/<file>: the upload of a run created by POST /runs


@dataclass(frozen=True)
class LocalMode:
    """What `storyreel serve` gives the API handler in place of AWS (see the module docstring)."""

    home: Path  # STORYREEL_HOME: state.sqlite3, runs/, uploads/
    base_url: str  # how a browser reaches the serving process, e.g. http://127.0.0.1:8000
    secret: bytes  # signs the upload URLs (made fresh by each serve process)
    state: SqliteStateStore
    render: Callable[[str, list[str]], None]  # POST /runs/{id}/images: render these frames in the background
    # POST /runs/{id}/exports with mp4: make export (run_id, export_id) in the background (the Export function's
    # work); None: this server makes no background exports
    export: Callable[[str, str], None] | None = None

    def runs(self) -> ServedBlobStore:
        """Runs' files: STORYREEL_HOME/runs, or wherever a run was written (`storyreel run --out DIR`)."""
        return ServedBlobStore(self.home / "runs", self.base_url, "files", self.secret, roots=self.run_root)

    def uploads(self) -> ServedBlobStore:
        return ServedBlobStore(self.home / "uploads", self.base_url, "uploads", self.secret)

    def run_root(self, run_id: str) -> Path | None:
        """The folder holding run `run_id`'s folder (a `storyreel run --out DIR` run lives under DIR)."""
        try:
            return Path(self.state.get(run_id).output_dir).parent
        except NotFoundError:
            return None


_local: LocalMode | None = None


def use_local(mode: LocalMode | None) -> None:
    """Answer Env.load() with local stores (`storyreel serve`), or with AWS again (None)."""
    global _local
    _local = mode


@dataclass(frozen=True)
class Env:
    bucket: str
    table: str
    state_machine_arn: str | None
    event_bus_name: str | None
    local: LocalMode | None = None

    @classmethod
    def load(cls) -> Env:
        if _local is not None:
            return cls(bucket="", table="", state_machine_arn=None, event_bus_name=None, local=_local)
        missing = [n for n in ("STORYREEL_BUCKET", "STORYREEL_TABLE") if not os.environ.get(n)]
        if missing:
            raise ConfigError(f"environment variable(s) not set: {', '.join(missing)}")
        return cls(
            bucket=os.environ["STORYREEL_BUCKET"],
            table=os.environ["STORYREEL_TABLE"],
            state_machine_arn=os.environ.get("STATE_MACHINE_ARN") or None,
            event_bus_name=os.environ.get("EVENT_BUS_NAME") or None,
        )

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigError(f"environment variable {name.upper()} not set")
        return value


# Clients live for the life of the Lambda sandbox (created on first use, not at import: small cold starts).
@cache
def client(service: str) -> Any:
    import boto3  # from the runtime; its import (the bench's biggest baseline) is paid by the first client

    patch_traced()
    return boto3.client(service)


def blobs(env: Env | None = None) -> S3BlobStore | ServedBlobStore:
    env = env or Env.load()
    if env.local is not None:
        return env.local.runs()
    return S3BlobStore(env.bucket, prefix=RUN_PREFIX, client=client("s3"))


def uploads(env: Env | None = None) -> S3BlobStore | ServedBlobStore:
    env = env or Env.load()
    if env.local is not None:
        return env.local.uploads()
    return S3BlobStore(env.bucket, prefix=UPLOAD_PREFIX, client=client("s3"))


def state(env: Env | None = None) -> DynamoStateStore | SqliteStateStore:
    env = env or Env.load()
    if env.local is not None:
        return env.local.state
    return DynamoStateStore(env.table, client=client("dynamodb"))


def reset_clients() -> None:
    """Forget cached clients (tests switch moto accounts between cases)."""
    client.cache_clear()
