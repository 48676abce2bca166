"""context and scenes steps: transcript.json -> context.json; + decision.json -> scenes.json."""

from __future__ import annotations

from storyreel.services.scenes.providers import PLANNERS
from storyreel.services.scenes.providers.base import Planner, check_plan
from storyreel.shared.contracts import CreativeContext, FrameStatus, ScenePlan, Transcript
from storyreel.shared.pipeline import CONTEXT, SCENES, TRANSCRIPT, RunContext, chosen_variant
from storyreel.shared.stores import get_model, put_model


def _planner(ctx: RunContext) -> Planner:
    return ctx.provider(PLANNERS, ctx.settings.llm)


def context(ctx: RunContext) -> CreativeContext:
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    planner = _planner(ctx)
    with ctx.usage_of("context", planner):
        result = planner.extract_context(transcript)
    put_model(ctx.blobs, ctx.key(CONTEXT), result)
    return result


def scenes(ctx: RunContext) -> ScenePlan:
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    creative = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)
    variant = chosen_variant(ctx)
    n = ctx.settings.pipeline.scenes
    planner = _planner(ctx)
    with ctx.usage_of("scenes", planner):
        plan = check_plan(planner.write_scenes(transcript, creative, variant, n), n)
    if not ctx.settings.images_enabled:
        for scene in plan.scenes:
            for frame in scene.frames():
                frame.status = FrameStatus.skipped
    put_model(ctx.blobs, ctx.key(SCENES), plan)
    return plan
