"""virality step: transcript.json + context.json + decision.json -> virality.json.

Needs the context only (not scenes or images), so the runner and the state machine run it beside them.
"""

from __future__ import annotations

from storyreel.services.virality.score import evaluate
from storyreel.services.virality.sources import EVIDENCE_SOURCES, ForumSetup
from storyreel.shared.contracts import CreativeContext, Transcript, ViralityReport
from storyreel.shared.pipeline import CONTEXT, TRANSCRIPT, VIRALITY, RunContext, chosen_variant
from storyreel.shared.stores import get_model, put_model


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
