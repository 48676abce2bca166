"""Images Lambda: one Map item = one scene's frames, {"run_id", "frames": ["s1-start", "s1-end"]}.

A frame that fails is recorded on the frame (frames/<id>.json) and does not fail the item; an error that is
not a frame's (no scenes.json, a provider that cannot be built) fails it, and the state machine retries.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from storyreel.services.images import step as images_step
from storyreel.shared.aws.context import run_context, stage
from storyreel.shared.aws.events import ImagesEvent
from storyreel.shared.aws.observability import lambda_entry
from storyreel.shared.ids import scene_of


@lambda_entry
@event_parser(model=ImagesEvent)
def handler(event: ImagesEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    scene = scene_of(event.frames[0])
    with stage(ctx, f"images.{scene}", detail=", ".join(event.frames)):
        results = images_step.render(ctx, event.frames)
    return {
        "run_id": event.run_id,
        "rendered": [r.frame_id for r in results if r.ok],
        "failed": [r.frame_id for r in results if not r.ok],
    }
