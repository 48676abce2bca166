"""The editing core as plain stage functions (what the API and the web app will call): services/edit/step.py."""

from __future__ import annotations

import pytest
from storyreel.services.edit import revise
from storyreel.services.edit import step as edit_step
from storyreel.services.images.providers.sketch import SketchRenderer
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.contracts import RunRecord, RunStatus
from storyreel.shared.errors import UserError
from storyreel.shared.pipeline import current_plan
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore

from testkit.fakes import make_context, make_providers


def context_of(finished):
    settings = Settings.model_validate({"pipeline": {"scenes": 5, "virality_evaluation": False}})
    root = finished.folder.parent
    providers = make_providers(planner=LocalPlanner(), images=SketchRenderer())
    return make_context(root, settings=settings, blobs=LocalBlobStore(root), providers=providers)


def record_of(finished, status: RunStatus = RunStatus.succeeded) -> RunRecord:
    return RunRecord(run_id="run-test", status=status, source="brief.wav", output_dir=str(finished.folder))


def test_edit_scene_returns_the_rewritten_storyboard(finished) -> None:
    ctx, record = context_of(finished), record_of(finished)
    board = edit_step.edit_scene(
        ctx, record, 3, edit_step.SceneEdit(changes={"transition": "whip pan", "negative_prompt": "text"})
    )
    assert board.scenes[2].transition == "whip pan"
    assert {f.negative_prompt for f in board.scenes[2].frames()} == {"text"}
    assert board == finished.board() and record.frames == board.frames


def test_lock_then_unlock_is_recorded(finished) -> None:
    ctx, record = context_of(finished), record_of(finished)
    edit_step.edit_scene(ctx, record, 1, edit_step.SceneEdit(changes={}, lock=True))
    board = edit_step.edit_scene(ctx, record, 1, edit_step.SceneEdit(changes={}, lock=False))
    assert not board.scenes[0].locked and [e.action for e in board.edits] == ["lock", "unlock"]


def test_regenerate_an_end_frame_alone_derives_it_from_the_current_start(finished) -> None:
    ctx, record = context_of(finished), record_of(finished)
    board = edit_step.regenerate(ctx, record, ["s2-end"], seed=5)  # s2-end failed in the first render
    frame = board.scenes[1].end_frame
    assert frame.status == "rendered" and frame.version == 2 and frame.versions[0].status == "failed"
    assert edit_step.versions(ctx, "s2-end") == (2, frame.versions)


def test_a_failed_run_is_refused_before_anything_is_read(finished) -> None:
    with pytest.raises(UserError, match="run-test is failed"):
        edit_step.replan(context_of(finished), record_of(finished, RunStatus.failed), "new words")


def test_keep_locked_puts_locked_scenes_back_in_place(finished) -> None:
    ctx = context_of(finished)
    old = current_plan(ctx)
    old.scenes[3].locked = True
    new = old.model_copy(deep=True)
    for scene in new.scenes:
        scene.description, scene.locked = "new", False
    kept = revise.keep_locked(old, new.model_copy(update={"scenes": new.scenes[:3]}))
    assert [s.description for s in kept.scenes] == ["new", "new", "new", old.scenes[3].description]
    assert [s.index for s in kept.scenes] == [1, 2, 3, 4]


def test_a_version_keeps_the_prompt_it_was_rendered_with(finished) -> None:
    ctx, record = context_of(finished), record_of(finished)
    first = current_plan(ctx).scenes[0].start_frame
    assert first.status == "rendered"
    edit_step.edit_scene(
        ctx, record, 1, edit_step.SceneEdit(changes={"start_prompt": "a new shot of the mug"})
    )
    number, kept = edit_step.versions(ctx, "s1-start")
    assert number == 1 and [v.prompt for v in kept] == [
        first.prompt
    ]  # the image on show, with its own prompt
    board = edit_step.regenerate(ctx, record, ["s1-start"], seed=3)
    assert [v.prompt for v in board.scenes[0].start_frame.versions] == [first.prompt, "a new shot of the mug"]
    back = edit_step.use(ctx, record, "s1-start", 1)
    assert back.scenes[0].start_frame.prompt == first.prompt
