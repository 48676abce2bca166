"""The storyboard: every stage's blobs folded into one Storyboard (services/finalize/step.py writes it).

Runs at the end of a run and again whenever frames land later (background render, `storyreel images`), so the
page and the JSON always show the frames as they are.
"""

from __future__ import annotations

import json

from storyreel.shared.contracts import (
    CreativeContext,
    Edit,
    FrameCounts,
    FrameStatus,
    OptimizerDecision,
    RunRecord,
    RunStatus,
    ScenePlan,
    Storyboard,
    Transcript,
    Usage,
    ViralityReport,
)
from storyreel.shared.pipeline import (
    CONTEXT,
    DECISION,
    EDITS,
    TRANSCRIPT,
    VIRALITY,
    RunContext,
    current_plan,
)
from storyreel.shared.stores import get_model, get_optional_bytes, get_optional_model


def _optional(ctx: RunContext, name: str, cls):
    return get_optional_model(ctx.blobs, ctx.key(name), cls)


def count_frames(plan: ScenePlan) -> FrameCounts:
    counts = FrameCounts()
    for scene in plan.scenes:
        for frame in scene.frames():
            counts.total += 1
            field = frame.status.value
            setattr(counts, field, getattr(counts, field) + 1)
    return counts


def assemble(ctx: RunContext, record: RunRecord) -> Storyboard:
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    creative = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)
    plan = current_plan(ctx)
    virality = _optional(ctx, VIRALITY, ViralityReport)
    usage = load_usage(ctx)
    notes: list[str] = []
    counts = count_frames(plan)
    if any(f.placeholder for s in plan.scenes for f in s.frames() if f.status == FrameStatus.rendered):
        notes.append("Frames are sketch panels from the embedded renderer: placeholders, not generated art.")
    if counts.pending:
        notes.append(f"{counts.pending} keyframe(s) not rendered yet: run `storyreel images --from-latest`.")
    if record.status == RunStatus.running and virality is None:
        notes.append("The virality evaluation is still running: this storyboard is refreshed when it lands.")
    if counts.failed:
        notes.append(f"{counts.failed} keyframe(s) failed; their reasons are on the frames.")
    return Storyboard(
        run_id=ctx.run_id,
        status=record.status,
        title=creative.title,
        transcript=transcript,
        context=creative,
        decision=_optional(ctx, DECISION, OptimizerDecision),
        scenes=plan.scenes,
        virality=virality,
        timings=record.stages,
        frames=counts,
        usage=usage,
        error=record.error,
        notes=notes,
        hook=plan.hook,
        variant=plan.variant,
        edits=load_edits(ctx),
    )


def load_edits(ctx: RunContext) -> list[Edit]:
    """edits.json: the changes made after the run, oldest first ([] when there are none)."""
    data = get_optional_bytes(ctx.blobs, ctx.key(EDITS))
    return [] if data is None else [Edit.model_validate(e) for e in json.loads(data)]


def load_usage(ctx: RunContext) -> list[Usage]:
    """Every stage's usage blob (usage/<stage>.json), in stage order."""
    out: list[Usage] = []
    for key in ctx.blobs.list(ctx.key("usage/")):
        out.extend(Usage.model_validate(u) for u in json.loads(ctx.blobs.get_bytes(key)))
    return out


def apply_board(record: RunRecord, board: Storyboard) -> RunRecord:
    """Copy what the run index shows (frame counts, score, variant, title) from the storyboard."""
    record.frames = board.frames
    record.usage = board.usage
    record.title = board.title
    record.virality_score = board.virality.score if board.virality else None
    record.variant = board.decision.variant if board.decision else {}
    return record
