"""Virality Lambda: {"run_id"} -> virality.json (forum evidence when the run's settings ask for it; the
content-only score always)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from storyreel.services.virality import step as virality_step
from storyreel.shared.aws.context import run_context, stage
from storyreel.shared.aws.events import StageEvent
from storyreel.shared.aws.observability import lambda_entry


@lambda_entry
@event_parser(model=StageEvent)
def handler(event: StageEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    with stage(ctx, "virality"):
        report = virality_step.run(ctx)
    return {"run_id": event.run_id, "score": report.score, "method": report.method}
