"""storyreel edit / regenerate / versions / use / replan on a finished run found by id in the run index."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.virality import step as virality_step
from storyreel.shared.contracts import RunRecord, RunStatus
from storyreel.shared.schema import SCHEMA_PATH
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, local_state

from storyreel.cli import cli as app
from testkit.briefs import FailOne
from testkit.fakes import FakeEvidence, make_context, make_providers, use_provider


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), prog_name="storyreel")
    return result.exit_code, result.stdout, result.stderr


def one_error(stderr: str) -> str:
    """The one line a refused command prints (and nothing else)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("storyreel: error: "), stderr
    return lines[0].removeprefix("storyreel: error: ")


def valid(folder: Path) -> dict:
    board = json.loads((folder / "storyboard.json").read_text())
    jsonschema.validate(board, json.loads(SCHEMA_PATH.read_text()))
    return board


def test_edit_changes_the_scene_records_the_edit_and_rewrites_the_page(finished) -> None:
    code, _out, err = invoke(
        "edit", "run-test", "--scene", "2", "--description", "A barista pours <oat> milk",
        "--start-prompt", "close up of a pour, steam", "--duration", "4.5", "--camera", "slow push in",
    )  # fmt: skip
    assert code == 0, err
    board = valid(finished.folder)
    scene = board["scenes"][1]
    assert scene["description"] == "A barista pours <oat> milk" and scene["duration"] == 4.5
    assert scene["start_frame"]["prompt"] == "close up of a pour, steam" and scene["camera"] == "slow push in"
    [edit] = board["edits"]
    assert edit["action"] == "edit" and edit["target"] == "s2" and edit["changes"]["duration"] == "4.5"
    assert json.loads((finished.folder / "edits.json").read_text())[0]["target"] == "s2"
    page = finished.page()
    assert "A barista pours &lt;oat&gt; milk" in page and "close up of a pour, steam" in page


def test_edit_duration_moves_the_content_score_and_keeps_the_forum_evidence(finished) -> None:
    settings = Settings.model_validate({"pipeline": {"virality_evaluation": True}})
    ctx = make_context(
        finished.folder.parent,
        settings=settings,
        blobs=LocalBlobStore(finished.folder.parent),
        providers=make_providers(evidence=FakeEvidence()),
    )
    before = virality_step.run(ctx)  # a real report: content and forum components, with evidence
    assert any(c.name == "demand" for c in before.components)
    assert invoke("edit", "run-test", "--scene", "1", "--duration", "60")[0] == 0
    after = finished.board().virality
    assert after is not None
    fit = next(c for c in after.components if c.name == "length_fit")
    total = sum(s.duration for s in finished.board().scenes)
    assert fit.numbers["planned_seconds"] == pytest.approx(total)
    assert "edited" in fit.explanation
    assert after.sources == before.sources and after.not_evaluated == before.not_evaluated
    assert [c.name for c in after.components] == [c.name for c in before.components]
    forum = {"demand", "engagement", "saturation"}
    assert [c for c in after.components if c.name in forum] == [
        c for c in before.components if c.name in forum
    ]
    assert after.score != before.score


def test_move_takes_the_frames_along(finished) -> None:
    first = finished.board().scenes[0]
    code, _, err = invoke("edit", "run-test", "--scene", "1", "--move-to", "3")
    assert code == 0, err
    board = finished.board()
    moved = board.scenes[2]
    assert moved.title == first.title and moved.index == 3
    assert moved.start_frame.prompt == first.start_frame.prompt
    key = moved.start_frame.image_key
    assert (
        key and (finished.folder / key).read_bytes() == (finished.folder / "frames/s1-start.png").read_bytes()
    )
    assert key != "frames/s3-start.png"
    assert board.edits[-1].action == "move" and board.edits[-1].changes == {"from": "1", "to": "3"}
    valid(finished.folder)


def test_insert_and_delete(finished) -> None:
    assert invoke("edit", "run-test", "--scene", "2", "--insert", "--description", "A new beat")[0] == 0
    board = finished.board()
    assert len(board.scenes) == 6 and board.scenes[1].description == "A new beat"
    assert board.scenes[1].start_frame.status == "pending"
    assert invoke("edit", "run-test", "--scene", "2", "--delete")[0] == 0
    board = finished.board()
    assert len(board.scenes) == 5 and "A new beat" not in [s.description for s in board.scenes]
    assert [e.action for e in board.edits] == ["insert", "delete"]
    assert not (finished.folder / "frames/s6-start.json").exists()
    valid(finished.folder)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["edit", "nosuch", "--scene", "1", "--title", "x"], "nosuch"),
        (["edit", "run-test", "--scene", "9", "--title", "x"], "scene 9 is out of range"),
        (["edit", "run-test", "--scene", "0", "--title", "x"], "scene 0 is out of range"),
        (["edit", "run-test", "--scene", "1"], "nothing to change"),
        (["edit", "run-test", "--scene", "1", "--move-to", "7"], "--move-to 7 is out of range"),
        (["edit", "run-test", "--scene", "1", "--duration", "-3"], "--duration"),
        (["edit", "run-test", "--scene", "1", "--description", "  "], "cannot be empty"),
        (["edit", "run-test", "--scene", "1", "--start-prompt", "x" * 5000], "the most is 4000"),
        (["edit", "run-test", "--scene", "1", "--delete", "--title", "x"], "--delete goes alone"),
        (["edit", "run-test", "--scene", "2", "--insert"], "--insert needs --description"),
        (["regenerate", "run-test", "s1-middle"], "'s1-middle' is not a frame id"),
        (["regenerate", "run-test", "s9-start"], "no frame s9-start"),
        (["versions", "run-test", "bogus"], "is not a frame id"),
        (["use", "run-test", "s1-start", "4"], "no version 4 of this frame"),
        (["use", "nosuch", "s1-start", "1"], "nosuch"),
    ],
)
def test_user_errors_are_one_line_exit_2_and_change_nothing(finished, args: list[str], needle: str) -> None:
    before = {p: p.read_bytes() for p in finished.folder.rglob("*") if p.is_file()}
    code, _out, err = invoke(*args)
    assert code == 2 and needle in one_error(err)
    after = {p: p.read_bytes() for p in finished.folder.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("status", [RunStatus.running, RunStatus.failed, RunStatus.queued])
def test_a_run_that_is_not_finished_is_refused(finished, status: RunStatus) -> None:
    state = local_state()
    record = state.get("run-test")
    state.save(record.model_copy(update={"status": status}))
    code, _, err = invoke("edit", "run-test", "--scene", "1", "--title", "x")
    assert code == 2 and f"run-test is {status.value}" in one_error(err)
    assert finished.board().edits == []


def test_regenerate_keeps_every_version_and_use_switches_back(finished) -> None:
    original = finished.board().scenes[0].start_frame
    code, _, err = invoke("regenerate", "run-test", "s1-start", "--seed", "1234", "--prompt", "a red cup")
    assert code == 0, err
    frame = finished.board().scenes[0].start_frame
    assert frame.version == 2 and frame.seed == 1234 and frame.prompt == "a red cup"
    assert [v.version for v in frame.versions] == [1, 2]
    assert frame.versions[0].prompt == original.prompt and frame.versions[0].seed == original.seed
    v1, v2 = (finished.folder / v.image_key for v in frame.versions if v.image_key)
    assert v1.read_bytes() == (finished.folder / "frames/s1-start.png").read_bytes()
    assert v2.name == "s1-start.v2.png" and v1.read_bytes() != v2.read_bytes()
    assert "a red cup" in finished.page() and "version 2 of 2" in finished.page()
    valid(finished.folder)

    code, out, _ = invoke("versions", "run-test", "s1-start", "--json")
    listed = json.loads(out)
    assert code == 0 and listed["current"] == 2 and [v["version"] for v in listed["versions"]] == [1, 2]

    assert invoke("use", "run-test", "s1-start", "1")[0] == 0
    frame = finished.board().scenes[0].start_frame
    assert frame.version == 1 and frame.prompt == original.prompt and frame.seed == original.seed
    assert frame.image_key == frame.versions[0].image_key and len(frame.versions) == 2
    code, out, _ = invoke("versions", "run-test", "s1-start")
    assert code == 0 and out.splitlines()[0].startswith("* v1")
    assert [e.action for e in finished.board().edits] == ["regenerate", "use"]
    valid(finished.folder)


def test_regenerate_with_end_rederives_the_end_frame(finished) -> None:
    code, _, err = invoke("regenerate", "run-test", "s3-start", "--with-end", "--seed", "7")
    assert code == 0, err
    scene = finished.board().scenes[2]
    assert scene.start_frame.version == 2 and scene.end_frame.version == 2
    assert scene.end_frame.seed == 7


def test_regenerate_renders_a_pending_frame_as_its_first_version(finished) -> None:
    assert finished.board().scenes[4].start_frame.status == "pending"
    assert invoke("regenerate", "run-test", "s5-start")[0] == 0
    frame = finished.board().scenes[4].start_frame
    assert frame.status == "rendered" and frame.version == 1 and len(frame.versions) == 1


def test_a_failing_rerender_keeps_the_current_version(finished, monkeypatch: pytest.MonkeyPatch) -> None:
    use_provider(monkeypatch, IMAGE_PROVIDERS, FailOne("s1-start"))
    before = finished.board().scenes[0]
    code, _, err = invoke("regenerate", "run-test", "s1-start", "s2-start", "--prompt", "new words")
    line = one_error(err)
    assert code == 1 and "s1-start: renderer said no" in line and "current version is kept" in line
    board = finished.board()
    assert board.scenes[0].start_frame == before.start_frame  # the same prompt, image and (no) history
    assert board.scenes[1].start_frame.version == 2 and board.scenes[1].start_frame.prompt == "new words"
    assert [e.target for e in board.edits] == ["s2-start"]
    assert not list(finished.folder.glob("frames/s1-start.v*.png"))


def test_replan_keeps_locked_scenes_and_their_frames(finished, tmp_path: Path) -> None:
    assert invoke("edit", "run-test", "--scene", "2", "--lock", "--description", "my own words")[0] == 0
    locked = finished.board().scenes[1]
    fixed = tmp_path / "fixed.txt"
    fixed.write_text("A thirty second YouTube short about baking sourdough bread at home for beginners. "
                     "Show the starter bubbling, then the dough being folded, then the loaf coming out of the oven.")  # fmt: skip
    code, _out, err = invoke("replan", "run-test", "--transcript", str(fixed))
    assert code == 0, err
    board = finished.board()
    assert board.transcript.text.startswith("A thirty second YouTube short about baking sourdough")
    assert board.scenes[1] == locked  # in its place, with its frames
    others = [s for s in board.scenes if not s.locked]
    assert others and all(s.start_frame.status == "pending" for s in others)
    assert any("sourdough" in (s.description + s.start_frame.prompt).lower() for s in others)
    assert board.edits[-1].action == "replan" and board.edits[-1].changes["locked"] == "2"
    assert not [p for p in finished.folder.glob(".replan/**/*") if p.is_file()]  # the staging is gone
    assert "sourdough" in finished.page().lower() and '<span class="badge">locked</span>' in finished.page()
    valid(finished.folder)


def test_replan_refuses_an_empty_transcript(finished, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    before = (finished.folder / "storyboard.json").read_bytes()
    code, _, err = invoke("replan", "run-test", "--transcript", str(empty))
    assert code == 2 and "empty" in one_error(err)
    assert (finished.folder / "storyboard.json").read_bytes() == before


def test_an_old_storyboard_without_the_new_fields_still_reads(finished) -> None:
    board = json.loads((finished.folder / "storyboard.json").read_text())
    board.pop("edits")
    for scene in board["scenes"]:
        scene.pop("locked")
        for role in ("start_frame", "end_frame"):
            scene[role].pop("version")
            scene[role].pop("versions")
    from storyreel.shared.contracts import Storyboard

    assert Storyboard.model_validate(board).edits == []


def test_the_run_record_follows_the_edit(finished) -> None:
    assert invoke("edit", "run-test", "--scene", "1", "--delete")[0] == 0
    record: RunRecord = local_state().get("run-test")
    assert record.frames.total == 8
