"""Helpers the clips tests share (imported as a plain module: pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

from storyreel.services.images import step as images_step
from storyreel.services.images.providers.sketch import SketchRenderer
from storyreel.services.scenes import step as scenes_step
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.pipeline import TRANSCRIPT, RunContext
from storyreel.shared.settings import Settings, deep_merge
from storyreel.shared.stores import put_model

from testkit.briefs import asr_transcript
from testkit.fakes import make_context, make_providers


def keyframed_run(
    root: Path, clips: dict | None = None, *, scenes: int = 3, limit_images: int | None = None
) -> RunContext:
    """A run with scenes.json and its keyframes rendered (sketch), ready for clips."""
    options = deep_merge(
        {"pipeline": {"scenes": scenes, "limit_images": limit_images}, "clips": {"provider": "replicate"}},
        {"clips": clips or {}},
    )
    ctx = make_context(
        root,
        settings=Settings.model_validate(options),
        providers=make_providers(planner=LocalPlanner(), images=SketchRenderer()),
    )
    put_model(ctx.blobs, ctx.key(TRANSCRIPT), asr_transcript())
    scenes_step.context(ctx)
    scenes_step.scenes(ctx)
    images_step.render(ctx)
    return ctx
