"""The images stage on a run a person has edited (`storyreel images RUN` after an insert or a re-plan): each
frame it renders is kept as a version, made current, the way a re-render is, and the run's revision moves, so a
claim made against the storyboard before the render is refused (409 in the API) instead of passing unseen."""

from __future__ import annotations

import pytest
from storyreel.services.edit import step as edit_step
from storyreel.services.images import step as images_step
from storyreel.services.images.providers.sketch import SketchRenderer
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.contracts import FrameStatus
from storyreel.shared.pipeline import current_plan, load_frame
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, RevisionConflict, editing, local_state

from testkit.fakes import FakeImageProvider, make_context, make_providers


def context_of(finished, images=None):
    settings = Settings.model_validate({"pipeline": {"scenes": 5, "virality_evaluation": False}})
    root = finished.folder.parent
    providers = make_providers(planner=LocalPlanner(), images=images or SketchRenderer())
    return make_context(
        root, settings=settings, blobs=LocalBlobStore(root), state=local_state(), providers=providers
    )


def insert_scene(ctx, index: int = 2) -> int:
    store = local_state()
    with editing(store, ctx.run_id, store.get(ctx.run_id).revision) as claimed:
        what = edit_step.SceneEdit(changes={"description": "a kite above the dunes"}, insert=True)
        edit_step.edit_scene(ctx, claimed, index, what)
    return claimed.revision


def test_frames_rendered_after_an_edit_are_versions_and_move_the_revision(finished) -> None:
    ctx = context_of(finished)
    revision = insert_scene(ctx)  # scene 2 is new: its frames are pending
    assert revision == 1
    results = images_step.render(ctx, ["s2-start", "s2-end"])
    assert [r.ok for r in results] == [True, True]
    plan = current_plan(ctx)
    rendered: dict[str, str | None] = {}
    for fid in ("s2-start", "s2-end"):
        frame = load_frame(ctx, plan, fid)
        rendered[fid] = frame.image_key
        assert frame.status == FrameStatus.rendered and frame.version == 1
        assert [v.version for v in frame.versions] == [1]
        assert (
            frame.image_key.startswith(f"frames/{fid}.v") and frame.image_key == frame.versions[0].image_key
        )
        # the scene the insert moved to 3 keeps its own file (moved scenes keep their files' names)
        assert load_frame(ctx, plan, fid.replace("s2", "s3")).image_key != frame.image_key
        assert (finished.folder / frame.image_key).read_bytes() == (
            finished.folder / f"frames/{fid}.png"
        ).read_bytes()
        assert frame.versions[0].prompt == frame.prompt and frame.versions[0].seed == frame.seed
    assert local_state().get("run-test").revision == 3  # one move per frame record written
    # the storyboard read at revision 1 is stale now: an edit against it is refused
    with pytest.raises(RevisionConflict, match="revision 3, not 1"):
        local_state().begin_edit("run-test", revision, "stale")
    # a re-render after it keeps the stage's rendering as version 1
    store = local_state()
    with editing(store, "run-test", 3) as claimed:
        board = edit_step.regenerate(ctx, claimed, ["s2-start"], seed=9)
    frame = board.scenes[1].start_frame
    assert frame.version == 2 and len(frame.versions) == 2
    assert frame.versions[0].image_key == rendered["s2-start"]  # the stage's rendering, kept
    assert edit_step.versions(ctx, "s2-start")[0] == 2


def test_a_failed_frame_after_an_edit_adds_no_version(finished) -> None:
    ctx = context_of(finished, images=FakeImageProvider(fail={"s2-start"}))
    insert_scene(ctx)
    (result,) = images_step.render(ctx, ["s2-start"])
    assert not result.ok
    frame = load_frame(ctx, current_plan(ctx), "s2-start")
    assert frame.status == FrameStatus.failed and frame.versions == [] and frame.version is None
    assert local_state().get("run-test").revision == 2  # the failure is recorded too: the storyboard changed


def test_a_run_never_edited_renders_as_before(finished) -> None:
    ctx = context_of(finished)
    (result,) = images_step.render(ctx, ["s4-start"])  # pending since the first render
    assert result.ok
    frame = load_frame(ctx, current_plan(ctx), "s4-start")
    assert frame.image_key == "frames/s4-start.png" and frame.versions == [] and frame.version is None
    assert local_state().get("run-test").revision == 0


def test_the_stage_waits_for_an_edit_holding_the_run(finished, monkeypatch) -> None:
    ctx = context_of(finished)
    insert_scene(ctx)
    monkeypatch.setattr(images_step, "CLAIM_TRIES", 2)
    monkeypatch.setattr(images_step, "CLAIM_WAIT_S", 0.0)
    local_state().begin_edit("run-test", 1, "someone-else")
    with pytest.raises(RevisionConflict, match="being edited"):
        images_step.render(ctx, ["s2-start"])
