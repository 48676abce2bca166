"""edit step: a finished run's plan and frames changed by a person, then storyboard.json and the page again.

Every function here reads the run's blobs, calls services/edit/revise.py, writes new blobs first and the
current pointers (frames/<fid>.json, scenes.json) last, appends to edits.json, scores the content part of the
virality report again through the virality step (forum evidence kept) and rewrites the storyboard and page
through the finalize step. User mistakes raise UserError before anything is written.

Blobs: frames/<fid>.v<N>.png holds each kept rendering; the frame's record (frames/<fid>.json) lists them
(`versions`) and names the current one (`version`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from storyreel.services.edit import jobs, revise
from storyreel.services.finalize import step as finalize_step
from storyreel.services.images import step as images_step
from storyreel.services.scenes import step as scenes_step
from storyreel.services.virality import step as virality_step
from storyreel.shared.contracts import (
    Edit,
    Frame,
    FrameVersion,
    RenderJob,
    RunRecord,
    RunStatus,
    ScenePlan,
    Segment,
    Storyboard,
    Transcript,
    utcnow,
)
from storyreel.shared.errors import ProviderError, UserError
from storyreel.shared.ids import frame_id, group_by_scene, parse_frame_id
from storyreel.shared.pipeline import (
    CONTEXT,
    DECISION,
    EDITS,
    SCENES,
    TRANSCRIPT,
    RunContext,
    current_plan,
    frame_order,
    frame_result_key,
)
from storyreel.shared.stores import get_model, get_optional_bytes, get_optional_model, put_model

STAGING = ".replan"  # where a re-plan writes before it replaces the run's context and scenes


@dataclass
class SceneEdit:
    """What `storyreel edit` asks of one scene (None: leave it)."""

    changes: dict[str, str | float]
    move_to: int | None = None
    delete: bool = False
    insert: bool = False
    lock: bool | None = None


def check_editable(record: RunRecord) -> None:
    if record.status != RunStatus.succeeded:
        raise UserError(
            f"run {record.run_id} is {record.status.value}; only a finished (succeeded) run can be edited"
        )


def parse_frame(plan: ScenePlan, fid: str) -> Frame:
    """The frame `fid` names in `plan`; a UserError (one line) for a bad id or a scene the plan does not have."""
    try:
        index, role = parse_frame_id(fid)
    except ValueError as exc:  # it names the id and the form it should have
        raise UserError(str(exc)) from None
    if index > len(plan.scenes):
        raise UserError(f"no frame {fid}: this storyboard has scenes 1-{len(plan.scenes)}")
    scene = plan.scenes[index - 1]
    return scene.start_frame if role == "start" else scene.end_frame


def _version_key(ctx: RunContext, fid: str) -> str:
    """A PNG key for a new version of `fid` that no blob has yet (moved scenes keep their files' names)."""
    pattern = re.compile(re.escape(ctx.key(f"frames/{fid}.v")) + r"(\d+)\.png$")
    numbers = [
        int(m.group(1)) for key in ctx.blobs.list(ctx.key(f"frames/{fid}.v")) if (m := pattern.match(key))
    ]
    return ctx.key(f"frames/{fid}.v{max(numbers, default=0) + 1}.png")


def _rel(ctx: RunContext, key: str) -> str:
    return key.removeprefix(ctx.key(""))


_PLAIN = re.compile(r"^frames/(s[0-9]+-(?:start|end))\.png$")


def _own_image(ctx: RunContext, frame: Frame) -> Frame:
    """The frame with its image in a versioned file of its own: a plain frames/<fid>.png belongs to a position,
    which a move gives to another scene and `storyreel images` may render again."""
    match = _PLAIN.match(frame.image_key or "")
    if match is None:
        return frame
    plain = frame.image_key
    data = get_optional_bytes(ctx.blobs, ctx.key(match.group(0)))
    if data is None:
        return frame
    key = _version_key(ctx, match.group(1))
    ctx.blobs.put_bytes(key, data, "image/png")
    versions = [
        v.model_copy(update={"image_key": _rel(ctx, key)}) if v.image_key == plain else v
        for v in frame.versions
    ]
    return frame.model_copy(update={"image_key": _rel(ctx, key), "versions": versions})


def _append_edits(ctx: RunContext, edits: list[Edit]) -> None:
    data = get_optional_bytes(ctx.blobs, ctx.key(EDITS))
    rows = [] if data is None else json.loads(data)
    rows.extend(e.model_dump(mode="json") for e in edits)
    ctx.blobs.put_bytes(ctx.key(EDITS), json.dumps(rows, indent=2).encode(), "application/json")


def _commit(
    ctx: RunContext, record: RunRecord, plan: ScenePlan, edits: list[Edit], *, before: int
) -> Storyboard:
    """Write `plan` as the run's: each frame's record, then scenes.json (the pointer), the edits, the content
    score and the storyboard and page. `before`: how many scenes the plan had (their records beyond the new
    end are dropped)."""
    for scene in plan.scenes:
        for frame in scene.frames():
            put_model(ctx.blobs, frame_result_key(ctx, frame_id(scene.index, frame.role)), frame)
    put_model(ctx.blobs, ctx.key(SCENES), plan)
    for index in range(len(plan.scenes) + 1, before + 1):
        for role in ("start", "end"):
            ctx.blobs.delete(frame_result_key(ctx, frame_id(index, role)))
    _append_edits(ctx, edits)
    virality_step.rescore(ctx, plan)
    board = finalize_step.finalize(ctx, record)
    finalize_step.apply_board(record, board)
    return board


# --------------------------------------------------------------------------- scenes
def edit_scene(ctx: RunContext, record: RunRecord, index: int, what: SceneEdit) -> Storyboard:
    """Change, insert, move, delete, lock or unlock scene `index` (1-based)."""
    check_editable(record)
    if what.move_to is not None or what.delete or what.insert:
        check_not_rendering(ctx, "move, insert or delete scenes")
    plan = current_plan(ctx)
    before = len(plan.scenes)
    edits: list[Edit] = []
    if what.insert:
        description = str(what.changes.pop("description", "") or "")
        if not description:
            raise UserError("--insert needs --description (what the new scene shows)")
        starts, ends = what.changes.pop("start_prompt", None), what.changes.pop("end_prompt", None)
        scene = revise.new_scene(index, description, str(starts or "") or None, str(ends or "") or None)
        revise.insert(plan, index, scene)
        edits.append(revise.record("insert", f"s{index}", {"description": scene.description}))
    revise.check_scene(plan, index)
    if what.delete:
        if what.changes or what.move_to or what.lock is not None:
            raise UserError("--delete goes alone: a deleted scene has nothing left to edit")
        gone = revise.delete(plan, index)
        edits.append(revise.record("delete", f"s{index}", {"title": gone.title}))
    scene = plan.scenes[index - 1]
    if what.changes and not what.delete:
        edits.append(revise.record("edit", f"s{index}", revise.apply_changes(scene, what.changes)))
    if what.lock is not None and not what.delete:
        scene.locked = what.lock
        edits.append(revise.record("lock" if what.lock else "unlock", f"s{index}"))
    if what.move_to is not None and not what.delete:
        revise.move(plan, index, what.move_to)
        edits.append(revise.record("move", f"s{index}", {"from": str(index), "to": str(what.move_to)}))
    if not edits:
        raise UserError(
            "nothing to change: give a field to edit, --move-to, --insert, --delete or --lock/--unlock"
        )
    if what.move_to is not None or what.delete or what.insert:
        for s in plan.scenes:  # frames that change position take their images with them
            s.start_frame = _own_image(ctx, s.start_frame)
            s.end_frame = _own_image(ctx, s.end_frame)
    return _commit(ctx, record, plan, edits, before=before)


# --------------------------------------------------------------------------- frames
def regenerate(
    ctx: RunContext,
    record: RunRecord,
    frame_ids: list[str],
    *,
    seed: int | None = None,
    prompt: str | None = None,
    with_end: bool = False,
) -> Storyboard:
    """Render frames again (an edited prompt and/or a new seed) as new versions, each made current. `with_end`:
    each named start frame's end frame is re-derived from the new start. A frame whose render fails keeps its
    current version; the error (ProviderError, one line) comes after the others are saved."""
    check_editable(record)
    plan, original = current_plan(ctx), current_plan(ctx)
    ids: list[str] = []
    for fid in frame_ids:
        parse_frame(plan, fid)
        extra = [fid.replace("-start", "-end")] if with_end and fid.endswith("-start") else []
        ids.extend(f for f in [fid, *extra] if f not in ids)
    if prompt is not None:
        text = revise.check_text("prompt", prompt)
        for fid in frame_ids:  # the re-derived end frames keep their own prompts
            parse_frame(plan, fid).prompt = text
    ids = [f for f in frame_order(plan) if f in ids]  # storyboard order: a start before its end

    def load_png(fid: str) -> bytes | None:
        key = parse_frame(plan, fid).image_key
        return get_optional_bytes(ctx.blobs, ctx.key(key)) if key else None

    results = []
    for group in group_by_scene(ids):  # a scene's end frame renders after (and from) its new start
        usage = f"edit.{group[0]}.{len(ctx.blobs.list(ctx.key('usage/edit.'))) + 1}"
        results.extend(
            images_step.render_candidates(ctx, plan, group, load_png, seed=seed, usage_stage=usage)
        )
    failed: list[str] = []
    edits: list[Edit] = []
    for res, made in results:
        fid = res.frame_id
        scene_index, role = parse_frame_id(fid)
        scene, was = plan.scenes[scene_index - 1], original.scenes[scene_index - 1]
        current = was.start_frame if role == "start" else was.end_frame  # before the prompt was edited
        if not (res.ok and res.png is not None):
            failed.append(f"{fid}: {res.error or 'no image returned'}")
            continue
        kept = revise.history(_own_image(ctx, current))  # the first re-render files the original as v1
        key = _version_key(ctx, fid)
        ctx.blobs.put_bytes(key, res.png, "image/png")
        number = max((v.version for v in kept), default=0) + 1
        versions = [*kept, revise.as_version(made, number, _rel(ctx, key))]
        updated = revise.make_current(made, versions, number)
        if role == "start":
            scene.start_frame = updated
        else:
            scene.end_frame = updated
        edits.append(
            revise.record(
                "regenerate", fid, {"version": str(number), "seed": str(res.seed), "prompt": updated.prompt}
            )
        )
    board = None
    if edits:
        done = {e.target for e in edits}
        for scene, was in zip(plan.scenes, original.scenes, strict=True):  # a failed frame stays as it was
            for role in ("start", "end"):
                if frame_id(scene.index, role) not in done:
                    setattr(scene, f"{role}_frame", getattr(was, f"{role}_frame"))
        board = _commit(ctx, record, plan, edits, before=len(plan.scenes))
    if failed:
        raise ProviderError(f"re-render failed, the current version is kept: {'; '.join(failed)}")
    assert board is not None  # every frame either failed (raised above) or made an edit
    return board


def versions(ctx: RunContext, fid: str) -> tuple[int | None, list[FrameVersion]]:
    """(the current version, every kept version) of a frame."""
    frame = parse_frame(current_plan(ctx), fid)
    return revise.current_version(frame), revise.history(frame)


def use(ctx: RunContext, record: RunRecord, fid: str, number: int) -> Storyboard:
    """Make version `number` of frame `fid` its current one."""
    check_editable(record)
    plan = current_plan(ctx)
    frame = parse_frame(plan, fid)
    kept = revise.history(frame)
    updated = revise.make_current(frame, kept, number)  # UserError when there is no such version
    scene_index, role = parse_frame_id(fid)
    setattr(plan.scenes[scene_index - 1], f"{role}_frame", updated)
    edit = revise.record("use", fid, {"version": str(number)})
    return _commit(ctx, record, plan, [edit], before=len(plan.scenes))


# --------------------------------------------------------------------------- re-plan
def replan(ctx: RunContext, record: RunRecord, transcript_text: str | None = None) -> Storyboard:
    """Context and scenes planned again (from a corrected transcript, if given), keeping the locked scenes in
    their positions with their frames. The new context and scenes are written beside the run first and replace
    its own only when both are made."""
    check_editable(record)
    check_not_rendering(ctx, "re-plan")
    old = current_plan(ctx)
    transcript = get_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    changes: dict[str, str] = {}
    if transcript_text is not None:
        text = " ".join(transcript_text.split())
        if not text:
            raise UserError("the corrected transcript is empty")
        if text != transcript.text:
            end = transcript.duration_s
            transcript = transcript.model_copy(
                update={"text": text, "segments": [Segment(start=0.0, end=end, text=text)]}
            )
            changes["transcript"] = text[:200]
    staging = replace(ctx, run_id=ctx.key(STAGING))
    try:
        put_model(ctx.blobs, staging.key(TRANSCRIPT), transcript)
        decision = get_optional_bytes(ctx.blobs, ctx.key(DECISION))
        if decision is not None:
            ctx.blobs.put_bytes(staging.key(DECISION), decision, "application/json")
        creative = scenes_step.context(staging)
        new = scenes_step.scenes(staging)
        plan = revise.keep_locked(old, new)
        put_model(ctx.blobs, ctx.key(TRANSCRIPT), transcript)
        put_model(ctx.blobs, ctx.key(CONTEXT), creative)
        for key in ctx.blobs.list(staging.key("usage/")):
            name = key.removeprefix(staging.key("usage/"))
            ctx.blobs.put_bytes(ctx.key(f"usage/replan.{name}"), ctx.blobs.get_bytes(key), "application/json")
    finally:
        for key in ctx.blobs.list(staging.key("")):
            ctx.blobs.delete(key)
    locked = [str(s.index) for s in plan.scenes if s.locked]
    changes["scenes"] = str(len(plan.scenes))
    changes["locked"] = ",".join(locked)
    edit = revise.record("replan", "transcript" if "transcript" in changes else "run", changes)
    return _commit(ctx, record, plan, [edit], before=len(old.scenes))


# --------------------------------------------------------------------------- re-renders on the GPU queue
RENDERS = "renders/"  # renders/<frame_id>.json: a RenderJob while it renders on the GPU (or after it failed)


def _render_key(ctx: RunContext, fid: str) -> str:
    return ctx.key(f"{RENDERS}{fid}.json")


# A GPU re-render not answered by then never will be: the job definition allows 3 attempts of at most 1 hour
# each (infra/constructs/gpu.py), and an hour more covers the queue's wait for an instance.
RENDER_GIVE_UP = timedelta(hours=4)


def render_jobs(ctx: RunContext, now: datetime | None = None) -> dict[str, RenderJob]:
    """frame id -> the GPU re-render it is waiting for (or the one that failed last). One still rendering past
    RENDER_GIVE_UP is shown failed (a job Batch killed, or one never run, writes nothing back)."""
    now = now or utcnow()
    jobs: dict[str, RenderJob] = {}
    for key in ctx.blobs.list(ctx.key(RENDERS)):
        if key.endswith(".json"):
            job = get_model(ctx.blobs, key, RenderJob)
            if job.status == "rendering" and now - job.requested_at > RENDER_GIVE_UP:
                hours = RENDER_GIVE_UP.total_seconds() / 3600
                job = job.model_copy(
                    update={
                        "status": "failed",
                        "error": f"GPU job {job.job_id or '(no id)'} sent no answer in {hours:g} h (timed out, "
                        "out of retries, or never run): the current version is kept; re-render it again",
                    }
                )
            jobs[job.frame_id] = job
    return jobs


def _frames_of(fid: str, with_end: bool) -> list[str]:
    return [fid, fid.replace("-start", "-end")] if with_end and fid.endswith("-start") else [fid]


def rendering(ctx: RunContext, fid: str, *, with_end: bool = False) -> list[str]:
    """Which of the frames a re-render of `fid` would make are still rendering on the GPU."""
    busy = {f for job in render_jobs(ctx).values() if job.status == "rendering" for f in job.frames}
    return [f for f in _frames_of(fid, with_end) if f in busy]


def check_not_rendering(ctx: RunContext, what: str) -> None:
    """A UserError while a GPU re-render is on its way: its frame ids name positions that `what` would change."""
    busy = sorted(f for f, job in render_jobs(ctx).items() if job.status == "rendering")
    if busy:
        raise UserError(f"{', '.join(busy)} is rendering on the GPU: {what} when it is done")


def request_render(
    ctx: RunContext,
    record: RunRecord,
    fid: str,
    *,
    provider: str,
    seed: int | None = None,
    prompt: str | None = None,
    with_end: bool = False,
) -> RenderJob:
    """Record a re-render of `fid` for the GPU worker (render_requested) as renders/<fid>.json: the frame shows
    as rendering; its current version stays until the new one is made. Nothing else of the run is written."""
    check_editable(record)
    plan = current_plan(ctx)
    parse_frame(plan, fid)
    if prompt is not None:
        prompt = revise.check_text("prompt", prompt)
    frames = _frames_of(fid, with_end)
    busy = rendering(ctx, fid, with_end=with_end)
    if busy:
        raise UserError(f"{', '.join(busy)} is already rendering on the GPU: wait for it, then render again")
    job = RenderJob(
        frame_id=fid, frames=frames, provider=provider, seed=seed, prompt=prompt, with_end=with_end
    )
    put_model(ctx.blobs, _render_key(ctx, fid), job)
    return job


def save_render_job(ctx: RunContext, job: RenderJob) -> None:
    put_model(ctx.blobs, _render_key(ctx, job.frame_id), job)


def render_requested(ctx: RunContext, record: RunRecord, fid: str) -> Storyboard:
    """The GPU worker's half of request_render: render the recorded request through `regenerate` (a new version,
    made current). Done: the request is removed. Failed: it stays, status failed with why (one line), and the
    error is raised again; the current version is kept (regenerate)."""
    job = get_optional_model(ctx.blobs, _render_key(ctx, fid), RenderJob)
    if job is None or job.status != "rendering":
        raise UserError(f"no re-render of {fid} is waiting in run {ctx.run_id}")
    try:
        board = regenerate(ctx, record, [fid], seed=job.seed, prompt=job.prompt, with_end=job.with_end)
    except Exception as exc:  # any failure is recorded on the request (the frame stops showing as rendering)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        save_render_job(
            ctx, job.model_copy(update={"status": "failed", "error": reason, "finished_at": utcnow()})
        )
        raise
    ctx.blobs.delete(_render_key(ctx, fid))
    return board


def gpu_queue() -> tuple[str, str] | None:
    """(job queue, job definition) a GPU re-render goes to in this deployment (None: it has no GPU queue)."""
    return jobs.gpu_queue()


def submit_render(ctx: RunContext, job: RenderJob, batch: Any, queue: tuple[str, str]) -> RenderJob:
    """Submit `job` (recorded by request_render) to the GPU queue; the Batch job id is recorded on it. A refused
    submit is recorded as the request's failure and raised as a ProviderError (one line)."""
    try:
        job_id = jobs.submit(batch, ctx.run_id, job, *queue)
    except Exception as exc:  # botocore's ClientError and its connection errors: the job never started
        reason = (
            f"the GPU job was not submitted: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        )
        save_render_job(
            ctx, job.model_copy(update={"status": "failed", "error": reason, "finished_at": utcnow()})
        )
        raise ProviderError(reason) from exc
    submitted = job.model_copy(update={"job_id": job_id})
    save_render_job(ctx, submitted)
    return submitted
