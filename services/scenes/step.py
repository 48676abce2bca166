"""context and scenes steps: transcript.json -> context.json; + decision.json -> scenes.json."""

from __future__ import annotations

from services.scenes.planner import check_plan, get_planner
from shared.contracts import CreativeContext, FrameStatus, OptimizerDecision, ScenePlan, Transcript
from shared.pipeline import CONTEXT, DECISION, SCENES, TRANSCRIPT, RunContext
from shared.stores import get_model, put_model


def _planner(ctx: RunContext):
    return ctx.overrides.get("planner") or get_planner(ctx.settings.llm)


def context(ctx: RunContext) -> CreativeContext:
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    result = _planner(ctx).extract_context(transcript)
    put_model(ctx.blobs, ctx.key(CONTEXT), result)
    return result


def scenes(ctx: RunContext) -> ScenePlan:
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    creative = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)
    variant: dict[str, str] = {}
    if ctx.blobs.exists(ctx.key(DECISION)):
        variant = get_model(ctx.blobs, ctx.key(DECISION), OptimizerDecision).variant
    n = ctx.settings.pipeline.scenes
    plan = check_plan(_planner(ctx).write_scenes(transcript, creative, variant, n), n)
    if not ctx.settings.images_enabled:
        for scene in plan.scenes:
            for frame in scene.frames():
                frame.status = FrameStatus.skipped
    put_model(ctx.blobs, ctx.key(SCENES), plan)
    return plan
