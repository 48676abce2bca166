"""The Lambda's environment (set by the CDK stack) and the AWS clients and stores made from it.

STORYREEL_BUCKET    the bucket (uploads/ and runs/ prefixes)
STORYREEL_TABLE     the single DynamoDB table (runs, policy, cache, idempotency records)
STATE_MACHINE_ARN   the storyboard state machine (intake starts it)
EVENT_BUS_NAME      where PreviewReady events go (finalize, the API)
STORYREEL_*__*      settings overrides, e.g. STORYREEL_IMAGE_GENERATION__PROVIDER=replicate
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from storyreel.shared.aws.observability import patch_traced
from storyreel.shared.aws.stores import DynamoStateStore, S3BlobStore
from storyreel.shared.errors import ConfigError

RUN_PREFIX = "runs/"
UPLOAD_PREFIX = "uploads/"
API_UPLOAD_PREFIX = "uploads/api/"  # uploads/api/<run_id>/<file>: the upload of a run created by POST /runs


@dataclass(frozen=True)
class Env:
    bucket: str
    table: str
    state_machine_arn: str | None
    event_bus_name: str | None

    @classmethod
    def load(cls) -> Env:
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


def blobs(env: Env | None = None) -> S3BlobStore:
    env = env or Env.load()
    return S3BlobStore(env.bucket, prefix=RUN_PREFIX, client=client("s3"))


def uploads(env: Env | None = None) -> S3BlobStore:
    env = env or Env.load()
    return S3BlobStore(env.bucket, prefix=UPLOAD_PREFIX, client=client("s3"))


def state(env: Env | None = None) -> DynamoStateStore:
    env = env or Env.load()
    return DynamoStateStore(env.table, client=client("dynamodb"))


def reset_clients() -> None:
    """Forget cached clients (tests switch moto accounts between cases)."""
    client.cache_clear()
