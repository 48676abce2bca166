"""`storyreel run` on each production provider combination, with the fake vendors standing in; a failed frame
leaves the run complete with that frame marked failed, and `storyreel images --from-latest` retries just it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyreel.cli import cli
from testkit.vendors.openai import planning_reply


@pytest.mark.parametrize(
    ("transcriber", "llm", "image_provider"),
    [
        ("openai", "openai", "replicate"),
        ("openai", "openai", "stability"),
        ("openai", "openai", "openai"),
        ("openai", "local", "replicate"),
    ],
)
def test_run_completes_on_each_combination(
    transcriber, llm, image_provider, openai_server, replicate_server, stability_server, speech_wav, tmp_path
) -> None:
    openai_server.default_chat = planning_reply
    args = [
        "run",
        str(speech_wav),
        "--transcriber",
        transcriber,
        "--llm",
        llm,
        "--image-provider",
        image_provider,
    ]
    args += ["--scenes", "3", "--no-virality", "--out", str(tmp_path / "runs"), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["status"] == "succeeded"
    assert summary["frames"]["rendered"] == summary["frames"]["total"] == 6
    board = json.loads(Path(summary["storyboard"]).read_text())
    assert board["transcript"]["provider"] == "openai"
    assert {f["provider"] for s in board["scenes"] for f in (s["start_frame"], s["end_frame"])} == {
        image_provider
    }
    stages = {u["stage"] for u in board["usage"]}
    assert "transcribe" in stages and ("context" in stages) == (llm == "openai")


def test_failed_frame_is_marked_and_retried_from_latest(
    openai_server, replicate_server, speech_wav: Path, tmp_path: Path
) -> None:
    openai_server.default_chat = planning_reply
    replicate_server.fail_prompts["shot 2 end"] = "NSFW content detected"
    args = [
        "run",
        str(speech_wav),
        "--transcriber",
        "openai",
        "--llm",
        "openai",
        "--image-provider",
        "replicate",
    ]
    args += ["--scenes", "3", "--no-virality", "--out", str(tmp_path / "runs"), "--json"]
    result = CliRunner().invoke(cli, args)
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["status"] == "succeeded"
    assert summary["frames"]["failed"] == 1 and summary["frames"]["rendered"] == 5
    board = json.loads(Path(summary["storyboard"]).read_text())
    (bad,) = [
        f for s in board["scenes"] for f in (s["start_frame"], s["end_frame"]) if f["status"] == "failed"
    ]
    assert "NSFW content detected" in bad["error"] and bad["image_key"] is None

    replicate_server.fail_prompts.clear()
    creates_before = len(replicate_server.matching("POST", "/v1/models/.*/predictions"))
    again = CliRunner().invoke(cli, ["images", "--from-latest", "--json"])
    assert again.exit_code == 0, again.output
    after = json.loads(again.stdout[again.stdout.index("{") :])
    assert after["frames"]["rendered"] == 6 and after["frames"]["failed"] == 0
    assert len(replicate_server.matching("POST", "/v1/models/.*/predictions")) == creates_before + 1
