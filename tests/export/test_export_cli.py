"""storyreel export RUN_ID: the run found by id in the run index, files listed, user mistakes one line and exit 2."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from storyreel.cli import cli as app
from tests.export.conftest import Finished, pdfinfo


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), prog_name="storyreel")
    return result.exit_code, result.stdout, result.stderr


def one_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("storyreel: error: "), stderr
    return lines[0].removeprefix("storyreel: error: ")


def test_export_lists_what_it_wrote(finished: Finished) -> None:
    code, out, err = invoke("export", "run-test", "--format", "pdf,edl,otio", "--paper", "letter")
    assert code == 0, err
    listed = out.strip().splitlines()
    assert listed == [str(finished.exports / n) for n in ("timeline.otio", "timeline.edl", "storyboard.pdf")]
    assert all(Path(p).is_file() for p in listed)
    assert pdfinfo(finished.exports / "storyboard.pdf")["Page size"].startswith("792 x 612")


def test_export_to_another_folder(finished: Finished, tmp_path: Path) -> None:
    code, out, err = invoke(
        "export", "run-test", "--format", "edl", "--fps", "30", "--out", str(tmp_path / "x")
    )
    assert code == 0, err
    assert out.strip() == str(tmp_path / "x" / "timeline.edl")
    assert not finished.exports.exists()


def test_a_prompts_only_run_exits_2_with_one_line_after_the_rest(prompts_only: Finished) -> None:
    code, out, err = invoke("export", "run-test", "--format", "mp4,pdf,otio", "--size", "360p")
    assert code == 2
    assert "mp4: run run-test has no rendered keyframe" in one_error(err)
    assert (prompts_only.exports / "storyboard.pdf").is_file()
    assert (prompts_only.exports / "timeline.otio").is_file()
    assert not (prompts_only.exports / "animatic.mp4").exists()
    assert str(prompts_only.exports / "storyboard.pdf") in out


def test_user_mistakes_are_one_line_and_exit_2(finished: Finished) -> None:
    code, _, err = invoke("export", "no-such-run")
    assert code == 2 and "no-such-run" in one_error(err)
    code, _, err = invoke("export", "run-test", "--format", "pdf,gif")
    assert code == 2 and "gif: choose from mp4,pdf,otio,otioz,fcpxml,edl" in one_error(err)
    code, _, err = invoke("export", "run-test", "--fps", "60")
    assert code == 2 and "--fps" in one_error(err)
    assert not finished.exports.exists()
