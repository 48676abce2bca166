"""The clips from the command line: `storyreel run ... --clips replicate --clip-model M` and `storyreel clips
RUN_ID [--scene N]`, in a subprocess, against the fake Replicate (the real SDK)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from storyreel.shared.contracts import ClipStatus, Storyboard

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "brief.wav"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "storyreel.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=300,
    )


def one_line_error(proc: subprocess.CompletedProcess, code: int, needle: str) -> None:
    assert proc.returncode == code, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("storyreel: error:")]
    assert len(errors) == 1 and needle in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture
def env(replicate_server, tmp_path: Path) -> dict[str, str]:
    return {
        "STORYREEL_HOME": str(tmp_path / "home"),
        "REPLICATE_API_TOKEN": "r8_test_token",
        "REPLICATE_BASE_URL": replicate_server.url,
        "REPLICATE_POLL_INTERVAL": "0.02",
    }


def test_run_with_clips_then_one_scene_again_with_another_model(env, replicate_server, tmp_path):
    out = tmp_path / "runs"
    proc = cli(
        "run", str(EXAMPLE), "--scenes", "3", "--no-virality", "--clips", "replicate",
        "--clip-model", "google/veo-3.1", "--out", str(out), "--json", env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    folder = out / run_id
    board = Storyboard.model_validate_json((folder / "storyboard.json").read_text())
    assert [s.clip.status for s in board.scenes] == [ClipStatus.done] * 3
    assert (folder / "clips" / "s1.mp4").read_bytes()[4:8] == b"ftyp"
    assert board.timings["clips"].detail == "3/3 clips"
    page = (folder / "index.html").read_text()
    assert page.count("clips/s1.mp4") >= 1

    again = cli("clips", run_id, "--scene", "2", "--clip-model", "minimax/hailuo-02", env=env)
    assert again.returncode == 0, again.stderr
    assert "s2 done clips/s2.mp4" in again.stderr
    board = Storyboard.model_validate_json((folder / "storyboard.json").read_text())
    assert [s.clip.model for s in board.scenes] == ["google/veo-3.1", "minimax/hailuo-02", "google/veo-3.1"]
    assert len(replicate_server.matching("POST", "/v1/models/minimax/hailuo-02/predictions")) == 1


def test_clips_mistakes_are_one_line_and_exit_2(env, replicate_server, tmp_path):
    one_line_error(
        cli("clips", "20990101-000000-nope", "--clips", "replicate", env=env), 2, "20990101-000000-nope"
    )
    proc = cli(
        "run", str(EXAMPLE), "--scenes", "3", "--no-virality", "--skip-images", "--out", str(tmp_path / "r"),
        "--json", env=env,
    )  # fmt: skip
    run_id = json.loads(proc.stdout)["run_id"]
    one_line_error(cli("clips", run_id, env=env), 2, "choose a clip provider")
    # an explicit length the model does not make: refused at setup, before anything runs
    bad = {**env, "STORYREEL_CLIPS__SECONDS": "7"}
    proc = cli("run", str(EXAMPLE), "--clips", "replicate", "--clip-model", "minimax/hailuo-02", env=bad)
    one_line_error(proc, 2, "clips.seconds 7 is not a length minimax/hailuo-02 makes (it takes 6, 10 s)")
    # a run without keyframes: every clip says why, exit 1
    proc = cli("clips", run_id, "--clips", "replicate", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "needs both keyframes rendered: s1-start is skipped" in proc.stderr
    assert replicate_server.requests == []
