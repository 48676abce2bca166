"""Editing a scene plan: field edits, moves, inserts, deletes, locks, re-planning around locked scenes, and a
frame's version history. Plain functions over the shared contracts; services/edit/step.py does the I/O."""

from __future__ import annotations

from typing import get_args

from storyreel.shared.contracts import Edit, EditAction, Frame, FrameStatus, FrameVersion, Scene, ScenePlan
from storyreel.shared.errors import UserError

# The scene fields `storyreel edit` may change, and which of them live on a frame.
SCENE_FIELDS = ("title", "description", "duration", "transition", "camera")
FRAME_FIELDS = {"start_prompt": ("start_frame", "prompt"), "end_prompt": ("end_frame", "prompt")}
NEGATIVE = "negative_prompt"  # both frames of the scene
MAX_TEXT = 4000  # the longest prompt or description an edit may set


def check_scene(plan: ScenePlan, index: int, *, inserting: bool = False) -> None:
    top = len(plan.scenes) + (1 if inserting else 0)
    if not 1 <= index <= top:
        raise UserError(f"scene {index} is out of range: this storyboard has scenes 1-{len(plan.scenes)}")


def check_text(name: str, value: str) -> str:
    value = value.strip()
    if name != NEGATIVE and not value:
        raise UserError(f"--{name.replace('_', '-')} cannot be empty")
    if len(value) > MAX_TEXT:
        raise UserError(f"--{name.replace('_', '-')} is {len(value)} characters; the most is {MAX_TEXT}")
    return value


def apply_changes(scene: Scene, changes: dict[str, str | float]) -> dict[str, str]:
    """Set `changes` (field -> value) on `scene`. Returns what changed, as text, for the edit record."""
    done: dict[str, str] = {}
    for name, value in changes.items():
        if name == "duration":
            seconds = float(value)
            if not 0 < seconds <= 600:
                raise UserError(f"--duration must be more than 0 and at most 600 seconds, not {value}")
            scene.duration = seconds
        elif name in SCENE_FIELDS:
            setattr(
                scene, name, check_text(name, str(value)) if name in ("title", "description") else str(value)
            )
        elif name in FRAME_FIELDS:
            frame_attr, attr = FRAME_FIELDS[name]
            frame = getattr(scene, frame_attr)
            keep_rendering(frame)
            setattr(frame, attr, check_text(name, str(value)))
        elif name == NEGATIVE:
            for frame in scene.frames():
                keep_rendering(frame)
                frame.negative_prompt = check_text(name, str(value))
        else:
            raise UserError(f"a scene has no field {name!r} to edit")
        done[name] = str(value)
    return done


def reindex(scenes: list[Scene]) -> list[Scene]:
    for n, scene in enumerate(scenes, start=1):
        scene.index = n
    return scenes


def move(plan: ScenePlan, index: int, to: int) -> None:
    check_scene(plan, index)
    if not 1 <= to <= len(plan.scenes):
        raise UserError(f"--move-to {to} is out of range: this storyboard has scenes 1-{len(plan.scenes)}")
    scene = plan.scenes.pop(index - 1)
    plan.scenes.insert(to - 1, scene)
    reindex(plan.scenes)


def delete(plan: ScenePlan, index: int) -> Scene:
    check_scene(plan, index)
    if len(plan.scenes) == 1:
        raise UserError("cannot delete the only scene of a storyboard")
    gone = plan.scenes.pop(index - 1)
    reindex(plan.scenes)
    return gone


def new_scene(index: int, description: str, start_prompt: str | None, end_prompt: str | None) -> Scene:
    """A scene a person adds: its frames pending until it is rendered (storyreel regenerate)."""
    text = check_text("description", description)
    return Scene(
        index=index,
        title=text[:60],
        description=text,
        start_frame=Frame(role="start", prompt=check_text("start_prompt", start_prompt or text)),
        end_frame=Frame(role="end", prompt=check_text("end_prompt", end_prompt or start_prompt or text)),
        duration=3.0,
    )


def insert(plan: ScenePlan, index: int, scene: Scene) -> None:
    check_scene(plan, index, inserting=True)
    plan.scenes.insert(index - 1, scene)
    reindex(plan.scenes)


def keep_locked(old: ScenePlan, new: ScenePlan) -> ScenePlan:
    """A new plan with the old plan's locked scenes put back in their positions (past its end: appended)."""
    scenes = list(new.scenes)
    for scene in old.scenes:
        if not scene.locked:
            continue
        if scene.index <= len(scenes):
            scenes[scene.index - 1] = scene
        else:
            scenes.append(scene)
    return new.model_copy(update={"scenes": reindex(scenes)})


# --------------------------------------------------------------------------- versions
def as_version(frame: Frame, version: int, image_key: str | None = None) -> FrameVersion:
    return FrameVersion(
        version=version,
        prompt=frame.prompt,
        negative_prompt=frame.negative_prompt,
        image_key=frame.image_key if image_key is None else image_key,
        status=frame.status,
        error=frame.error,
        seed=frame.seed,
        provider=frame.provider,
        model=frame.model,
        placeholder=frame.placeholder,
        render_seconds=frame.render_seconds,
    )


def history(frame: Frame) -> list[FrameVersion]:
    """Every kept version of a frame; a frame never re-rendered has one (itself) if it was ever rendered."""
    if frame.versions:
        return list(frame.versions)
    if frame.status in (FrameStatus.rendered, FrameStatus.failed):
        return [as_version(frame, 1)]
    return []


def keep_rendering(frame: Frame) -> None:
    """Before a rendered frame's prompt changes, file what it was rendered with as version 1: the image on show is
    still that rendering, and its history must say which prompt made it (the new prompt is what renders next)."""
    if not frame.versions and (kept := history(frame)):
        frame.versions, frame.version = kept, 1


def current_version(frame: Frame) -> int | None:
    return frame.version if frame.versions else (1 if history(frame) else None)


def make_current(frame: Frame, versions: list[FrameVersion], number: int) -> Frame:
    """The frame with version `number` of `versions` current (its prompt, image and render facts)."""
    chosen = next((v for v in versions if v.version == number), None)
    if chosen is None:
        have = ", ".join(str(v.version) for v in versions) or "none"
        raise UserError(f"no version {number} of this frame (versions: {have})")
    facts = chosen.model_dump(exclude={"version", "created_at"})
    return frame.model_copy(update={**facts, "version": number, "versions": versions})


def record(action: str, target: str, changes: dict[str, str] | None = None) -> Edit:
    if action not in get_args(EditAction):
        raise ValueError(f"unknown edit action {action!r}")
    return Edit.model_validate({"action": action, "target": target, "changes": changes or {}})
