"""clips step: each scene's start and end keyframe -> clips/s{n}.mp4 + clips/s{n}.json (its Clip record).

Locally (`generate`) the provider makes every clip in one call and the step writes each result. In the cloud the
state machine plans (`plan_cloud`: the scenes to make, each recorded pending, the rest failed with the reason),
starts one prediction per scene with a webhook (`start_cloud`, the Step Functions task token kept in the state
store under a random task id; the URL carries only that id), and the webhook Lambda finishes it
(`finish_cloud`: the output downloaded, bounded, into clips/). A failed clip is that scene's record, never the
run's failure. finalize folds clips/s{n}.json into each scene (shared/pipeline.current_plan).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from storyreel.services.clips.generate import build_requests, failed_clip, pick_scenes, to_clip
from storyreel.services.clips.providers import CLIP_PROVIDERS
from storyreel.services.clips.providers.base import ClipProvider, ClipRequest, ClipResult
from storyreel.shared.contracts import Clip, ClipStatus, ScenePlan
from storyreel.shared.errors import ConfigError
from storyreel.shared.pipeline import (
    RunContext,
    clip_result_key,
    clip_video_key,
    current_plan,
    frame_png_key,
)
from storyreel.shared.stores import get_optional_bytes, get_optional_model, put_model

TASK_TTL_S = 2 * 3600.0  # a clip task lives at most as long as the execution (2 h)
TASK_PREFIX = "cliptask:"


def _load_png(ctx: RunContext) -> Callable[[str], bytes | None]:
    def load(fid: str) -> bytes | None:
        return get_optional_bytes(ctx.blobs, frame_png_key(ctx, fid))

    return load


def _provider(ctx: RunContext) -> ClipProvider:
    return ctx.provider(CLIP_PROVIDERS, ctx.settings.clips)


def _write(ctx: RunContext, scene_index: int, clip: Clip, mp4: bytes | None = None) -> Clip:
    if mp4 is not None:
        ctx.blobs.put_bytes(clip_video_key(ctx, scene_index), mp4, "video/mp4")
    put_model(ctx.blobs, clip_result_key(ctx, scene_index), clip)
    return clip


def video_key(ctx: RunContext, scene_index: int) -> str:
    """The mp4's key relative to the run (what Clip.video_key holds)."""
    return clip_video_key(ctx, scene_index).removeprefix(ctx.key(""))


def record(ctx: RunContext, scene_index: int, res: ClipResult, provider: str) -> Clip:
    clip = to_clip(res, provider, video_key(ctx, scene_index))
    return _write(ctx, scene_index, clip, res.mp4 if res.ok else None)


def load_clip(ctx: RunContext, scene_index: int) -> Clip | None:
    return get_optional_model(ctx.blobs, clip_result_key(ctx, scene_index), Clip)


def _prepare(
    ctx: RunContext, provider: ClipProvider, scenes: list[int] | None, plan: ScenePlan | None = None
) -> tuple[list[ClipRequest], dict[int, str]]:
    plan = plan or current_plan(ctx)
    try:
        chosen = pick_scenes(plan, scenes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    requests, skipped = build_requests(ctx.run_id, chosen, _load_png(ctx))
    provider.check(requests)  # a length or resolution the model does not make: one error, nothing sent
    return requests, skipped


def generate(ctx: RunContext, scenes: list[int] | None = None) -> list[Clip]:
    """Make the clips of `scenes` (default: every scene) now. Returns each scene's Clip in scene order; a clip
    that fails is recorded failed with its reason and does not raise. A setting the model cannot make raises
    ConfigError before any clip is asked for."""
    provider = _provider(ctx)
    requests, skipped = _prepare(ctx, provider, scenes)
    out: dict[int, Clip] = {}
    for index, reason in skipped.items():
        out[index] = _write(ctx, index, failed_clip(reason, provider.name, provider.model))
    for req in requests:
        _write(
            ctx,
            req.scene_index,
            Clip(status=ClipStatus.pending, provider=provider.name, model=provider.model),
        )
    with ctx.usage_of(usage_stage(requests), provider):
        for res in provider.generate(requests):
            out[res.scene_index] = record(ctx, res.scene_index, res, provider.name)
            ctx.progress("clips", f"s{res.scene_index} {'ok' if res.ok else 'failed: ' + (res.error or '')}")
    return [out[i] for i in sorted(out)]


def usage_stage(requests: list[ClipRequest]) -> str:
    """clips.s1 for one clip; clips.s1_s3.3 for a set (finalize folds every usage/*.json)."""
    if len(requests) == 1:
        return f"clips.s{requests[0].scene_index}"
    if not requests:
        return "clips.none"
    return f"clips.s{requests[0].scene_index}_s{requests[-1].scene_index}.{len(requests)}"


# --------------------------------------------------------------------------- the cloud path
def plan_cloud(ctx: RunContext) -> dict[str, Any]:
    """The Map's items: the scenes whose clips can be made, each recorded pending; the others recorded failed
    with why. A setting the model cannot make records every scene failed with that line (the run goes on)."""
    provider = _provider(ctx)
    plan = current_plan(ctx)
    try:
        requests, skipped = _prepare(ctx, provider, None, plan)
    except ConfigError as exc:
        for scene in plan.scenes:
            _write(ctx, scene.index, failed_clip(str(exc), provider.name, provider.model))
        return {"items": [], "max": ctx.settings.clips.max_concurrency}
    for index, reason in skipped.items():
        _write(ctx, index, failed_clip(reason, provider.name, provider.model))
    for req in requests:
        _write(
            ctx,
            req.scene_index,
            Clip(status=ClipStatus.pending, provider=provider.name, model=provider.model),
        )
    return {
        "items": [{"run_id": ctx.run_id, "scene": req.scene_index} for req in requests],
        "max": ctx.settings.clips.max_concurrency,
    }


def start_cloud(ctx: RunContext, scene_index: int, task_token: str, webhook_url: str) -> str:
    """Create scene `scene_index`'s prediction with a webhook; the task token waits in the state store under a
    random task id (written before the prediction exists, so the webhook can never arrive first)."""
    from storyreel.services.clips.providers.replicate import ReplicateClips

    provider = _provider(ctx)
    if not isinstance(provider, ReplicateClips):
        raise ConfigError(
            f"clips.provider {provider.name!r} has no webhook path: the cloud Map uses replicate"
        )
    requests, skipped = _prepare(ctx, provider, [scene_index])
    if not requests:
        raise ConfigError(f"scene {scene_index}: {skipped.get(scene_index, 'no clip to make')}")
    task = secrets.token_urlsafe(18)
    entry = {"run_id": ctx.run_id, "scene": scene_index, "task_token": task_token, "prediction_id": None}
    ctx.state.cache_put(TASK_PREFIX + task, entry, TASK_TTL_S)
    url = f"{webhook_url}?{urlencode({'run_id': ctx.run_id, 'task': task})}"
    prediction_id = asyncio.run(provider.start(requests[0], url))
    ctx.state.cache_put(TASK_PREFIX + task, {**entry, "prediction_id": prediction_id}, TASK_TTL_S)
    _write(
        ctx,
        scene_index,
        Clip(
            status=ClipStatus.pending,
            provider=provider.name,
            model=provider.model,
            prediction_id=prediction_id,
            seconds=float(provider.plan(requests[0])[0]),
            resolution=provider.plan(requests[0])[1],
        ),
    )
    return prediction_id


def task_entry(ctx: RunContext, task: str) -> dict[str, Any] | None:
    return ctx.state.cache_get(TASK_PREFIX + task)


def finish_cloud(ctx: RunContext, scene_index: int, prediction: dict[str, Any]) -> Clip:
    """A completed prediction (the webhook's body) -> the scene's Clip: the output downloaded into clips/ when
    it succeeded, else failed with the model's reason."""
    from storyreel.services.clips.providers.replicate import ClipFailed, ReplicateClips, download, output_url

    provider = _provider(ctx)
    if not isinstance(provider, ReplicateClips):
        raise ConfigError(f"clips.provider {provider.name!r} has no webhook path")
    before = load_clip(ctx, scene_index)
    seconds = before.seconds if before else None
    base = Clip(
        status=ClipStatus.failed,
        provider=provider.name,
        model=provider.model,
        prediction_id=str(prediction.get("id")),
        seconds=seconds,
        resolution=before.resolution if before else None,
        render_seconds=_predict_time(prediction),
    )
    status = prediction.get("status")
    if status != "succeeded":
        reason = (
            "the prediction was canceled"
            if status == "canceled"
            else f"the model failed: {prediction.get('error') or 'no reason given'}"
        )
        return _write(ctx, scene_index, base.model_copy(update={"reason": reason}))

    async def fetch() -> bytes:
        async with provider.http() as http:
            return await download(http, output_url(prediction.get("output")), ctx.settings.clips.max_bytes)

    try:
        mp4 = asyncio.run(fetch())
    except ClipFailed as exc:
        return _write(ctx, scene_index, base.model_copy(update={"reason": str(exc)}))
    done = base.model_copy(
        update={
            "status": ClipStatus.done,
            "video_key": video_key(ctx, scene_index),
            "cost_usd": provider.cost(seconds) if seconds else None,
        }
    )
    return _write(ctx, scene_index, done, mp4)


def record_failure(ctx: RunContext, scene_index: int | None, reason: str) -> list[int]:
    """Record `reason` on the scene's clip (every scene still pending when `scene_index` is None) unless it is
    already done or failed. Returns the scenes recorded."""
    plan = current_plan(ctx)
    indices = [s.index for s in plan.scenes] if scene_index is None else [scene_index]
    marked = []
    for index in indices:
        clip = load_clip(ctx, index)
        if clip is None or clip.status == ClipStatus.pending:
            base = clip or Clip(provider=ctx.settings.clips.provider, model=ctx.settings.clips.model)
            _write(ctx, index, base.model_copy(update={"status": ClipStatus.failed, "reason": reason}))
            marked.append(index)
    return marked


def _predict_time(prediction: dict[str, Any]) -> float | None:
    metrics = prediction.get("metrics")
    value = metrics.get("predict_time") if isinstance(metrics, dict) else None
    return float(value) if isinstance(value, int | float) and value >= 0 else None
