"""What a stage step gets: the run id, its settings, the stores and any providers given to it. Built by the local
runner from the filesystem/SQLite and by a Lambda handler from S3/DynamoDB; the steps cannot tell the difference.
A step gets its provider with `ctx.provider(REGISTRY, config)`: the instance given for that registry
(`RunContext.providers`, see shared/registry.py), else the one the settings name.

Blob names inside a run (ARCHITECTURE.md "Storage"):
  audio.<ext>, transcript.json, context.json, decision.json, scenes.json,
  frames/s{n}-{start|end}.png (+ .json: the frame's result), virality.json, storyboard.json, index.html,
  edits.json and frames/s{n}-{role}.v{N}.png (kept versions, services/edit)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from storyreel.shared.contracts import Clip, Frame, FrameStatus, OptimizerDecision, ScenePlan, Usage
from storyreel.shared.ids import frame_id, parse_frame_id
from storyreel.shared.registry import Chosen, Providers, Registry
from storyreel.shared.settings import Settings
from storyreel.shared.stores import (
    BlobStore,
    CacheStore,
    PolicyStore,
    RunStore,
    get_model,
    get_optional_model,
)

# Stage names as they appear in run records, timings tables and the state machine.
STAGES = ("setup", "transcribe", "context", "choose", "scenes", "images", "virality", "optimizer", "finalize")

TRANSCRIPT = "transcript.json"
CONTEXT = "context.json"
DECISION = "decision.json"
SCENES = "scenes.json"
VIRALITY = "virality.json"
STORYBOARD = "storyboard.json"
EDITS = "edits.json"  # the changes made after the run (services/edit)
INDEX_HTML = "index.html"


C = TypeVar("C", bound=Chosen)
P = TypeVar("P")


class StateStore(RunStore, PolicyStore, CacheStore, Protocol):
    """The three state protocols together (SQLite locally, one DynamoDB table in the cloud)."""


def _quiet(stage: str, message: str) -> None:
    return None


@dataclass
class RunContext:
    run_id: str
    settings: Settings
    blobs: BlobStore
    state: StateStore
    progress: Callable[[str, str], None] = field(default=_quiet)
    # Instances given instead of built from settings (benchmarks, tests, a worker reusing one loaded model).
    providers: Providers = field(default_factory=Providers)

    def key(self, name: str) -> str:
        return f"{self.run_id}/{name}"

    def provider(self, registry: Registry[C, P], config: C) -> P:
        """The provider given for `registry`, else the one `config` names, built now."""
        given = self.providers.get(registry)
        return given if given is not None else registry.build(config)

    @contextmanager
    def usage_of(self, stage: str, provider: object) -> Iterator[None]:
        """Record what `provider` used during the block as `stage`'s usage (providers keep a running `usage`
        list across calls, so only the new rows count)."""
        before = len(getattr(provider, "usage", None) or [])
        yield
        self.record_usage(stage, list((getattr(provider, "usage", None) or [])[before:]))

    def record_usage(self, stage: str, usage: list[Usage]) -> None:
        """Persist a stage's token/image usage as its own blob (stages run in separate Lambdas);
        finalize folds every usage-*.json into the run record and storyboard."""
        if usage:
            body = json.dumps([u.model_dump(mode="json") for u in usage], indent=2).encode()
            self.blobs.put_bytes(self.key(f"usage/{stage}.json"), body, "application/json")


# --------------------------------------------------------------------------- a run's keyframes
def frame_order(plan: ScenePlan) -> list[str]:
    """Keyframes in storyboard order: s1-start, s1-end, s2-start, ..."""
    return [frame_id(s.index, role) for s in plan.scenes for role in ("start", "end")]


def frames_now(ctx: RunContext, plan: ScenePlan) -> list[str]:
    """The frames this run renders now: the first N by the settings' budget (limit_images / limit_scenes)."""
    order = frame_order(plan)
    return order[: ctx.settings.image_budget(len(order))]


def outstanding(ctx: RunContext, plan: ScenePlan) -> list[str]:
    """Frames that are not rendered yet: pending (left by a preview), skipped, or failed."""
    return [fid for fid in frame_order(plan) if load_frame(ctx, plan, fid).status != FrameStatus.rendered]


# --------------------------------------------------------------------------- shared reads of a run's blobs
def frame_result_key(ctx: RunContext, fid: str) -> str:
    return ctx.key(f"frames/{fid}.json")


def frame_png_key(ctx: RunContext, fid: str) -> str:
    return ctx.key(f"frames/{fid}.png")


def load_frame(ctx: RunContext, plan: ScenePlan, fid: str) -> Frame:
    """A frame as last recorded: its own result blob if it has one (renders write it), else the plan's entry."""
    recorded = get_optional_model(ctx.blobs, frame_result_key(ctx, fid), Frame)
    if recorded is not None:
        return recorded
    index, role = parse_frame_id(fid)
    scene = plan.scenes[index - 1]
    return scene.start_frame if role == "start" else scene.end_frame


def clip_result_key(ctx: RunContext, scene_index: int) -> str:
    """clips/s{n}.json: a scene's Clip record (services/clips), beside its mp4 clips/s{n}.mp4."""
    return ctx.key(f"clips/s{scene_index}.json")


def clip_video_key(ctx: RunContext, scene_index: int) -> str:
    return ctx.key(f"clips/s{scene_index}.mp4")


def current_plan(ctx: RunContext) -> ScenePlan:
    """scenes.json with every frame as last recorded (its own result blob where it has one) and each scene's
    clip where one was asked for: what finalize assembles and what an edit starts from."""
    plan = get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)
    for scene in plan.scenes:
        scene.start_frame = load_frame(ctx, plan, frame_id(scene.index, "start"))
        scene.end_frame = load_frame(ctx, plan, frame_id(scene.index, "end"))
        scene.clip = get_optional_model(ctx.blobs, clip_result_key(ctx, scene.index), Clip) or scene.clip
    return plan


def chosen_variant(ctx: RunContext) -> dict[str, str]:
    """The creative variant the optimizer chose for this run ({} when it has not chosen)."""
    decision = get_optional_model(ctx.blobs, ctx.key(DECISION), OptimizerDecision)
    return decision.variant if decision is not None else {}
