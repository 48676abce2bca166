"""The real ASL file in moto's state-machine interpreter, its Lambda tasks bridged to the real handlers
in-process (aws_testkit.install_lambda_bridge), started by the real intake handler from an S3 upload event."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_testkit import REGION, FakeImages, blob, start_run, wait

from shared.aws_runtime import state
from shared.contracts import RunStatus, Storyboard, ViralityReport
from shared.errors import InputError

IMAGES = {
    "skip": {"pipeline": {"skip_image_generation": True}},
    "preview": {"pipeline": {"limit_images": 3, "background_full_render": True}},
    "all": {"pipeline": {"limit_images": None}},
}
VIRALITY = {
    "on": {"pipeline": {"virality_evaluation": True}},
    "off": {"pipeline": {"virality_evaluation": False}},
}


def options(images: str, virality: str) -> dict:
    from shared.settings import deep_merge

    base = {"pipeline": {"scenes": 3}, "image_generation": {"seed": 7}}
    return deep_merge(deep_merge(base, IMAGES[images]), VIRALITY[virality])


@pytest.mark.parametrize("virality", ["on", "off"])
@pytest.mark.parametrize("images", ["skip", "preview", "all"])
def test_every_fast_mode_branch(machine, images, virality):
    run_id = start_run(options(images, virality))
    done = wait(run_id)
    assert done["status"] == "SUCCEEDED", done
    assert done["name"] == run_id

    record = state().get(run_id)
    assert record.status == RunStatus.succeeded
    assert {"transcribe", "context", "choose", "scenes", "virality", "optimizer", "finalize"} <= set(
        record.stages
    )
    assert all(t.status in ("succeeded", "skipped") for t in record.stages.values())
    assert ("images" in record.stages) == (images == "skip")  # a Map run times each scene: images.s1, ...
    if images == "skip":
        assert record.stages["images"].status == "skipped"
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert board.status == RunStatus.succeeded and board.decision.variant
    assert record.variant == board.decision.variant
    assert b"<html" in blob(run_id, "index.html").lower()

    rendered = {"skip": 0, "preview": 3, "all": 6}[images]
    left = "skipped" if images == "skip" else "pending"
    assert (board.frames.total, board.frames.rendered, getattr(board.frames, left)) == (
        6,
        rendered,
        6 - rendered,
    )
    assert record.frames == board.frames
    entered = done["entered"]
    if images == "skip":
        assert "Images skipped" in entered and "Render frames per scene" not in entered
    else:
        assert "Render frames per scene" in entered
        # one Map item per scene: preview 3 frames = s1 (start, end) + s2 (start)
        image_calls = [e for name, e in machine["calls"] if name == "storyreel-images"]
        expect = [["s1-start", "s1-end"], ["s2-start"]] if images == "preview" else None
        if expect:
            assert sorted(c["frames"] for c in image_calls) == sorted(expect)
        else:
            assert len(image_calls) == 3

    report = ViralityReport.model_validate_json(blob(run_id, "virality.json"))
    if virality == "on":
        assert "Score virality with forum evidence" in entered and report.method != "content-only"
    else:
        assert "Score virality (content only)" in entered and report.method == "content-only"
    assert record.virality_score == report.score

    msgs = (
        boto3.client("sqs", region_name=REGION)
        .receive_message(QueueUrl=machine["queue"], MaxNumberOfMessages=10, WaitTimeSeconds=0)
        .get("Messages", [])
    )
    if images == "preview":  # background_full_render: the pending frames go to the background render
        (msg,) = msgs
        detail = json.loads(msg["Body"])["detail"]
        assert detail["run_id"] == run_id and detail["frames"] == ["s2-end", "s3-start", "s3-end"]
    else:
        assert msgs == []


def test_failing_task_fails_the_run_with_its_cause(machine, monkeypatch):
    import shared.aws_runtime as runtime

    class Mute:
        name = "mute"

        def transcribe(self, audio_path, language):
            raise InputError("no speech found in audio.wav")

    monkeypatch.setitem(runtime.OVERRIDES, "transcriber", Mute())
    run_id = start_run(options("all", "off"))
    done = wait(run_id)
    assert done["status"] == "FAILED"
    assert done["entered"][-2:] == ["Mark run failed", "Run failed"]
    assert "Extract creative context" not in done["entered"]
    record = state().get(run_id)
    assert record.status == RunStatus.failed
    assert record.error.stage == "transcribe"
    assert record.error.kind == "user"
    assert record.error.message == "no speech found in audio.wav"


def test_failure_inside_the_parallel_branch_fails_the_run(machine, monkeypatch):
    import shared.aws_runtime as runtime

    class Broken(FakeImages):
        def render(self, requests):
            raise RuntimeError("GPU fell off the bus")

    monkeypatch.setitem(runtime.OVERRIDES, "image_provider", Broken())
    run_id = start_run(options("all", "on"))
    done = wait(run_id)
    assert done["status"] == "FAILED"
    record = state().get(run_id)
    assert record.status == RunStatus.failed
    assert record.error.stage.startswith("images.s")
    assert record.error.kind == "internal" and "GPU fell off the bus" in record.error.message
