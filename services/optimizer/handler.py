"""Optimizer Lambdas.

choose_handler: {"run_id"} -> decision.json (the creative variant; before scenes)
learn_handler:  {"run_id"} -> policy update from the predicted reward (after virality)
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from storyreel.services.optimizer import step as optimizer_step
from storyreel.shared.aws.context import run_context, stage
from storyreel.shared.aws.events import StageEvent
from storyreel.shared.aws.observability import lambda_entry


@lambda_entry
@event_parser(model=StageEvent)
def choose_handler(event: StageEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    with stage(ctx, "choose"):
        decision = optimizer_step.choose(ctx)
    return {"run_id": event.run_id, "variant": decision.variant}


@lambda_entry
@event_parser(model=StageEvent)
def learn_handler(event: StageEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    with stage(ctx, "optimizer"):
        optimizer_step.learn(ctx)
    return {"run_id": event.run_id}
