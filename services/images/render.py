"""Image stage: which keyframes to render now, in what order, with which seeds; results per frame."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from storyreel.services.images.providers.base import ImageProvider, ImageRequest, ImageResult
from storyreel.shared.contracts import CreativeContext, Frame, FrameStatus, Scene, ScenePlan, SeedPolicy
from storyreel.shared.ids import frame_id, parse_frame_id
from storyreel.shared.pipeline import frame_order
from storyreel.shared.settings import ImageGenerationConfig

REFERENCE_FRAME = "s1-start"  # subject_reference first-frame: the keyframe that conditions the others


def frame_seed(run_id: str, fid: str, base_seed: int | None) -> int:
    """A stable seed per frame: the same run and frame always get the same seed (re-render exactly)."""
    digest = hashlib.sha256(f"{base_seed if base_seed is not None else run_id}:{fid}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def get_frame(plan: ScenePlan, fid: str) -> tuple[Scene, Frame]:
    index, role = parse_frame_id(fid)
    scene = plan.scenes[index - 1]
    return scene, scene.start_frame if role == "start" else scene.end_frame


def _request(
    run_id: str,
    scene: Scene,
    frame: Frame,
    context: CreativeContext | None,
    config: ImageGenerationConfig,
    init_image: bytes | None = None,
    seed: int | None = None,
    reference: bytes | None = None,
) -> ImageRequest:
    fid = frame_id(scene.index, frame.role)
    # A matched end frame shares its start frame's seed, so even without img2img the pair shares noise.
    if seed is None:
        seed = frame_seed(run_id, frame_id(scene.index, "start"), config.seed)
    return ImageRequest(
        frame_id=fid,
        prompt=frame.prompt,
        negative_prompt=frame.negative_prompt,
        width=config.width,
        height=config.height,
        seed=seed,
        init_image=init_image,
        strength=config.end_frame_strength,
        reference_image=reference,
        meta={
            "scene_index": scene.index,
            "scene_title": scene.title,
            "role": frame.role,
            "transition": scene.transition,
            "duration": scene.duration,
            "camera": scene.camera,
            "palette": list(context.color_palette) if context else [],
            "title": context.title if context else "",
        },
    )


def render_frames(
    run_id: str,
    plan: ScenePlan,
    frame_ids: list[str],
    provider: ImageProvider,
    config: ImageGenerationConfig,
    context: CreativeContext | None,
    load_png: Callable[[str], bytes | None],
    on_result: Callable[[ImageResult], None],
    seed: int | None = None,
    reference: Callable[[], bytes | None] | None = None,
) -> list[ImageResult]:
    """Render the given frames (`seed`: this seed for every frame instead of the derived one). Start frames go first in one provider call; end frames follow, each derived
    from its scene's start image when the provider can (matched keyframes). `load_png` fetches an already
    rendered start frame for an end frame whose start was rendered in an earlier call."""
    wanted = set(frame_ids)
    results: list[ImageResult] = []
    if reference is not None and config.subject_reference == "first-frame" and REFERENCE_FRAME in wanted:
        # The first keyframe is the subject's reference: it renders alone first, the others after it, with it.
        first = render_frames(
            run_id, plan, [REFERENCE_FRAME], provider, config, context, load_png, on_result, seed
        )
        rest = [fid for fid in frame_ids if fid != REFERENCE_FRAME]
        if not rest:
            return first
        return first + render_frames(
            run_id, plan, rest, provider, config, context, load_png, on_result, seed, reference
        )
    ref = reference() if reference is not None else None
    if not (config.matched_end_frames and provider.supports_init_image):
        # End frames do not wait for start frames: one provider call, every frame in flight at once, so the
        # critical path is the slowest single image rather than the slowest start plus the slowest end.
        ordered = [fid for fid in frame_order(plan) if fid in wanted]
        reqs = [
            _request(
                run_id, *get_frame(plan, fid), context, config, seed=seed, reference=_ref(fid, ref, config)
            )
            for fid in ordered
        ]
        for res in provider.render(reqs):
            on_result(res)
            results.append(res)
        return results
    starts = [fid for fid in frame_order(plan) if fid in wanted and fid.endswith("-start")]
    ends = [fid for fid in frame_order(plan) if fid in wanted and fid.endswith("-end")]
    start_png: dict[str, bytes] = {}
    if starts:
        reqs = [
            _request(
                run_id, *get_frame(plan, fid), context, config, seed=seed, reference=_ref(fid, ref, config)
            )
            for fid in starts
        ]
        for res in provider.render(reqs):
            if res.ok and res.png is not None:  # ok means a PNG and no error; the second test narrows res.png
                start_png[res.frame_id] = res.png
            on_result(res)
            results.append(res)
    if ends:
        reqs = []
        for fid in ends:
            scene, frame = get_frame(plan, fid)
            init = None
            if config.matched_end_frames and provider.supports_init_image:
                sid = frame_id(scene.index, "start")
                init = start_png.get(sid) or load_png(sid)
            reqs.append(
                _request(
                    run_id,
                    scene,
                    frame,
                    context,
                    config,
                    init_image=init,
                    seed=seed,
                    reference=_ref(fid, ref, config),
                )
            )
        for res in provider.render(reqs):
            on_result(res)
            results.append(res)
    return results


def _ref(fid: str, ref: bytes | None, config: ImageGenerationConfig) -> bytes | None:
    """The reference image for frame `fid`: none for the first frame when it is the reference itself."""
    return None if config.subject_reference == "first-frame" and fid == REFERENCE_FRAME else ref


def reference_of(fid: str, config: ImageGenerationConfig, reference_key: str | None) -> str | None:
    """The blob key (relative to the run) of the reference that conditions frame `fid`, or None."""
    if config.subject_reference == "off" or reference_key is None:
        return None
    if config.subject_reference == "first-frame" and fid == REFERENCE_FRAME:
        return None  # it is the reference
    return reference_key


def apply_result(
    frame: Frame,
    res: ImageResult,
    image_key: str | None,
    provider: ImageProvider,
    *,
    reference: str | None = None,
    seed_policy: SeedPolicy | None = None,
) -> Frame:
    update = frame.model_copy(deep=True)
    update.seed = res.seed
    update.reference = reference
    update.seed_policy = seed_policy
    update.provider = provider.name
    update.model = res.model or provider.model
    update.placeholder = provider.placeholder
    update.render_seconds = round(res.seconds, 3)
    if res.ok:
        update.status, update.image_key, update.error = FrameStatus.rendered, image_key, None
    else:
        update.status, update.error = FrameStatus.failed, res.error or "no image returned"
    return update
