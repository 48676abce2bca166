"""Failure paths a demanding user hits, through the CLI in-process: each is one line, the right exit code,
and a run record that tells the truth (failed with its reason, no storyboard left looking complete)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from shared.contracts import RunStatus
from shared.stores import local_state
from storyreel.cli import cli as app
from tests.fakes import FakeImageProvider, FakePlanner, FakeTranscriber

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brief.wav"


@pytest.fixture(autouse=True)
def _instant_transcript(monkeypatch: pytest.MonkeyPatch) -> None:
    import services.transcribe.transcribe as transcribe

    monkeypatch.setattr(transcribe, "get_transcriber", lambda config: FakeTranscriber())


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("storyreel: error:")]


def test_every_frame_failing_completes_the_run_but_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.images.images as images

    failing = FakeImageProvider(fail={f"s{i}-{r}" for i in range(1, 6) for r in ("start", "end")})
    monkeypatch.setattr(images, "get_image_provider", lambda config: failing)
    code, out, err = invoke("run", str(EXAMPLE), "--no-virality", "--out", str(tmp_path), "--json")
    assert code == 1
    [line] = error_lines(err)
    assert "10 of 10 keyframe(s) failed (content policy refusal)" in line and "storyreel images" in line
    summary = json.loads(out)
    assert summary["status"] == "succeeded" and summary["frames"]["failed"] == 10
    record = local_state().get(summary["run_id"])
    assert record.stages["images"].status == "failed"
    board = json.loads((Path(summary["output_dir"]) / "storyboard.json").read_text())
    assert any("failed" in note for note in board["notes"])


def test_unwritable_out_is_a_user_error_and_creates_no_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, _, err = invoke("run", str(EXAMPLE), "--out", str(blocker / "runs"))
    assert code == 2
    [line] = error_lines(err)
    assert "cannot write to the output folder" in line
    assert local_state().list() == []


def test_unusable_home_is_a_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.write_text("a file, not a folder")
    monkeypatch.setenv("STORYREEL_HOME", str(home))
    code, _, err = invoke("runs")
    assert code == 2 and "STORYREEL_HOME" in error_lines(err)[0]


def test_ctrl_c_marks_the_run_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import services.scenes.planner as planner

    class Interrupting(FakePlanner):
        def write_scenes(self, *a, **k):
            raise KeyboardInterrupt

    monkeypatch.setattr(planner, "get_planner", lambda config: Interrupting())
    code, _, err = invoke("run", str(EXAMPLE), "--no-virality", "--out", str(tmp_path))
    assert code == 130 and error_lines(err) == ["storyreel: error: interrupted (Ctrl-C)"]
    record = local_state().list(1)[0]
    assert record.status == RunStatus.failed and record.error.stage == "scenes"
    assert "interrupted" in record.error.message


def test_virality_failing_after_the_early_storyboard_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.virality.step as virality_step

    def slow_then_broken(ctx):
        time.sleep(0.5)  # long enough for scenes + images to finish and write the early storyboard
        raise RuntimeError("forum parser broke")

    monkeypatch.setattr(virality_step, "run", slow_then_broken)
    code, out, err = invoke("run", str(EXAMPLE), "--out", str(tmp_path), "--json")
    assert code == 1 and "stage virality failed" in error_lines(err)[0]
    summary = json.loads(out)
    assert summary["status"] == "failed" and summary["error"]["stage"] == "virality"
    assert summary["ready_s"] is not None  # the early storyboard had been written...
    run_dir = Path(summary["output_dir"])
    assert not (run_dir / "storyboard.json").exists()  # ...and is gone now that the run failed
    assert not (run_dir / "index.html").exists()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"


def test_a_provider_that_cannot_run_here_fails_before_transcription(tmp_path: Path) -> None:
    code, out, err = invoke(
        "run", str(EXAMPLE), "--image-provider", "batch", "--out", str(tmp_path), "--json"
    )
    assert code == 2 and "batch" in error_lines(err)[0]
    summary = json.loads(out)
    assert summary["error"]["stage"] == "setup" and "transcribe" not in summary["timings"]


def test_rejected_input_is_not_kept(tmp_path: Path) -> None:
    empty = tmp_path / "empty.m4a"
    empty.write_bytes(b"")
    code, out, _ = invoke("run", str(empty), "--out", str(tmp_path / "runs"), "--json")
    assert code == 2
    assert not list((Path(json.loads(out)["output_dir"]) / "audio").glob("*"))


def test_background_render_also_fills_a_prompts_only_preview(tmp_path: Path) -> None:
    code, out, err = invoke(
        "run", str(EXAMPLE), "--preset", "preview", "--background-render", "--out", str(tmp_path), "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["frames"]["skipped"] == 10
    board = json.loads((Path(summary["output_dir"]) / "storyboard.json").read_text())
    assert board["frames"]["rendered"] == 10


def test_feedback_rejects_impossible_counts(tmp_path: Path) -> None:
    code, out, _ = invoke("run", str(EXAMPLE), "--preset", "preview", "--out", str(tmp_path), "--json")
    run_id = json.loads(out)["run_id"]
    code, _, err = invoke("feedback", run_id, "--views", "10", "--likes", "900")
    assert code == 2 and "likes cannot exceed views" in error_lines(err)[0]


def test_feedback_is_saved_on_the_run_and_uses_its_settings(tmp_path: Path) -> None:
    code, out, _ = invoke("run", str(EXAMPLE), "--preset", "preview", "--out", str(tmp_path), "--json")
    run_id = json.loads(out)["run_id"]
    code, out, err = invoke(
        "feedback", run_id, "--views", "12000", "--likes", "900", "--comments", "40", "--shares", "75"
    )
    assert code == 0, err
    assert "reward 0." in out
    record = local_state().get(run_id)
    assert record.feedback is not None and record.feedback.views == 12000
