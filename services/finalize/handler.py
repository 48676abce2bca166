"""Finalize Lambdas (services/finalize/step.py does the work).

handler       the last state: storyboard.json + index.html, run succeeded; "PreviewReady" when a preview left
              frames pending and background_full_render is on.
fail_handler  the Catch target: the run is failed with the stage and cause, and its page withdrawn.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import Field
from storyreel.services.finalize import step as finalize_step
from storyreel.shared.aws.context import error_kind, run_context
from storyreel.shared.aws.env import Env, blobs, state
from storyreel.shared.aws.events import FinalizeEvent, preview_ready
from storyreel.shared.aws.observability import lambda_entry, logger, metrics
from storyreel.shared.contracts import ScenePlan, StageTiming
from storyreel.shared.pipeline import SCENES, outstanding
from storyreel.shared.stores import get_model


@lambda_entry
@event_parser(model=FinalizeEvent)
def handler(event: FinalizeEvent, context: LambdaContext) -> dict[str, Any]:
    env = Env.load()
    ctx, record = run_context(event.run_id, env)
    board = finalize_step.complete(ctx, record, event.mode)
    metrics.add_metric(name="runs_succeeded", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="finalize_seconds", unit=MetricUnit.Seconds, value=record.stages["finalize"].seconds or 0.0
    )
    pending: list[str] = []
    background = ctx.settings.images_enabled and ctx.settings.pipeline.background_full_render
    if event.mode == "run" and board.frames.pending and background:  # a render's finalize starts nothing
        pending = outstanding(ctx, get_model(ctx.blobs, ctx.key(SCENES), ScenePlan))
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


class FailEvent(FinalizeEvent):
    error: dict[str, Any] = Field(default_factory=dict, description="the Catch's {Error, Cause}")


@lambda_entry
@event_parser(model=FailEvent)
def fail_handler(event: FailEvent, context: LambdaContext) -> dict[str, Any]:
    store = state()
    record = store.get(event.run_id)
    error_type, message = finalize_step.catch_cause(event.error)
    if event.mode == "render":
        # A background render failed after the run succeeded: the run keeps its preview.
        detail = f"{error_type}: {message}"[:500]
        store.record_stage(record.run_id, "render_rest", StageTiming(status="failed", detail=detail))
        metrics.add_metric(name="renders_failed", unit=MetricUnit.Count, value=1)
        logger.error("background render failed", extra={"run_id": record.run_id, "error": message})
        return {"run_id": record.run_id, "stage": "render_rest", "error_type": error_type, "message": message}
    stage_name = finalize_step.failed_stage(record)
    store.save(finalize_step.mark_failed(record, stage_name, message, error_kind(error_type)))
    finalize_step.withdraw(blobs(), record.run_id)
    metrics.add_metric(name="runs_failed", unit=MetricUnit.Count, value=1)
    logger.error("run failed", extra={"run_id": record.run_id, "stage": stage_name, "error": message})
    return {"run_id": record.run_id, "stage": stage_name, "error_type": error_type, "message": message}
