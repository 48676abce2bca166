"""Failure paths a demanding user hits, through the CLI in-process: each is one line, the right exit code,
and a run record that tells the truth (failed with its reason, no storyboard left looking complete)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.scenes.providers import PLANNERS
from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.shared.contracts import RunStatus
from storyreel.shared.stores import local_state

from storyreel.cli import cli as app
from testkit.fakes import FakeImageProvider, FakePlanner, FakeTranscriber, use_provider

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brief.wav"


@pytest.fixture(autouse=True)
def _instant_transcript(monkeypatch: pytest.MonkeyPatch) -> None:
    use_provider(monkeypatch, TRANSCRIBERS, FakeTranscriber())


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("storyreel: error:")]


def test_every_frame_failing_completes_the_run_but_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = FakeImageProvider(fail={f"s{i}-{r}" for i in range(1, 6) for r in ("start", "end")})
    use_provider(monkeypatch, IMAGE_PROVIDERS, failing)
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
    class Interrupting(FakePlanner):
        def write_scenes(self, *a, **k):
            raise KeyboardInterrupt

    use_provider(monkeypatch, PLANNERS, Interrupting())
    code, _, err = invoke("run", str(EXAMPLE), "--no-virality", "--out", str(tmp_path))
    assert code == 130 and error_lines(err) == ["storyreel: error: interrupted (Ctrl-C)"]
    record = local_state().list(1)[0]
    assert record.status == RunStatus.failed and record.error.stage == "scenes"
    assert "interrupted" in record.error.message


def test_virality_failing_after_the_early_storyboard_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storyreel.services.virality.step as virality_step

    def slow_then_broken(ctx):
        # Fail only once scenes + images have finished and written the early storyboard (a fixed sleep lost
        # that race on a slow machine: 10 sketch frames can take longer than 0.5 s on 2 cores).
        deadline = time.monotonic() + 30
        while not ctx.blobs.exists(ctx.key("storyboard.json")) and time.monotonic() < deadline:
            time.sleep(0.02)
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


# --------------------------------------------------------------------------- inputs that are not audio files
ROOT = EXAMPLE.parents[1]


def cli_subprocess(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real CLI in its own process, with a timeout (a hang fails the test instead of blocking CI) and a
    64 MB cap on any file it writes (a regression that copies /dev/zero fails, it does not fill the disk)."""

    def cap_writes() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024 * 1024, 64 * 1024 * 1024))

    return subprocess.run(
        [sys.executable, "-m", "storyreel.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=60,
        preexec_fn=cap_writes,
    )


def _block_device() -> Path | None:
    for p in sorted(Path("/dev").glob("*")):
        with contextlib.suppress(OSError):
            if stat.S_ISBLK(p.stat().st_mode):
                return p
    return None


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("fifo", "is a named pipe (FIFO), not an audio file"),
        ("zero", "(/dev/zero) is a character device, not an audio file"),
        ("urandom", "(/dev/urandom) is a character device, not an audio file"),
        ("devnull", "is a character device, not an audio file"),
        ("directory", "is a directory, not an audio file"),
        ("socket", "is a socket, not an audio file"),
        ("block", "is a block device, not an audio file"),
    ],
)
def test_what_is_not_a_regular_file_is_refused_at_once_and_leaves_nothing(
    tmp_path: Path, kind: str, needle: str
) -> None:
    """A symlink to /dev/zero used to be copied until the disk was full (68 GB in 93 s); a FIFO hung for ever."""
    src = tmp_path / "in"
    src.mkdir()
    audio = src / "brief.wav"
    held: list[socket.socket] = []
    if kind == "fifo":
        os.mkfifo(audio)
    elif kind in ("zero", "urandom"):
        audio.symlink_to(f"/dev/{kind}")
    elif kind == "devnull":
        audio.symlink_to("/dev/null")
    elif kind == "directory":
        audio.mkdir()
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(audio))
        held.append(sock)
    elif kind == "block":
        device = _block_device()
        if device is None:
            pytest.skip("no block device visible here")
        audio.symlink_to(device)
    out = tmp_path / "runs"
    t0 = time.monotonic()
    try:
        proc = cli_subprocess("run", str(audio), "--preset", "preview", "--out", str(out), "--json")
    finally:
        for sock in held:
            sock.close()
    assert time.monotonic() - t0 < 30  # refused by stat, nothing was read
    assert proc.returncode == 2, proc.stderr
    [line] = error_lines(proc.stderr)
    assert needle in line and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    # no run was created: nothing under the output folder, no audio copy anywhere, nothing in the run index
    assert not out.exists() or not any(out.rglob("*"))
    assert local_state().list() == []


def test_an_audio_file_bigger_than_the_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    with big.open("wb") as fh:  # sparse: 40 MB that take no disk
        fh.truncate(40 * 1024 * 1024)
    out = tmp_path / "runs"
    proc = cli_subprocess(
        "run", str(big), "--out", str(out), env={"STORYREEL_PIPELINE__MAX_AUDIO_MINUTES": "0.5"}
    )
    assert proc.returncode == 2, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "big.wav is 41.9 MB; the most an audio file may take is" in line
    assert "pipeline.max_audio_minutes" in line
    assert not out.exists() or not any(out.rglob("*"))


@pytest.mark.parametrize("value", ["1e308", "inf", "1e15"])
def test_an_impossible_max_audio_minutes_names_the_key_not_the_file(tmp_path: Path, value: str) -> None:
    proc = cli_subprocess(
        "run", str(EXAMPLE), "--out", str(tmp_path), env={"STORYREEL_PIPELINE__MAX_AUDIO_MINUTES": value}
    )
    assert proc.returncode == 2, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "'pipeline.max_audio_minutes'" in line and "environment" in line
    assert "could not be decoded" not in line and "brief.wav" not in line


def test_a_symlink_to_a_regular_file_is_fine(tmp_path: Path) -> None:
    link = tmp_path / "link.wav"
    link.symlink_to(EXAMPLE)
    code, out, err = invoke(
        "run", str(link), "--preset", "preview", "--out", str(tmp_path / "runs"), "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    [kept] = (Path(summary["output_dir"]) / "audio").iterdir()
    assert kept.is_file() and not kept.is_symlink() and kept.stat().st_size == EXAMPLE.stat().st_size


# --------------------------------------------------------------------------- truncated audio
def _half_of(src: Path, dest: Path) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_truncated_audio_succeeds_with_a_warning_on_the_record_and_the_page(tmp_path: Path, fmt: str) -> None:
    """A file cut in half used to be half transcribed with no word about it."""
    whole = EXAMPLE
    if fmt == "mp3":
        whole = tmp_path / "brief.mp3"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(EXAMPLE), "-b:a", "64k", str(whole)],
            check=True,
        )
    cut = _half_of(whole, tmp_path / f"cut.{fmt}")
    code, out, err = invoke("run", str(cut), "--preset", "preview", "--out", str(tmp_path / "runs"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] == "succeeded"
    run_dir = Path(summary["output_dir"])

    record = local_state().get(summary["run_id"])
    detail = record.stages["transcribe"].detail
    assert "the audio ended early: only 12." in detail and "s its header declares could be read" in detail
    assert json.loads((run_dir / "run.json").read_text())["stages"]["transcribe"]["detail"] == detail

    warning = json.loads((run_dir / "storyboard.json").read_text())["transcript"]["audio_warning"]
    assert 11.5 < warning["decoded_s"] < 13 and 24 < warning["declared_s"] < 25
    transcript = json.loads((run_dir / "transcript.json").read_text())
    assert transcript["audio_warning"] == warning

    page = (run_dir / "index.html").read_text()
    assert 'id="audio-warning"' in page and "the audio ended early" in page
    assert f"{warning['decoded_s']:.1f} s read of {warning['declared_s']:.1f} s declared" in page


def test_a_whole_file_has_no_audio_warning(tmp_path: Path) -> None:
    code, out, err = invoke("run", str(EXAMPLE), "--preset", "preview", "--out", str(tmp_path), "--json")
    assert code == 0, err
    run_dir = Path(json.loads(out)["output_dir"])
    assert json.loads((run_dir / "storyboard.json").read_text())["transcript"]["audio_warning"] is None
    assert "audio-warning" not in (run_dir / "index.html").read_text()


def test_a_wav_with_only_its_header_is_refused_as_damaged(tmp_path: Path) -> None:
    header = tmp_path / "header.wav"
    header.write_bytes(EXAMPLE.read_bytes()[:44])
    code, out, err = invoke("run", str(header), "--out", str(tmp_path / "runs"), "--json")
    assert code == 2
    [line] = error_lines(err)
    assert "header.wav is damaged: nothing in it could be decoded (its header declares 24.6 s)" in line
    assert not list((Path(json.loads(out)["output_dir"]) / "audio").glob("*"))
