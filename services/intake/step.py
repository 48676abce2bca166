"""Intake: an upload becomes a run and its execution; a PreviewReady event becomes the execution that renders
the frames a preview left. Both start the storyboard state machine, each exactly once per event.

An upload's run id is the same for every delivery of it (bucket+key+ETag), the start is idempotent
(Powertools idempotency, records in the run table), and a duplicate event starts nothing. The upload is copied
to runs/<id>/audio/<its name>: audio, or a typed brief or meeting transcript (.txt .md .vtt .srt .json), which
the transcribe step reads instead of recognising (a bad one fails the run there, with its one-line reason).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from storyreel.services.transcribe.step import typed_too_big
from storyreel.shared.aws.context import resolve_settings, run_settings
from storyreel.shared.aws.env import API_UPLOAD_PREFIX, RUN_PREFIX, Env, client, state
from storyreel.shared.aws.execution import execution_input, render_input
from storyreel.shared.aws.observability import logger, metrics
from storyreel.shared.aws.stores import PK, SK, TTL
from storyreel.shared.contracts import RunError, RunRecord, RunStatus, ScenePlan, StageTiming, utcnow
from storyreel.shared.errors import ConfigError, ConflictError, NotFoundError, UserError
from storyreel.shared.pipeline import SCENES, RunContext, outstanding
from storyreel.shared.settings import audio_too_big
from storyreel.shared.stores import get_model

# Idempotency is imported where it is built, in start_upload_once (it brings boto3 with it): Intake's first
# event pays for it, the other handlers never do.
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

IDEMPOTENCY_TTL_S = 24 * 3600  # S3 -> EventBridge redeliveries arrive within minutes; a day is generous


def _safe_name(name: str, ext: str) -> str:
    """The upload's file name as a key part (an S3 key may hold anything): letters, digits, `._-` kept."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")
    return safe if safe and PurePosixPath(safe).suffix.lower() == ext else f"audio{ext}"


def upload_run_id(upload: dict[str, Any]) -> str:
    """A run id that is the same for every delivery of one upload (the S3 event's time + a hash of bucket, key
    and ETag), so a retry after a partial first attempt resumes that run instead of making another."""
    digest = hashlib.sha256(f"{upload['bucket']}/{upload['key']}/{upload['etag']}".encode()).hexdigest()[:6]
    return f"{upload['time']:%Y%m%d-%H%M%S}-{digest}"


def upload_options(metadata: dict[str, str]) -> tuple[str | None, dict[str, Any]]:
    """Run options from the object's metadata: `x-amz-meta-preset: quick` and/or
    `x-amz-meta-options: {"pipeline": {"limit_images": 2}}` (JSON)."""
    preset = metadata.get("preset") or None
    raw = metadata.get("options")
    if not raw:
        return preset, {}
    try:
        options = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"object metadata 'options' is not valid JSON: {exc.msg}") from None
    if not isinstance(options, dict):
        raise ConfigError("object metadata 'options' must be a JSON object of settings sections")
    return preset, options


def _get_run(store: Any, run_id: str) -> RunRecord | None:
    try:
        return store.get(run_id)
    except NotFoundError:
        return None


def start_upload(upload: dict[str, Any]) -> dict[str, Any]:
    env = Env.load()
    store = state(env)
    s3 = client("s3")
    bucket, key = upload["bucket"], upload["key"]
    ext = PurePosixPath(key).suffix.lower() or ".audio"

    if key.startswith(API_UPLOAD_PREFIX):  # uploads/api/<run_id>/<file>: a run made by POST /runs
        run_id = key[len(API_UPLOAD_PREFIX) :].split("/", 1)[0]
        record = _get_run(store, run_id)
        if record is None or record.status != RunStatus.queued:
            # Not an error to retry: an upload for no run, or a second upload for a run that already started.
            why = (
                "no such run"
                if record is None
                else f"run is {record.status.value}: its upload was already taken"
            )
            logger.warning("upload ignored", extra={"run_id": run_id, "key": key, "reason": why})
            metrics.add_metric(name="uploads_refused", unit=MetricUnit.Count, value=1)
            return {"run_id": run_id, "status": "ignored", "error": why}
    else:
        run_id = upload_run_id(upload)
        record = _get_run(store, run_id)
        if record is not None and record.status != RunStatus.queued:
            # The same upload after the idempotency window, or a retry of an attempt that got the run started.
            return {"run_id": run_id, "status": record.status.value, "duplicate": True}
        if record is None:
            record = RunRecord(
                run_id=run_id,
                source=f"s3://{bucket}/{key}",
                output_dir=f"s3://{bucket}/{RUN_PREFIX}{run_id}/",
            )
            try:
                metadata = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
                preset, options = upload_options(metadata)
                settings = resolve_settings(options, preset, origin="upload metadata 'options'")
            except UserError as exc:
                # The upload's options are wrong: the run exists, failed, with the reason (GET /runs shows it).
                record.status = RunStatus.failed
                record.error = RunError(stage="intake", message=str(exc), kind="user")
                store.create(record)
                metrics.add_metric(name="uploads_refused", unit=MetricUnit.Count, value=1)
                logger.warning("upload refused", extra={"run_id": run_id, "reason": str(exc)})
                return {"run_id": run_id, "status": "failed", "error": str(exc)}
            record.options = settings.model_dump(mode="json")
            store.create(record)
        # else: a retry of an attempt that created the run but did not start it resumes it
    settings = run_settings(record)

    # The upload's size against the bound before anything copies it (a server-side copy still fills the bucket
    # and the transcribe Lambda's memory); the copy is pinned to the object that was measured (its ETag).
    head = s3.head_object(Bucket=bucket, Key=key)
    too_big = typed_too_big(PurePosixPath(key).name, head["ContentLength"]) or audio_too_big(
        PurePosixPath(key).name, head["ContentLength"], settings.pipeline.max_audio_minutes
    )
    if too_big:
        record.status = RunStatus.failed
        record.error = RunError(stage="intake", message=too_big, kind="user")
        try:
            store.save(record, expect_status=RunStatus.queued)
        except ConflictError:
            return {"run_id": run_id, "status": store.get(run_id).status.value, "duplicate": True}
        metrics.add_metric(name="uploads_refused", unit=MetricUnit.Count, value=1)
        logger.warning("upload refused", extra={"run_id": run_id, "reason": too_big})
        return {"run_id": run_id, "status": "failed", "error": too_big}
    # Kept under the user's own name, as the local runner keeps it: a typed brief's one-line errors name it.
    audio_key = f"{run_id}/audio/{_safe_name(PurePosixPath(key).name, ext)}"
    s3.copy(
        {"Bucket": bucket, "Key": key},
        bucket,
        f"{RUN_PREFIX}{audio_key}",
        ExtraArgs={"CopySourceIfMatch": head["ETag"]},
    )
    sfn = client("stepfunctions")
    try:
        execution = sfn.start_execution(
            stateMachineArn=env.require("state_machine_arn"),
            name=run_id,
            input=json.dumps(execution_input(record, audio_key, settings)),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        # a retry after the execution started but before the run was marked running
        execution = {
            "executionArn": env.require("state_machine_arn").replace(":stateMachine:", ":execution:")
            + f":{run_id}"
        }
    record.status = RunStatus.running  # the record in hand: the conditional save below catches any race
    try:
        store.save(record, expect_status=RunStatus.queued)
    except ConflictError:
        return {"run_id": run_id, "status": store.get(run_id).status.value, "duplicate": True}
    metrics.add_metric(name="runs_started", unit=MetricUnit.Count, value=1)
    logger.info("run started", extra={"run_id": run_id, "execution": execution["executionArn"]})
    return {"run_id": run_id, "status": "running", "execution_arn": execution["executionArn"]}


@cache
def start_upload_once() -> tuple[Any, IdempotencyConfig]:
    """start_upload behind Powertools idempotency, keyed on bucket+key+etag (built on first use: the table
    name comes from the environment)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=Env.load().table,
        key_attr=PK,
        sort_key_attr=SK,
        expiry_attr=TTL,
        boto3_client=client("dynamodb"),
    )
    config = IdempotencyConfig(
        event_key_jmespath="[bucket, key, etag]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_S,
    )
    fn = idempotent_function(data_keyword_argument="upload", persistence_store=persistence, config=config)(
        start_upload
    )
    return fn, config


def start_render(
    ctx: RunContext, record: RunRecord, asked: list[str], event_id: str, env: Env
) -> dict[str, Any]:
    """Start the render of the frames still outstanding (of `asked`; empty: all of them), once per event."""
    if record.status != RunStatus.succeeded:
        raise ConflictError(f"run {ctx.run_id} is {record.status.value}: frames render after it succeeded")
    plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
    left = outstanding(ctx, plan)
    frames = [f for f in left if not asked or f in asked]
    if not frames:  # nothing (of what was asked) is left: a redelivered event, or a second request
        return {"run_id": ctx.run_id, "frames": [], "execution_arn": None}
    # One execution per event: EventBridge delivers at least once, and a second start with the same name
    # is refused (or returns the running one), so a redelivery renders nothing twice.
    sfn = client("stepfunctions")
    try:
        execution = sfn.start_execution(
            stateMachineArn=env.require("state_machine_arn"),
            name=f"{ctx.run_id}-render-{event_id}"[:80],
            input=json.dumps(render_input(ctx.run_id, frames, ctx.settings)),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("render already started for this event", extra={"run_id": ctx.run_id, "event": event_id})
        return {"run_id": ctx.run_id, "frames": [], "execution_arn": None}
    ctx.state.record_stage(
        ctx.run_id, "render_rest", StageTiming(started_at=utcnow(), detail=", ".join(frames)[:500])
    )
    metrics.add_metric(name="renders_started", unit=MetricUnit.Count, value=1)
    return {"run_id": ctx.run_id, "frames": frames, "execution_arn": execution["executionArn"]}
