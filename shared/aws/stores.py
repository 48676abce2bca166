"""The cloud side of shared/stores.py: S3 blobs and one single-table DynamoDB state store.

Table layout (the CDK stack creates it; these names are the contract with infra/):

    partition key  pk (S)        sort key  sk (S)       TTL attribute  ttl (N, epoch seconds)
    GSI  gsi1: partition key gsi1pk (S), sort key gsi1sk (S), projection ALL

    item                pk                   sk                    other attributes
    run record          RUN#<run_id>         RUN                   status, body (JSON), stages (map of JSON),
                                                                   gsi1pk="RUNS", gsi1sk="<created_at>#<run_id>",
                                                                   owner (S), revision (N), and while an edit
                                                                   holds it edit_token (S), edit_until (N)
    export record       RUN#<run_id>         EXPORT#<export_id>    status, body (JSON): POST /runs/{id}/exports
    optimizer policy    POLICY#<name>        POLICY                version (N), body (JSON)
    cache entry         CACHE#<key>          CACHE                 body (JSON), expires_at (N), ttl (N)
    idempotency record  idempotency#<fn>     <hash>                written by Powertools idempotency

Run records list newest first through gsi1 (one constant partition "RUNS": fine for the run rates of one
team; shard gsi1pk by month if that ever changes). Status transitions and policy versions are conditional
writes; a lost race raises shared.errors.ConflictError, exactly like the SQLite store.

Stage timings live in a map attribute `stages` whose entries are written one by one (`SET stages.#name`), so
two Lambdas of the same run (the scenes and virality branches, the Map's image items) never overwrite each
other's timings. The revision is its own attribute too, written only by end_edit (never by save), so a stage
saving a record it read earlier cannot move it back. A record written before it has none: revision 0.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError
from storyreel.shared.contracts import ExportRecord, ExportStatus, RunRecord, RunStatus, StageTiming, utcnow
from storyreel.shared.errors import ConflictError, NotFoundError
from storyreel.shared.stores import EDIT_LEASE_S, LocalBlobStore, RevisionConflict, edit_refused, too_big

PK, SK, TTL = "pk", "sk", "ttl"
GSI_NAME, GSI_PK, GSI_SK = "gsi1", "gsi1pk", "gsi1sk"
RUNS_PARTITION = "RUNS"


def _boto3_client(service: str) -> Any:
    import boto3  # imported with the first client, not with this module (Lambda cold starts)

    return boto3.client(service)


def _is(exc: ClientError, *codes: str) -> bool:
    return exc.response.get("Error", {}).get("Code") in codes


# --------------------------------------------------------------------------- S3 blobs
class S3BlobStore:
    """BlobStore over one bucket; keys are relative to `prefix` (`runs/` by default), as the local store's keys
    are relative to its root."""

    def __init__(self, bucket: str, prefix: str = "runs/", client: Any = None) -> None:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        self.client = client or _boto3_client("s3")

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return f"{self.prefix}{key}"

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        return self.uri(key)

    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        try:
            if max_bytes is None:
                return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
            # one ranged GET: at most max_bytes + 1 bytes come over, whatever size the object has
            got = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes=0-{max_bytes}")
            data = got["Body"].read(max_bytes + 1)
            if len(data) > max_bytes:
                raise too_big(key, max_bytes)
            return data
        except ClientError as exc:
            if _is(exc, "NoSuchKey", "404"):
                raise NotFoundError(f"no blob {key!r} in s3://{self.bucket}/{self.prefix}") from None
            if max_bytes is not None and _is(exc, "InvalidRange", "416"):
                return b""  # S3 answers a range of an empty object with 416
            raise

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is(exc, "404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def presign(
        self, key: str, expires: int = 3600, method: str = "get_object", content_type: str | None = None
    ) -> str:
        """A presigned URL for the blob: `get_object` (a link) or `put_object` (an upload target)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if content_type and method == "put_object":
            params["ContentType"] = content_type
        return self.client.generate_presigned_url(method, Params=params, ExpiresIn=expires)


# --------------------------------------------------------------------------- the local stand-in (storyreel serve)
class ServedBlobStore:
    """S3BlobStore's stand-in for `storyreel serve`: files under `root` (a run's own folder wherever `roots`
    says it lives), and URLs that point at the serving process instead of presigned S3 ones:
    GET `<base_url>/<route>/<key>` (read-only) and PUT `<base_url>/<route>/<key>?expires=..&sig=..` (signed
    with `secret` over the method, key, expiry and Content-Type, as S3 signs a presigned PUT)."""

    _ROOTS_KEPT = 4096  # run folders remembered (they never move)

    def __init__(
        self,
        root: Path,
        base_url: str,
        route: str,
        secret: bytes,
        roots: Callable[[str], Path | None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.route = route
        self.secret = secret
        self._roots = roots
        self._known: dict[str, Path] = {}

    def store_of(self, key: str) -> LocalBlobStore:
        """The local store holding `key` (`<run_id>/...`: under the folder the run was written to)."""
        run_id = key.split("/", 1)[0]
        root = self._known.get(run_id)
        if root is None and self._roots is not None:
            root = self._roots(run_id)
            if root is not None:
                if len(self._known) >= self._ROOTS_KEPT:
                    self._known.clear()
                self._known[run_id] = root
        return LocalBlobStore(root or self.root)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        return self.store_of(key).put_bytes(key, data, content_type)

    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        return self.store_of(key).get_bytes(key, max_bytes)

    def exists(self, key: str) -> bool:
        return self.store_of(key).exists(key)

    def list(self, prefix: str) -> list[str]:
        return self.store_of(prefix).list(prefix)

    def delete(self, key: str) -> None:
        self.store_of(key).delete(key)

    def uri(self, key: str) -> str:
        return self.store_of(key).uri(key)

    def local_path(self, key: str) -> Path:
        return self.store_of(key).local_path(key)

    def _signature(self, key: str, expires_at: int, content_type: str) -> str:
        message = f"PUT\n{self.route}/{key}\n{expires_at}\n{content_type}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def presign(
        self, key: str, expires: int = 3600, method: str = "get_object", content_type: str | None = None
    ) -> str:
        self.store_of(key).local_path(key)  # ValueError for a key that escapes the store, as S3BlobStore
        url = f"{self.base_url}/{self.route}/{quote(key)}"
        if method == "get_object":
            return url
        expires_at = int(time.time()) + expires
        return f"{url}?expires={expires_at}&sig={self._signature(key, expires_at, content_type or '')}"

    def check_put(self, key: str, expires: str, sig: str, content_type: str) -> str | None:
        """Why a PUT to `key` is refused (a one-line reason), or None when its URL is signed and unexpired."""
        try:
            expires_at = int(expires)
        except ValueError:
            return "the upload URL is not signed (expires)"
        if not hmac.compare_digest(self._signature(key, expires_at, content_type), sig):
            return "the upload URL's signature does not match (the URL or its Content-Type changed)"
        if expires_at < time.time():
            return "the upload URL has expired: create the run again"
        return None


# --------------------------------------------------------------------------- DynamoDB state
def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


class DynamoStateStore:
    """RunStore + PolicyStore + CacheStore on one DynamoDB table (layout in the module docstring)."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table = table_name
        self.client = client or _boto3_client("dynamodb")

    # ---- helpers
    @staticmethod
    def _run_pk(run_id: str) -> dict[str, dict[str, str]]:
        return {PK: _s(f"RUN#{run_id}"), SK: _s("RUN")}

    @staticmethod
    def _body(record: RunRecord) -> str:
        return record.model_dump_json(exclude={"stages", "revision"})

    @staticmethod
    def _record(item: dict[str, Any]) -> RunRecord:
        record = RunRecord.model_validate_json(item["body"]["S"])
        record.revision = int(item.get("revision", {}).get("N", "0"))
        stages = item.get("stages", {}).get("M", {})
        record.stages = {
            name: StageTiming.model_validate_json(value["S"]) for name, value in sorted(stages.items())
        }
        return record

    # ---- RunStore
    def create(self, record: RunRecord) -> None:
        item = {
            **self._run_pk(record.run_id),
            "status": _s(record.status.value),
            "body": _s(self._body(record)),
            "stages": {"M": {k: _s(v.model_dump_json()) for k, v in record.stages.items()}},
            "owner": _s(record.owner),
            "revision": _n(record.revision),
            GSI_PK: _s(RUNS_PARTITION),
            GSI_SK: _s(f"{record.created_at.isoformat()}#{record.run_id}"),
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if _is(exc, "ConditionalCheckFailedException"):
                raise ConflictError(f"run {record.run_id} already exists") from None
            raise

    def get(self, run_id: str) -> RunRecord:
        item = self.client.get_item(TableName=self.table, Key=self._run_pk(run_id), ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return self._record(item)

    def save(self, record: RunRecord, *, expect_status: RunStatus | None = None) -> None:
        record.updated_at = utcnow()
        names = {"#status": "status", "#body": "body"}
        values: dict[str, Any] = {":status": _s(record.status.value), ":body": _s(self._body(record))}
        sets = ["#status = :status", "#body = :body"]
        # Stage entries are set one by one: a concurrent record_stage for another stage survives this save.
        for i, (name, timing) in enumerate(sorted(record.stages.items())):
            names["#stages"] = "stages"
            names[f"#g{i}"] = name
            values[f":g{i}"] = _s(timing.model_dump_json())
            sets.append(f"#stages.#g{i} = :g{i}")
        condition = "attribute_exists(pk)"
        if expect_status is not None:
            condition += " AND #status = :expect"
            values[":expect"] = _s(expect_status.value)
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._run_pk(record.run_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not _is(exc, "ConditionalCheckFailedException"):
                raise
            current = self.get(record.run_id)  # NotFoundError if it is gone
            raise ConflictError(
                f"run {record.run_id} is {current.status.value}, expected "
                f"{expect_status.value if expect_status else 'it to exist'}"
            ) from None

    def record_stage(self, run_id: str, stage: str, timing: StageTiming) -> None:
        """Write one stage's timing without touching the rest of the record (safe beside parallel stages)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._run_pk(run_id),
                UpdateExpression="SET #stages.#name = :timing",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#stages": "stages", "#name": stage},
                ExpressionAttributeValues={":timing": _s(timing.model_dump_json())},
            )
        except ClientError as exc:
            if _is(exc, "ConditionalCheckFailedException"):
                raise NotFoundError(f"no run with id {run_id!r}") from None
            raise

    def list(self, limit: int = 50) -> list[RunRecord]:
        resp = self.client.query(
            TableName=self.table,
            IndexName=GSI_NAME,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": GSI_PK},
            ExpressionAttributeValues={":p": _s(RUNS_PARTITION)},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._record(item) for item in resp.get("Items", [])]

    # ---- RevisionStore
    def list_owned(self, owner: str, limit: int = 50) -> builtins.list[RunRecord]:
        """gsi1 newest first, filtered by owner (a record written before owners existed is 'local'); pages are
        read until `limit` runs are found or the index ends."""
        condition = "#o = :o" if owner != "local" else "(#o = :o OR attribute_not_exists(#o))"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": GSI_NAME,
            "KeyConditionExpression": "#p = :p",
            "FilterExpression": condition,
            "ExpressionAttributeNames": {"#p": GSI_PK, "#o": "owner"},
            "ExpressionAttributeValues": {":p": _s(RUNS_PARTITION), ":o": _s(owner)},
            "ScanIndexForward": False,
            "Limit": max(limit, 25),
        }
        found: list[RunRecord] = []
        while len(found) < limit:
            resp = self.client.query(**kwargs)
            found.extend(self._record(item) for item in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return found[:limit]

    def begin_edit(self, run_id: str, revision: int, token: str, lease_s: float = EDIT_LEASE_S) -> RunRecord:
        now = time.time()
        at = "#rev = :rev" if revision else "(#rev = :rev OR attribute_not_exists(#rev))"
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._run_pk(run_id),
                UpdateExpression="SET #tok = :tok, #until = :until",
                ConditionExpression=(
                    f"attribute_exists(pk) AND #status = :ok AND {at} "
                    "AND (attribute_not_exists(#tok) OR #until < :now)"
                ),
                ExpressionAttributeNames={
                    "#status": "status",
                    "#rev": "revision",
                    "#tok": "edit_token",
                    "#until": "edit_until",
                },
                ExpressionAttributeValues={
                    ":tok": _s(token),
                    ":until": _n(now + lease_s),
                    ":ok": _s(RunStatus.succeeded.value),
                    ":rev": _n(revision),
                    ":now": _n(now),
                },
            )
        except ClientError as exc:
            if not _is(exc, "ConditionalCheckFailedException"):
                raise
            item = self._item(run_id)  # NotFoundError if it is gone
            current = int(item.get("revision", {}).get("N", "0"))
            busy = "edit_token" in item and float(item.get("edit_until", {}).get("N", "0")) >= now
            raise edit_refused(run_id, current, item["status"]["S"], revision, busy) from None
        return self.get(run_id)

    def end_edit(self, record: RunRecord, token: str, *, commit: bool) -> int:
        names = {"#tok": "edit_token", "#until": "edit_until"}
        values: dict[str, Any] = {":tok": _s(token)}
        update = "REMOVE #tok, #until"
        if commit:
            record.updated_at = utcnow()
            names.update({"#status": "status", "#body": "body", "#rev": "revision"})
            values.update(
                {
                    ":status": _s(record.status.value),
                    ":body": _s(self._body(record)),
                    ":one": _n(1),
                    ":zero": _n(0),
                }
            )
            update = (
                "SET #status = :status, #body = :body, #rev = if_not_exists(#rev, :zero) + :one " + update
            )
        try:
            resp = self.client.update_item(
                TableName=self.table,
                Key=self._run_pk(record.run_id),
                UpdateExpression=update,
                ConditionExpression="#tok = :tok",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _is(exc, "ConditionalCheckFailedException"):
                raise
            current = int(self._item(record.run_id).get("revision", {}).get("N", "0"))
            raise RevisionConflict(
                f"run {record.run_id}: the edit's claim on the run ran out", current
            ) from None
        return int(resp["Attributes"].get("revision", {}).get("N", "0"))

    def _item(self, run_id: str) -> dict[str, Any]:
        item = self.client.get_item(TableName=self.table, Key=self._run_pk(run_id), ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return item

    # ---- ExportStore (items in the run's partition, not in gsi1: listing runs never sees them)
    @staticmethod
    def _export_key(run_id: str, export_id: str) -> dict[str, dict[str, str]]:
        return {PK: _s(f"RUN#{run_id}"), SK: _s(f"EXPORT#{export_id}")}

    def create_export(self, record: ExportRecord) -> None:
        item = {
            **self._export_key(record.run_id, record.export_id),
            "status": _s(record.status.value),
            "body": _s(record.model_dump_json()),
        }
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if _is(exc, "ConditionalCheckFailedException"):
                raise ConflictError(
                    f"export {record.export_id} of run {record.run_id} already exists"
                ) from None
            raise

    def get_export(self, run_id: str, export_id: str) -> ExportRecord:
        item = self.client.get_item(
            TableName=self.table, Key=self._export_key(run_id, export_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"run {run_id} has no export {export_id!r}")
        return ExportRecord.model_validate_json(item["body"]["S"])

    def update_export(self, record: ExportRecord, *, expect: ExportStatus) -> None:
        record.updated_at = utcnow()
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._export_key(record.run_id, record.export_id),
                UpdateExpression="SET #status = :status, #body = :body",
                ConditionExpression="attribute_exists(pk) AND #status = :expect",
                ExpressionAttributeNames={"#status": "status", "#body": "body"},
                ExpressionAttributeValues={
                    ":status": _s(record.status.value),
                    ":body": _s(record.model_dump_json()),
                    ":expect": _s(expect.value),
                },
            )
        except ClientError as exc:
            if not _is(exc, "ConditionalCheckFailedException"):
                raise
            current = self.get_export(record.run_id, record.export_id)  # NotFoundError if there is none
            raise ConflictError(
                f"export {record.export_id} is {current.status.value}, expected {expect.value}"
            ) from None

    # ---- PolicyStore
    def get_policy(self, name: str) -> tuple[dict[str, Any], int]:
        key = {PK: _s(f"POLICY#{name}"), SK: _s("POLICY")}
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            return {}, 0
        return json.loads(item["body"]["S"]), int(item["version"]["N"])

    def put_policy(self, name: str, state: dict[str, Any], expected_version: int) -> None:
        item = {
            PK: _s(f"POLICY#{name}"),
            SK: _s("POLICY"),
            "version": _n(expected_version + 1),
            "body": _s(json.dumps(state)),
        }
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR version = :v",
                ExpressionAttributeValues={":v": _n(expected_version)},
            )
        except ClientError as exc:
            if not _is(exc, "ConditionalCheckFailedException"):
                raise
            _, current = self.get_policy(name)
            raise ConflictError(
                f"policy {name} is at version {current}, expected {expected_version}"
            ) from None

    # ---- CacheStore
    def cache_get(self, key: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key={PK: _s(f"CACHE#{key}"), SK: _s("CACHE")}).get(
            "Item"
        )
        # DynamoDB deletes expired items lazily (within days): the expiry is checked here too.
        if item is None or float(item["expires_at"]["N"]) < time.time():
            return None
        return json.loads(item["body"]["S"])

    def cache_put(self, key: str, value: dict[str, Any], ttl_s: float) -> None:
        expires = time.time() + ttl_s
        self.client.put_item(
            TableName=self.table,
            Item={
                PK: _s(f"CACHE#{key}"),
                SK: _s("CACHE"),
                "body": _s(json.dumps(value)),
                "expires_at": _n(expires),
                TTL: _n(math.ceil(expires)),
            },
        )


def create_table(client: Any, table_name: str) -> None:
    """Create the table with the layout above (tests and local experiments; the CDK stack does it in AWS)."""
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in (PK, SK, GSI_PK, GSI_SK)],
        KeySchema=[{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": GSI_NAME,
                "KeySchema": [
                    {"AttributeName": GSI_PK, "KeyType": "HASH"},
                    {"AttributeName": GSI_SK, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL}
    )
