"""Context and scenes Lambdas.

context_handler: {"run_id"} -> context.json
scenes_handler:  {"run_id"} -> scenes.json, and the image work for the state machine: one Map item per scene
                 with the frames to render now ({"run_id", "frames": ["s1-start", "s1-end"]}), the preview budget
                 (limit_images / limit_scenes) already applied.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from storyreel.services.scenes import step as scenes_step
from storyreel.shared.aws.context import run_context, stage
from storyreel.shared.aws.events import StageEvent
from storyreel.shared.aws.execution import scene_items
from storyreel.shared.aws.observability import lambda_entry
from storyreel.shared.pipeline import frames_now


@lambda_entry
@event_parser(model=StageEvent)
def context_handler(event: StageEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    with stage(ctx, "context"):
        creative = scenes_step.context(ctx)
    return {"run_id": event.run_id, "title": creative.title}


@lambda_entry
@event_parser(model=StageEvent)
def scenes_handler(event: StageEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    with stage(ctx, "scenes"):
        plan = scenes_step.scenes(ctx)
    now = frames_now(ctx, plan)
    return {
        "run_id": event.run_id,
        "items": scene_items(event.run_id, now),
        "frames": now,
        "frames_now": len(now),
        "frames_total": 2 * len(plan.scenes),
    }
