"""The local runner's bookkeeping: stage order and timings, fast-mode branches, failures, later renders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from storyreel.shared.contracts import FrameStatus, RunStatus, Storyboard
from storyreel.shared.errors import InputError
from storyreel.shared.settings import load_settings
from storyreel.shared.stores import local_state

from storyreel.runner import StageFailed, open_run, render_outstanding, run_pipeline
from testkit.fakes import FakeImageProvider, FakePlanner, FakeTranscriber, make_providers


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real speech (the stage checks its input before any provider sees it); the fake transcriber is instant."""
    p = tmp_path_factory.mktemp("audio") / "brief.wav"
    subprocess.run(["espeak-ng", "-w", str(p), "A short video about sourdough bread."], check=True)
    return p


def go(audio: Path, tmp_path: Path, cli: dict | None = None, **fakes):
    """Run with fakes for transcription, planning and images (`fakes` replaces them by name)."""
    settings = load_settings(cli=cli or {}, environ={})
    given = {
        "transcriber": FakeTranscriber(),
        "planner": FakePlanner(),
        "images": FakeImageProvider(),
        **fakes,
    }
    record = run_pipeline(
        audio, settings, tmp_path / "out", state=local_state(), providers=make_providers(**given)
    )
    return record, given


def board_of(record) -> Storyboard:
    return Storyboard.model_validate_json((Path(record.output_dir) / "storyboard.json").read_text())


def test_full_run_writes_every_output(audio: Path, tmp_path: Path) -> None:
    record, ov = go(audio, tmp_path)
    assert record.status == RunStatus.succeeded
    out = Path(record.output_dir)
    for name in (
        "transcript.json",
        "context.json",
        "decision.json",
        "scenes.json",
        "virality.json",
        "storyboard.json",
        "index.html",
        "run.json",
        "audio/brief.wav",
    ):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "frames").glob("*.png")) == sorted(
        f"s{i}-{r}.png" for i in range(1, 6) for r in ("start", "end")
    )
    assert set(record.stages) == {
        "setup",
        "transcribe",
        "context",
        "choose",
        "scenes",
        "images",
        "virality",
        "optimizer",
        "finalize",
    }
    assert all(t.status == "succeeded" and t.seconds is not None for t in record.stages.values())
    # the providers the run used: the ones given, then the one built from the settings (no forum key: none)
    assert record.stages["setup"].detail == (
        "transcriber=fake, planner=fake, image_provider=fake-images, evidence_source=none"
    )
    assert record.frames.rendered == 10 and record.frames.pending == 0
    # start frames in one call, then end frames derived from them
    assert ov["images"].calls[0] == [f"s{i}-start" for i in range(1, 6)]
    assert all(ov["images"].init_images[f"s{i}-end"] for i in range(1, 6))
    board = board_of(record)
    assert board.status == RunStatus.succeeded and len(board.scenes) == 5
    assert local_state().get(record.run_id).status == RunStatus.succeeded


def test_preview_skips_images_and_forum_evidence(audio: Path, tmp_path: Path) -> None:
    record, ov = go(audio, tmp_path, {"preset": "preview"})
    assert record.status == RunStatus.succeeded
    assert record.stages["images"].status == "skipped"
    assert ov["images"].calls == []
    board = board_of(record)
    assert all(f.status == FrameStatus.skipped for s in board.scenes for f in s.frames())
    assert board.virality is not None
    # the forum components are named as not evaluated, with a reason
    assert {"demand", "engagement", "saturation"} <= {n.component for n in board.virality.not_evaluated}
    assert all(n.reason for n in board.virality.not_evaluated)


def test_limit_images_then_render_the_rest(audio: Path, tmp_path: Path) -> None:
    record, ov = go(audio, tmp_path, {"pipeline": {"limit_images": 1, "virality_evaluation": False}})
    assert record.frames.rendered == 1 and record.frames.pending == 9
    board = board_of(record)
    assert board.scenes[0].start_frame.status == FrameStatus.rendered
    assert board.scenes[0].end_frame.status == FrameStatus.pending
    assert any("not rendered yet" in n for n in board.notes)

    run = open_run(
        local_state().get(record.run_id), local_state(), providers=make_providers(images=ov["images"])
    )
    ok, failed = render_outstanding(run)
    assert (ok, failed) == (9, 0)
    board = board_of(run.record)
    assert board.frames.rendered == 10 and not any("not rendered yet" in n for n in board.notes)
    # s1-end was derived from the start frame rendered in the first call
    assert ov["images"].init_images["s1-end"]


def test_one_failed_frame_does_not_fail_the_run(audio: Path, tmp_path: Path) -> None:
    provider = FakeImageProvider(fail={"s2-start"})
    record, _ = go(audio, tmp_path, images=provider)
    assert record.status == RunStatus.succeeded
    assert record.frames.failed == 1 and record.frames.rendered == 9
    frame = board_of(record).scenes[1].start_frame
    assert frame.status == FrameStatus.failed and "content policy" in (frame.error or "")
    # a retry renders just the failed frame
    provider.fail.clear()
    run = open_run(local_state().get(record.run_id), local_state(), providers=make_providers(images=provider))
    assert render_outstanding(run) == (1, 0)
    assert provider.calls[-1] == ["s2-start"]


def test_stage_crash_marks_the_run_failed_and_leaves_no_storyboard(audio: Path, tmp_path: Path) -> None:
    with pytest.raises(StageFailed) as err:
        go(audio, tmp_path, planner=FakePlanner(fail_scenes=True))
    assert err.value.stage == "scenes"
    rec = local_state().list(1)[0]
    assert rec.status == RunStatus.failed
    assert rec.error is not None and rec.error.stage == "scenes" and "planner exploded" in rec.error.message
    assert rec.error.kind == "internal"
    out = Path(rec.output_dir)
    assert not (out / "storyboard.json").exists() and not (out / "index.html").exists()
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def test_user_error_in_a_stage_is_recorded_as_such(audio: Path, tmp_path: Path) -> None:
    with pytest.raises(StageFailed) as err:
        go(audio, tmp_path, transcriber=FakeTranscriber(error=InputError("no speech found in brief.wav")))
    assert isinstance(err.value.cause, InputError)
    rec = local_state().list(1)[0]
    assert rec.status == RunStatus.failed and rec.error.kind == "user" and rec.error.stage == "transcribe"


def test_missing_audio_creates_no_run(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        go(tmp_path / "nope.m4a", tmp_path)
    assert local_state().list() == []


def test_out_dir_can_change_between_runs(audio: Path, tmp_path: Path) -> None:
    settings = load_settings(cli={"preset": "preview"}, environ={})
    given = make_providers(transcriber=FakeTranscriber(), planner=FakePlanner())
    a = run_pipeline(audio, settings, tmp_path / "one", providers=given)
    b = run_pipeline(audio, settings, tmp_path / "two", providers=given)
    ids = [r.run_id for r in local_state().list()]
    assert ids == [b.run_id, a.run_id]
    assert Path(a.output_dir).parent.name == "one" and Path(b.output_dir).parent.name == "two"
