"""Which scenes get a clip, what each clip is asked for, and the Clip record each result makes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from storyreel.services.clips.providers.base import ClipRequest, ClipResult
from storyreel.shared.contracts import Clip, ClipStatus, FrameStatus, Scene, ScenePlan
from storyreel.shared.ids import frame_id


def clip_seed(run_id: str, scene_index: int) -> int:
    digest = hashlib.sha256(f"{run_id}:clip:s{scene_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def clip_prompt(scene: Scene) -> str:
    """What happens between the two keyframes: the scene's description, its camera and its end state."""
    parts = [scene.description.strip()]
    if scene.camera:
        parts.append(f"camera: {scene.camera}")
    parts.append(f"ending on: {scene.end_frame.prompt.strip()}")
    return ". ".join(p for p in parts if p)


def pick_scenes(plan: ScenePlan, wanted: list[int] | None) -> list[Scene]:
    """The scenes asked for (all when `wanted` is None), in order; an index not in the plan is a ValueError."""
    if wanted is None:
        return list(plan.scenes)
    by_index = {s.index: s for s in plan.scenes}
    missing = [n for n in wanted if n not in by_index]
    if missing:
        raise ValueError(f"scene {missing[0]} is not in this run (it has scenes 1-{len(plan.scenes)})")
    return [by_index[n] for n in sorted(set(wanted))]


def not_ready(scene: Scene) -> str | None:
    """Why a scene cannot have a clip yet (a keyframe not rendered), or None."""
    for frame in scene.frames():
        if frame.status != FrameStatus.rendered or not frame.image_key:
            fid = frame_id(scene.index, frame.role)
            return f"needs both keyframes rendered: {fid} is {frame.status.value}"
    return None


def build_requests(
    run_id: str, scenes: list[Scene], load_png: Callable[[str], bytes | None]
) -> tuple[list[ClipRequest], dict[int, str]]:
    """One request per ready scene, and for the others why they are not ready."""
    requests: list[ClipRequest] = []
    skipped: dict[int, str] = {}
    for scene in scenes:
        reason = not_ready(scene)
        pngs = [load_png(frame_id(scene.index, role)) for role in ("start", "end")]
        if reason is None and (pngs[0] is None or pngs[1] is None):
            reason = "needs both keyframes rendered: a keyframe's image is missing"
        if reason is not None:
            skipped[scene.index] = reason
            continue
        start, end = pngs
        assert start is not None and end is not None  # checked just above
        requests.append(
            ClipRequest(
                scene_index=scene.index,
                prompt=clip_prompt(scene),
                negative_prompt=scene.start_frame.negative_prompt,
                start_png=start,
                end_png=end,
                scene_seconds=scene.duration,
                seed=clip_seed(run_id, scene.index),
                meta={"title": scene.title, "transition": scene.transition},
            )
        )
    return requests, skipped


def to_clip(res: ClipResult, provider: str, video_key: str | None) -> Clip:
    return Clip(
        status=ClipStatus.done if res.ok else ClipStatus.failed,
        reason=None if res.ok else (res.error or "no clip returned"),
        video_key=video_key if res.ok else None,
        provider=provider,
        model=res.model,
        seconds=res.seconds,
        resolution=res.resolution,
        prediction_id=res.prediction_id,
        render_seconds=round(res.render_seconds, 3),
        cost_usd=res.cost_usd if res.ok else None,
    )


def failed_clip(reason: str, provider: str | None, model: str | None) -> Clip:
    return Clip(status=ClipStatus.failed, reason=reason, provider=provider, model=model)
