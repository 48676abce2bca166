"""Export Lambdas (services/export/step.py does the work).

handler       invoked asynchronously by POST /runs/{id}/exports (InvocationType=Event, or storyreel serve's
              worker in-process) with {"run_id", "export_id"}: makes the queued export (the animatic needs
              ffmpeg: the imageio-ffmpeg wheel's binary in this function's asset) and records it done or failed.
fail_handler  the Export function's on-failure destination: an invocation that crashed, timed out or aged out
              is recorded failed with the reason Lambda gives, and its files removed.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field
from storyreel.services.export import step as export_step
from storyreel.shared.aws.context import run_context
from storyreel.shared.aws.env import Env, state
from storyreel.shared.aws.observability import lambda_entry, logger, metrics
from storyreel.shared.contracts import EXPORT_ID_PATTERN, ExportStatus
from storyreel.shared.errors import ConflictError, StoryreelError
from storyreel.shared.ids import RUN_ID_PATTERN


class ExportEvent(BaseModel):
    """What the API sends (the async invoke's payload)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    export_id: str = Field(pattern=EXPORT_ID_PATTERN)


class FailureContext(BaseModel):
    condition: str = "unknown"  # RetriesExhausted, EventAgeExceeded


class FailureDestination(BaseModel):
    """Lambda's on-failure destination record (the asynchronous invocation's event and what became of it)."""

    request_context: FailureContext = Field(default_factory=FailureContext, alias="requestContext")
    request_payload: ExportEvent = Field(alias="requestPayload")
    response_payload: dict[str, Any] | None = Field(default=None, alias="responsePayload")


def make_export(event: ExportEvent) -> dict[str, Any]:
    """Make the queued export; a failure is recorded on it (its reason in `error`) and reported here."""
    env = Env.load()
    store = state(env)
    ctx, _ = run_context(event.run_id, env)
    record = store.get_export(event.run_id, event.export_id)
    if record.status != ExportStatus.queued:  # a second delivery of the same invocation
        logger.info("export already taken", extra={**event.model_dump(), "status": record.status.value})
        return {**event.model_dump(), "status": record.status.value}
    try:
        record = export_step.make(ctx, store, record)
    except ConflictError:  # another invocation claimed it between the read and the claim
        return {**event.model_dump(), "status": store.get_export(event.run_id, event.export_id).status.value}
    except StoryreelError as exc:  # recorded failed by make(): the user's or the run's problem, not ours
        metrics.add_metric(name="exports_failed", unit=MetricUnit.Count, value=1)
        logger.warning("export failed", extra={**event.model_dump(), "error": str(exc)})
        return {**event.model_dump(), "status": ExportStatus.failed.value, "error": str(exc)}
    metrics.add_metric(name="exports_done", unit=MetricUnit.Count, value=1)
    return {**event.model_dump(), "status": record.status.value, "files": record.files}


@lambda_entry
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return make_export(ExportEvent.model_validate(event))


def record_failure(event: ExportEvent, reason: str) -> bool:
    """Mark the export failed with `reason` unless it already finished; True when this changed it."""
    env = Env.load()
    store = state(env)
    ctx, _ = run_context(event.run_id, env)
    return export_step.fail(ctx, store, store.get_export(event.run_id, event.export_id), reason)


@lambda_entry
def fail_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failure = FailureDestination.model_validate(event)
    payload = failure.response_payload or {}
    detail = str(payload.get("errorMessage") or payload.get("errorType") or "no error message")
    reason = f"the export did not finish ({failure.request_context.condition}): {detail}"
    changed = record_failure(failure.request_payload, reason)
    metrics.add_metric(name="exports_crashed", unit=MetricUnit.Count, value=1)
    logger.error("export crashed", extra={**failure.request_payload.model_dump(), "reason": reason})
    return {**failure.request_payload.model_dump(), "recorded": changed}
