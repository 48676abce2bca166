"""Run lifecycle Lambdas: everything around the stages.

intake_handler       EventBridge S3 "Object Created" under uploads/ -> a run + its execution (named by run id).
                     Idempotent on bucket+key+etag (Powertools idempotency, records in the same table):
                     a duplicate event starts nothing.
finalize_handler     last state: storyboard.json + index.html, run succeeded; "PreviewReady" when a preview left
                     frames pending and background_full_render is on.
fail_handler         the Catch target: the run is failed with the stage and cause.
render_rest_handler  "PreviewReady" -> an execution of the same state machine in render mode (its Map or Batch
                     path for the pending frames, then Finalize again: the storyboard shows them).
"""

from __future__ import annotations

import hashlib
import json
import time
from functools import cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field
from storyreel.services.images import step as images_step
from storyreel.shared.aws_runtime import (
    API_UPLOAD_PREFIX,
    RUN_PREFIX,
    UPLOAD_PREFIX,
    Env,
    FinalizeEvent,
    RunIdStr,
    blobs,
    client,
    error_kind,
    execution_input,
    lambda_entry,
    logger,
    metrics,
    preview_ready,
    render_input,
    resolve_settings,
    run_context,
    run_settings,
    state,
)
from storyreel.shared.aws_stores import PK, SK, TTL
from storyreel.shared.contracts import RunError, RunRecord, RunStatus, ScenePlan, StageTiming, utcnow
from storyreel.shared.errors import ConfigError, ConflictError, NotFoundError, UserError
from storyreel.shared.pipeline import INDEX_HTML, SCENES, STORYBOARD
from storyreel.shared.settings import audio_too_big
from storyreel.shared.stores import get_model
from storyreel.shared.storyboard import apply_board, finalize

# Idempotency is imported where it is built, in _start_upload_once (it brings boto3 with it): Intake's first
# event pays for it, the other lifecycle handlers never do.
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

IDEMPOTENCY_TTL_S = 24 * 3600  # S3 -> EventBridge redeliveries arrive within minutes; a day is generous


# --------------------------------------------------------------------------- intake
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


def _start_upload(upload: dict[str, Any]) -> dict[str, Any]:
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
    too_big = audio_too_big(
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
    audio_key = f"{run_id}/audio{ext}"
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
def _start_upload_once() -> tuple[Any, IdempotencyConfig]:
    """_start_upload behind Powertools idempotency, keyed on bucket+key+etag (built on first use: the table
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
        _start_upload
    )
    return fn, config


@lambda_entry
@event_parser(model=S3EventNotificationEventBridgeModel)
def intake_handler(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    detail = event.detail
    key = detail.object.key
    if not key.startswith(UPLOAD_PREFIX):
        logger.info("not an upload, ignored", extra={"key": key})
        return {"ignored": key}
    upload = {
        "bucket": detail.bucket.name,
        "key": key,
        "etag": detail.object.etag,
        "size": detail.object.size,
        "time": event.time,  # the S3 event's time: the same in every delivery of it
    }
    start, config = _start_upload_once()
    config.register_lambda_context(context)  # an in-progress record expires with this invocation
    return start(upload=upload)


# --------------------------------------------------------------------------- finalize
@lambda_entry
@event_parser(model=FinalizeEvent)
def finalize_handler(event: FinalizeEvent, context: LambdaContext) -> dict[str, Any]:
    env = Env.load()
    ctx, record = run_context(event.run_id, env)
    if record.status not in (RunStatus.running, RunStatus.succeeded):  # succeeded: a retry of this state
        raise ConflictError(f"run {record.run_id} is {record.status.value}, cannot finalize it")
    expected = record.status
    t0 = time.perf_counter()
    record.status = RunStatus.succeeded
    if not ctx.settings.images_enabled:  # the state machine's "Images skipped" Pass state runs no Lambda
        record.stages["images"] = StageTiming(status="skipped", seconds=0.0, detail="skip_image_generation")
    rest = record.stages.get("render_rest")
    if event.mode == "render" and rest is not None and rest.started_at is not None:
        seconds = round((utcnow() - rest.started_at).total_seconds(), 3)
        record.stages["render_rest"] = rest.model_copy(update={"status": "succeeded", "seconds": seconds})
    record.stages["finalize"] = StageTiming(status="succeeded", started_at=utcnow())
    board = finalize(ctx, record)  # folds usage/<stage>.json into the board; apply_board copies it over
    record.stages["finalize"].seconds = round(time.perf_counter() - t0, 3)
    apply_board(record, board)
    ctx.state.save(record, expect_status=expected)
    metrics.add_metric(name="runs_succeeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="finalize_seconds", unit=MetricUnit.Seconds, value=record.stages["finalize"].seconds
    )

    pending: list[str] = []
    background = ctx.settings.images_enabled and ctx.settings.pipeline.background_full_render
    if event.mode == "run" and board.frames.pending and background:  # a render's finalize starts nothing
        plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
        pending = images_step.outstanding(ctx, plan)
        try:
            preview_ready(record.run_id, pending, "preview", env)
        except (ClientError, RuntimeError) as exc:
            # The storyboard is complete; only the automatic render of the rest was not asked for. Recorded
            # on the run (POST /runs/{id}/images asks again), not a reason to fail it.
            detail = f"PreviewReady not sent: {exc}"[:500]
            ctx.state.record_stage(record.run_id, "render_rest", StageTiming(status="failed", detail=detail))
            metrics.add_metric(name="renders_not_requested", unit=MetricUnit.Count, value=1)
            logger.error(
                "background render not requested", extra={"run_id": record.run_id, "error": str(exc)}
            )
            pending = []
    return {
        "run_id": record.run_id,
        "status": record.status.value,
        "frames": board.frames.model_dump(),
        "background_render": pending,
    }


# --------------------------------------------------------------------------- fail
class FailEvent(FinalizeEvent):
    error: dict[str, Any] = Field(default_factory=dict, description="the Catch's {Error, Cause}")


def _cause(error: dict[str, Any]) -> tuple[str, str]:
    """(error type, message) from a Catch's {Error, Cause}; a Lambda's Cause is its JSON error payload."""
    name = str(error.get("Error") or "States.TaskFailed")
    cause = error.get("Cause") or ""
    try:
        body = json.loads(cause) if isinstance(cause, str) and cause.startswith("{") else None
    except json.JSONDecodeError:
        body = None
    if isinstance(body, dict) and "errorMessage" in body:
        return str(body.get("errorType") or name), str(body["errorMessage"])
    return name, str(cause or name)


@lambda_entry
@event_parser(model=FailEvent)
def fail_handler(event: FailEvent, context: LambdaContext) -> dict[str, Any]:
    store = state()
    record = store.get(event.run_id)
    error_type, message = _cause(event.error)
    if event.mode == "render":
        # A background render failed after the run succeeded: the run keeps its preview.
        detail = f"{error_type}: {message}"[:500]
        store.record_stage(record.run_id, "render_rest", StageTiming(status="failed", detail=detail))
        metrics.add_metric(name="renders_failed", unit=MetricUnit.Count, value=1)
        logger.error("background render failed", extra={"run_id": record.run_id, "error": message})
        return {"run_id": record.run_id, "stage": "render_rest", "error_type": error_type, "message": message}
    # The stage that failed marked itself (shared.aws_runtime.stage); one killed by a timeout is still running.
    by_status = {t.status: name for name, t in record.stages.items()}
    stage_name = by_status.get("failed") or by_status.get("running") or "unknown"
    record.status = RunStatus.failed
    record.error = RunError(stage=stage_name, message=message[:2000], kind=error_kind(error_type))
    store.save(record)
    # A failed run must not look complete (as the local runner): drop a page an earlier attempt left.
    run_blobs = blobs()
    for name in (STORYBOARD, INDEX_HTML):
        run_blobs.delete(f"{record.run_id}/{name}")  # S3 DeleteObject succeeds when there is nothing
    metrics.add_metric(name="runs_failed", unit=MetricUnit.Count, value=1)
    logger.error("run failed", extra={"run_id": record.run_id, "stage": stage_name, "error": message})
    return {"run_id": record.run_id, "stage": stage_name, "error_type": error_type, "message": message}


# --------------------------------------------------------------------------- background render
class PreviewReadyDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: RunIdStr
    frames: list[str] = Field(default_factory=list, description="frame ids; empty: every frame not rendered")
    reason: str = "preview"


class PreviewReadyEvent(EventBridgeModel):
    detail: PreviewReadyDetail


@lambda_entry
@event_parser(model=PreviewReadyEvent)
def render_rest_handler(event: PreviewReadyEvent, context: LambdaContext) -> dict[str, Any]:
    env = Env.load()
    ctx, record = run_context(event.detail.run_id, env)
    if record.status != RunStatus.succeeded:
        raise ConflictError(f"run {ctx.run_id} is {record.status.value}: frames render after it succeeded")
    plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
    left = images_step.outstanding(ctx, plan)
    frames = [f for f in left if not event.detail.frames or f in event.detail.frames]
    if not frames:  # nothing (of what was asked) is left: a redelivered event, or a second request
        return {"run_id": ctx.run_id, "frames": [], "execution_arn": None}
    # One execution per event: EventBridge delivers at least once, and a second start with the same name
    # is refused (or returns the running one), so a redelivery renders nothing twice.
    sfn = client("stepfunctions")
    try:
        execution = sfn.start_execution(
            stateMachineArn=env.require("state_machine_arn"),
            name=f"{ctx.run_id}-render-{event.id}"[:80],
            input=json.dumps(render_input(ctx.run_id, frames, ctx.settings)),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("render already started for this event", extra={"run_id": ctx.run_id, "event": event.id})
        return {"run_id": ctx.run_id, "frames": [], "execution_arn": None}
    ctx.state.record_stage(
        ctx.run_id, "render_rest", StageTiming(started_at=utcnow(), detail=", ".join(frames)[:500])
    )
    metrics.add_metric(name="renders_started", unit=MetricUnit.Count, value=1)
    return {"run_id": ctx.run_id, "frames": frames, "execution_arn": execution["executionArn"]}
