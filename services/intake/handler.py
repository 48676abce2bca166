"""Intake Lambdas (services/intake/step.py does the work).

handler              EventBridge S3 "Object Created" under uploads/ -> a run + its execution (named by run id).
render_rest_handler  "PreviewReady" -> an execution of the same state machine in render mode (its Map or Batch
                     path for the pending frames, then Finalize again: the storyboard shows them).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    S3EventNotificationEventBridgeModel,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field
from storyreel.services.intake import step as intake_step
from storyreel.shared.aws.context import run_context
from storyreel.shared.aws.env import UPLOAD_PREFIX, Env
from storyreel.shared.aws.observability import lambda_entry, logger
from storyreel.shared.ids import RunIdStr


@lambda_entry
@event_parser(model=S3EventNotificationEventBridgeModel)
def handler(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> dict[str, Any]:
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
    start, config = intake_step.start_upload_once()
    config.register_lambda_context(context)  # an in-progress record expires with this invocation
    return start(upload=upload)


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
    return intake_step.start_render(ctx, record, event.detail.frames, event.id, env)
