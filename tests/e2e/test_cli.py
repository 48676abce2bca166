"""The CLI as a user runs it: real speech (espeak-ng), the embedded defaults, a subprocess per command.

Every bad input gets one line on stderr, exit 2, no traceback; a stage crash is exit 1; a run that was created
is recorded as failed with its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "brief.wav"


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "storyreel.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=300,
    )


def one_line_error(proc: subprocess.CompletedProcess, code: int, needle: str) -> None:
    assert proc.returncode == code, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("storyreel: error:")]
    assert len(errors) == 1, proc.stderr
    assert needle in errors[0], errors[0]
    assert "Traceback" not in proc.stderr


def latest_run(home: Path) -> dict:
    proc = cli("runs", "--json", env={"STORYREEL_HOME": str(home)})
    return json.loads(proc.stdout)[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("speech") / "brief.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-w",
            str(p),
            "I want a sixty second video about baking sourdough bread at "
            "home, warm and cozy, for beginners on Instagram.",
        ],
        check=True,
    )
    return p


def env_for(home: Path) -> dict[str, str]:
    return {"STORYREEL_HOME": str(home)}


@pytest.mark.slow
def test_full_run_on_the_example_brief(tmp_path: Path, home: Path) -> None:
    out = tmp_path / "runs"
    proc = cli("run", str(EXAMPLE), "--out", str(out), "--json", env=env_for(home))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {"run_id", "status", "output_dir", "timings"} <= set(summary)
    assert summary["status"] == "succeeded"
    run_dir = Path(summary["output_dir"])
    assert run_dir.parent == out.resolve()
    assert len(list((run_dir / "frames").glob("s*-start.png"))) == 5
    assert len(list((run_dir / "frames").glob("s*-end.png"))) == 5
    board = json.loads((run_dir / "storyboard.json").read_text())
    assert len(board["scenes"]) == 5 and board["virality"]["components"]
    assert (run_dir / "index.html").stat().st_size > 1000
    assert "transcribe" in proc.stderr  # progress goes to stderr

    shown = cli("show", summary["run_id"], env=env_for(home))
    assert shown.returncode == 0 and "succeeded" in shown.stdout and "transcribe" in shown.stdout
    fb = cli(
        "feedback",
        summary["run_id"],
        "--views",
        "12000",
        "--likes",
        "900",
        "--comments",
        "40",
        "--shares",
        "75",
        env=env_for(home),
    )
    assert fb.returncode == 0, fb.stderr
    pol = cli("policy", env=env_for(home))
    assert pol.returncode == 0 and "hook_style" in pol.stdout


@pytest.mark.slow
def test_preview_then_images_from_latest(tmp_path: Path, home: Path, speech: Path) -> None:
    out = tmp_path / "runs"
    proc = cli("run", str(speech), "--limit-images", "1", "--out", str(out), "--json", env=env_for(home))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["frames"]["rendered"] == 1 and summary["frames"]["pending"] == 9
    later = cli("images", "--from-latest", "--json", env=env_for(home))
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["frames"]["rendered"] == 10
    board = json.loads((Path(summary["output_dir"]) / "storyboard.json").read_text())
    assert board["frames"]["pending"] == 0


@pytest.mark.slow
def test_preset_preview_has_prompts_and_no_images(tmp_path: Path, home: Path, speech: Path) -> None:
    proc = cli("run", str(speech), "--preset", "preview", "--out", str(tmp_path), "--json", env=env_for(home))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["frames"]["skipped"] == 10 and summary["timings"]["images"] == 0.0
    assert not list(Path(summary["output_dir"]).glob("frames/*.png"))


def test_missing_file(tmp_path: Path, home: Path) -> None:
    one_line_error(cli("run", str(tmp_path / "nope.m4a"), env=env_for(home)), 2, "not found")
    assert json.loads(cli("runs", "--json", env=env_for(home)).stdout) == []


@pytest.mark.parametrize(
    ("name", "make", "needle"),
    [
        ("empty.m4a", lambda p: p.write_bytes(b""), "empty"),
        (
            "notes.m4a",
            lambda p: p.write_text("this is not audio at all\n" * 50),
            "notes.m4a is not an audio file",
        ),
        (
            "image.mp3",
            lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200),
            "image.mp3 is not an audio file",
        ),
        (
            "silence.wav",
            lambda p: subprocess.run(
                ["sox", "-n", "-r", "16000", "-c", "1", str(p), "trim", "0", "3"], check=True
            ),
            "no speech",
        ),
    ],
)
def test_bad_audio_is_one_line_and_a_failed_run(
    tmp_path: Path, home: Path, name: str, make, needle: str
) -> None:
    path = tmp_path / name
    make(path)
    one_line_error(cli("run", str(path), "--out", str(tmp_path / "out"), env=env_for(home)), 2, needle)
    run = latest_run(home)
    assert run["status"] == "failed" and run["error"]["kind"] == "user" and needle in run["error"]["message"]
    assert not (Path(run["output_dir"]) / "storyboard.json").exists()


def test_too_long_audio(tmp_path: Path, home: Path, speech: Path) -> None:
    env = {**env_for(home), "STORYREEL_PIPELINE__MAX_AUDIO_MINUTES": "0.01"}
    one_line_error(cli("run", str(speech), "--out", str(tmp_path), env=env), 2, "brief.wav is 6.")
    assert "the limit is 0.01 min" in latest_run(home)["error"]["message"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [("pipeline: [oops\n", "not valid YAML"), ("pipeline:\n  limit_imagez: 1\n", "pipeline.limit_imagez")],
)
def test_bad_config(tmp_path: Path, home: Path, speech: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    one_line_error(cli("run", str(speech), "--config", str(cfg), env=env_for(home)), 2, needle)


def test_unreadable_config(tmp_path: Path, home: Path, speech: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b"\xff\xfe\x00binary")
    one_line_error(cli("run", str(speech), "--config", str(cfg), env=env_for(home)), 2, "config")


def test_config_that_is_a_folder_says_so(tmp_path: Path, home: Path, speech: Path) -> None:
    one_line_error(cli("run", str(speech), "--config", str(tmp_path), env=env_for(home)), 2, "is a folder")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "x.wav", "--scenes", "11"], "Invalid value for '--scenes': 11 is not in the range 3<=x<=10"),
        (["run", "x.wav", "--limit-images", "-1"], "Invalid value for '--limit-images'"),
        (["run", "x.wav", "--preset", "warp"], "Invalid value for '--preset'"),
        (["run", "x.wav", "--bogus"], "No such option '--bogus'"),
        (["run"], "Missing argument 'AUDIO'. (see: storyreel run --help)"),
        (["images", "--bogus"], "No such option '--bogus'. (see: storyreel images --help)"),
        (["runs", "--limit", "0"], "Invalid value for '--limit'"),
        (["show"], "Missing argument 'RUN_ID'"),
        (["feedback", "r1"], "Missing option '--views'"),
        (["nosuch"], "No such command 'nosuch'. (see: storyreel --help)"),
        (["--bogus"], "No such option '--bogus'"),
    ],
)
def test_click_usage_errors_are_one_line_and_exit_2(home: Path, args: list[str], needle: str) -> None:
    """Click would print Usage / Try / Error over three lines; the README promises one line on stderr."""
    from storyreel.cli import cli as app

    result = CliRunner().invoke(app, args, prog_name="storyreel", env=env_for(home))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]  # exactly one line
    assert result.stderr.startswith("storyreel: error: ") and needle in result.stderr
    assert "Usage:" not in result.stderr and "Try " not in result.stderr


def test_usage_error_as_a_user_meets_it(home: Path) -> None:
    proc = cli("run", "x.wav", "--scenes", "11", env=env_for(home))
    assert proc.stderr.splitlines() == [
        "storyreel: error: Invalid value for '--scenes': 11 is not in the range 3<=x<=10. "
        "(see: storyreel run --help)"
    ]
    assert proc.returncode == 2 and proc.stdout == ""
    assert cli("--version").returncode == 0 and cli("run", "--help").returncode == 0


def test_unknown_run_id(home: Path) -> None:
    one_line_error(cli("show", "20990101-000000-dead", env=env_for(home)), 2, "no run with id")


def test_stage_crash_exits_1_and_marks_the_run(
    tmp_path: Path, speech: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storyreel.services.scenes.providers import PLANNERS

    from storyreel.cli import cli as app
    from testkit.fakes import FakePlanner, use_provider

    use_provider(monkeypatch, PLANNERS, FakePlanner(fail_scenes=True))
    result = CliRunner().invoke(app, ["run", str(speech), "--no-virality", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "storyreel: error: stage scenes failed: RuntimeError: planner exploded" in result.output
    from storyreel.shared.stores import local_state

    rec = local_state().list(1)[0]
    assert rec.status.value == "failed" and rec.error.stage == "scenes"


@pytest.mark.slow
def test_background_render_prints_the_preview_then_fills_the_storyboard(
    tmp_path: Path, home: Path, speech: Path
) -> None:
    proc = cli(
        "run",
        str(speech),
        "--preset",
        "quick",
        "--background-render",
        "--out",
        str(tmp_path),
        "--json",
        env=env_for(home),
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    # the summary is printed when the preview is ready: 2 keyframes now, the rest pending
    assert summary["frames"]["rendered"] == 2 and summary["frames"]["pending"] == 8
    assert "rendering 8 remaining keyframe(s)" in proc.stderr
    board = json.loads((Path(summary["output_dir"]) / "storyboard.json").read_text())
    assert board["frames"]["rendered"] == 10 and board["frames"]["pending"] == 0
    assert not any("not rendered yet" in note for note in board["notes"])
    record = json.loads(cli("show", summary["run_id"], "--json", env=env_for(home)).stdout)
    assert record["frames"]["rendered"] == 10 and record["stages"]["images_later"]["status"] == "succeeded"
