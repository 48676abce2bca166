"""images step: scenes.json -> frames/s{n}-{role}.png + frames/s{n}-{role}.json (the frame's result).

Each frame's result is its own blob, so frames rendered in parallel (a Step Functions Map, a background render)
never overwrite each other; finalize folds them into storyboard.json.

A run a person has edited (edits.json, services/edit) keeps every rendering: a frame rendered here is also filed
as its next version (frames/<fid>.v<N>.png, made current, as a re-render is), and its record is written under a
claim of the run's revision (shared/stores.py `editing`), which moves the revision the edits are checked against.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator

from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.images.providers.base import ImageResult
from storyreel.services.images.render import (
    REFERENCE_FRAME,
    apply_result,
    get_frame,
    reference_of,
    render_frames,
)
from storyreel.shared.contracts import CreativeContext, Frame, FrameVersion, ScenePlan, SeedPolicy
from storyreel.shared.errors import InputError
from storyreel.shared.pipeline import (
    CONTEXT,
    EDITS,
    SCENES,
    RunContext,
    frame_png_key,
    frame_result_key,
    frames_now,
)
from storyreel.shared.stores import (
    RevisionConflict,
    RevisionStore,
    editing,
    get_model,
    get_optional_bytes,
    put_model,
)

CLAIM_TRIES = 50  # an edited run's frame record waits this many times for another edit's claim
CLAIM_WAIT_S = 0.2


def render(
    ctx: RunContext, frame_ids: list[str] | None = None, plan: ScenePlan | None = None
) -> list[ImageResult]:
    """Render `frame_ids` (default: this run's budget). Returns per-frame results; failures are recorded per
    frame and do not raise."""
    plan = plan or get_model(ctx.blobs, ctx.key(SCENES), ScenePlan)  # a caller rendering in chunks passes it
    creative = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)  # written before scenes, always
    ids = frames_now(ctx, plan) if frame_ids is None else frame_ids
    if not ids:
        return []
    provider = ctx.provider(IMAGE_PROVIDERS, ctx.settings.image_generation)

    def load_png(fid: str) -> bytes | None:
        return get_optional_bytes(ctx.blobs, frame_png_key(ctx, fid))

    subject = Subject(ctx, load_png, provider)
    edited = ctx.blobs.exists(ctx.key(EDITS))

    def on_result(res: ImageResult) -> None:
        frame = get_frame(plan, res.frame_id)[1]
        key = frame_png_key(ctx, res.frame_id)
        if res.ok and res.png is not None:  # ok means a PNG and no error; the second test narrows res.png
            ctx.blobs.put_bytes(key, res.png, "image/png")
        updated = apply_result(
            frame,
            res,
            frame_png_key(ctx, res.frame_id).removeprefix(ctx.key("")) if res.ok else None,
            provider,
            reference=subject.used_for(res.frame_id),
            seed_policy="scene",
        )
        if edited:
            with revision_claim(ctx):
                if res.ok and res.png is not None:
                    updated = keep_version(ctx, res.frame_id, updated, res.png)
                put_model(ctx.blobs, frame_result_key(ctx, res.frame_id), updated)
        else:
            put_model(ctx.blobs, frame_result_key(ctx, res.frame_id), updated)
        ctx.progress("images", f"{res.frame_id} {'ok' if res.ok else 'failed: ' + (res.error or '')}")

    # One usage blob per rendered set of frames: Map iterations and later re-renders never overwrite each
    # other's accounting (finalize folds every usage/*.json).
    with ctx.usage_of(usage_stage(ids), provider):
        return render_frames(
            ctx.run_id,
            plan,
            ids,
            provider,
            ctx.settings.image_generation,
            creative,
            load_png,
            on_result,
            reference=subject.load if subject.on else None,
        )


def render_candidates(
    ctx: RunContext,
    plan: ScenePlan,
    frame_ids: list[str],
    load_png: Callable[[str], bytes | None],
    *,
    seed: int | None = None,
    usage_stage: str,
) -> list[tuple[ImageResult, Frame]]:
    """Render `frame_ids` of `plan` without writing anything of the run's frames: each result with the Frame
    record it would make (image_key unset). The caller decides where a new version goes and whether it becomes
    current (services/edit). `load_png` fetches a start frame's current image for an end frame rendered alone."""
    creative = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)
    provider = ctx.provider(IMAGE_PROVIDERS, ctx.settings.image_generation)
    out: list[tuple[ImageResult, Frame]] = []
    subject = Subject(ctx, load_png, provider)
    policy: SeedPolicy = "given" if seed is not None else "scene"

    def on_result(res: ImageResult) -> None:
        frame = get_frame(plan, res.frame_id)[1]
        used = subject.used_for(res.frame_id)
        out.append((res, apply_result(frame, res, None, provider, reference=used, seed_policy=policy)))

    with ctx.usage_of(usage_stage, provider):
        render_frames(
            ctx.run_id,
            plan,
            frame_ids,
            provider,
            ctx.settings.image_generation,
            creative,
            load_png,
            on_result,
            seed=seed,
            reference=subject.load if subject.on else None,
        )
    return out


REFERENCE_KEY = (
    "reference/subject.png"  # a reference the user gave (storyreel run --reference FILE, POST /runs)
)
MAX_REFERENCE_BYTES = 20 * 1024 * 1024  # a photo of the subject; past this a reference is refused unread
MAX_REFERENCE_PIXELS = (
    50_000_000  # a decoded reference bigger than this is refused (Pillow's bomb guard is 89M)
)
REFERENCE_TYPES = ("image/png", "image/jpeg", "image/webp")  # what POST /runs signs a reference upload for


def reference_png(data: bytes, where: str) -> bytes:
    """A reference image the user gave (any image Pillow reads: PNG, JPEG, WebP...) as RGB PNG bytes, the one
    form the providers get; an InputError naming `where` (one line) when it is empty, not an image, or huge."""
    import io

    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError(f"reference image {where} is empty")
    if len(data) > MAX_REFERENCE_BYTES:
        raise InputError(f"reference image {where} is {len(data) / 1e6:.1f} MB; the most is 20 MB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_REFERENCE_PIXELS:
                raise InputError(
                    f"reference image {where} is {img.width}x{img.height}; the most is 50 megapixels"
                )
            img.load()
            buf = io.BytesIO()
            img.convert("RGB").save(buf, format="PNG")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InputError(
            f"reference image {where} is not an image Pillow can read ({type(exc).__name__})"
        ) from None
    return buf.getvalue()


class Subject:
    """The reference image that keeps the same subject in every shot (image_generation.subject_reference): the
    given one (reference/subject.png) or the first keyframe (frames/s1-start.png), loaded when the frames it
    conditions are about to render; `used_for` is the key each frame records as its `reference`."""

    def __init__(self, ctx: RunContext, load_png: Callable[[str], bytes | None], provider: object) -> None:
        self.ctx, self.load_png = ctx, load_png
        self.mode = ctx.settings.image_generation.subject_reference
        # only a provider that takes a reference (supports_reference: diffusers with an IP-Adapter) gets one,
        # and only its frames record one: a sketch panel is not conditioned on anything
        self.on = self.mode != "off" and bool(getattr(provider, "supports_reference", False))
        self.key = REFERENCE_KEY if self.mode == "given" else f"frames/{REFERENCE_FRAME}.png"
        self.png: bytes | None = None

    def load(self) -> bytes | None:
        if self.mode == "given":
            given = get_optional_bytes(self.ctx.blobs, self.ctx.key(REFERENCE_KEY), MAX_REFERENCE_BYTES)
            if given is None:
                raise InputError(
                    f"the run asks for a reference image (subject_reference 'given') but has no {REFERENCE_KEY}: "
                    "upload it before the brief (POST /runs' reference_upload), or use --reference FILE"
                )
            # an upload through the API arrives as the user sent it (JPEG, WebP...): the providers get a PNG
            self.png = reference_png(given, REFERENCE_KEY)
        else:
            self.png = self.load_png(REFERENCE_FRAME)
        return self.png

    def used_for(self, fid: str) -> str | None:
        if self.png is None:
            return None
        return reference_of(fid, self.ctx.settings.image_generation, self.key)


def usage_stage(frame_ids: list[str]) -> str:
    """images.s1-start for one frame; images.s1-start_s3-end for a set (plus a count)."""
    if len(frame_ids) == 1:
        return f"images.{frame_ids[0]}"
    return f"images.{frame_ids[0]}_{frame_ids[-1]}.{len(frame_ids)}"


# --------------------------------------------------------------------------- a run a person has edited
def keep_version(ctx: RunContext, fid: str, frame: Frame, png: bytes) -> Frame:
    """`frame` (just rendered) filed as the next of its kept versions in a PNG of its own, made current: what a
    re-render through services/edit makes of it, so the edits' history and `storyreel use` see every rendering."""
    pattern = re.compile(re.escape(ctx.key(f"frames/{fid}.v")) + r"(\d+)\.png$")
    taken = [int(m.group(1)) for k in ctx.blobs.list(ctx.key(f"frames/{fid}.v")) if (m := pattern.match(k))]
    # the file's number is the next free one (a moved scene keeps its files' names); the version's, the next kept
    key = ctx.key(f"frames/{fid}.v{max(taken, default=0) + 1}.png")
    number = max((v.version for v in frame.versions), default=0) + 1
    ctx.blobs.put_bytes(key, png, "image/png")
    rel = key.removeprefix(ctx.key(""))
    facts = frame.model_dump(include=set(FrameVersion.model_fields) - {"version", "created_at", "image_key"})
    version = FrameVersion(version=number, image_key=rel, **facts)
    versions = [*frame.versions, version]
    return frame.model_copy(update={"image_key": rel, "version": number, "versions": versions})


@contextlib.contextmanager
def revision_claim(ctx: RunContext) -> Iterator[None]:
    """The run claimed at its current revision for one frame record (another edit's claim is waited for), the
    revision moved when it is released. A store without revisions (the GPU worker keeps no run state) writes
    without one."""
    store = ctx.state
    with contextlib.ExitStack() as stack:
        if isinstance(store, RevisionStore):
            for attempt in range(1, CLAIM_TRIES + 1):
                try:
                    stack.enter_context(editing(store, ctx.run_id, ctx.state.get(ctx.run_id).revision))
                    break
                except RevisionConflict:
                    if attempt == CLAIM_TRIES:
                        raise
                    time.sleep(CLAIM_WAIT_S)
        yield
