"""virality step: transcript.json + context.json + decision.json -> virality.json.

Needs the context only (not scenes or images), so the runner and the state machine run it beside them.
"""

from __future__ import annotations

from storyreel.services.virality.score import evaluate, rescore_content
from storyreel.services.virality.sources import EVIDENCE_SOURCES, ForumSetup
from storyreel.shared.contracts import CreativeContext, ScenePlan, Transcript, ViralityReport
from storyreel.shared.pipeline import CONTEXT, TRANSCRIPT, VIRALITY, RunContext, chosen_variant
from storyreel.shared.stores import get_model, get_optional_model, put_model


def run(ctx: RunContext) -> ViralityReport:
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    creative = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)
    variant = chosen_variant(ctx)
    source = None
    if ctx.settings.pipeline.virality_evaluation:
        source = ctx.provider(EVIDENCE_SOURCES, ForumSetup(ctx.settings.virality, ctx.state))
    report = evaluate(
        transcript, creative, variant, source, ctx.settings.virality, n_scenes=ctx.settings.pipeline.scenes
    )
    usage = getattr(source, "usage", None)
    if usage is not None:
        ctx.record_usage("virality", usage())
    put_model(ctx.blobs, ctx.key(VIRALITY), report)
    return report


def rescore(ctx: RunContext, plan: ScenePlan) -> ViralityReport | None:
    """virality.json's content part scored again for an edited plan (services/edit); forum evidence is kept,
    not fetched again. None (nothing written) when the run has no virality report."""
    report = get_optional_model(ctx.blobs, ctx.key(VIRALITY), ViralityReport)
    if report is None:
        return None
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    creative = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)
    edited_s = sum(s.duration for s in plan.scenes)
    updated = rescore_content(
        report, transcript, creative, chosen_variant(ctx), n_scenes=len(plan.scenes), edited_s=edited_s
    )
    put_model(ctx.blobs, ctx.key(VIRALITY), updated)
    return updated
