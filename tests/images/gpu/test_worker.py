"""Frames written through services.images.step.render, and the GPU worker: arguments, SIGTERM, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml
from storyreel.services.images import step
from storyreel.services.images.gpu import worker
from storyreel.services.images.providers.diffusers import DiffusersProvider
from storyreel.services.images.render import frame_seed
from storyreel.shared.contracts import CreativeContext, Frame, FrameStatus, Scene, ScenePlan
from storyreel.shared.pipeline import CONTEXT, SCENES, RunContext, frame_order, outstanding
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, get_model, put_model

from testkit.fakes import make_creative, make_providers

REPO = Path(__file__).resolve().parents[3]
RUN = "run-gpu-1"


def context() -> CreativeContext:
    """The pipeline always writes the context before the scenes; the worker's runs have one too."""
    return make_creative(
        title="Tiny",
        subject="a red cube",
        intent="test",
        vibe="calm",
        content_style="demo",
        target_audience="tests",
        color_palette=["red #FF0000"],
    )


def plan(scenes: int = 3) -> ScenePlan:
    return ScenePlan(
        scenes=[
            Scene(
                index=i,
                title=f"scene {i}",
                description=f"what happens in scene {i}",
                start_frame=Frame(role="start", prompt=f"a red kite over the sea, shot {i}"),
                end_frame=Frame(role="end", prompt=f"the kite lands on the sand, shot {i}"),
                duration=3.0,
            )
            for i in range(1, scenes + 1)
        ]
    )


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    store = LocalBlobStore(tmp_path / "runs")
    put_model(store, f"{RUN}/{CONTEXT}", context())
    put_model(store, f"{RUN}/{SCENES}", plan())
    return store


@pytest.fixture
def config_file(tmp_path: Path, image_config) -> Path:
    path = tmp_path / "storyreel.yaml"
    section = image_config.model_dump(mode="json", exclude_defaults=True)
    path.write_text(yaml.safe_dump({"image_generation": {**section, "provider": "batch", "max_batch": 1}}))
    return path


@pytest.fixture(autouse=True)
def _no_storyreel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("STORYREEL_") and name != "STORYREEL_HOME":
            monkeypatch.delenv(name)


def frame(blobs: LocalBlobStore, fid: str) -> Frame:
    return get_model(blobs, f"{RUN}/frames/{fid}.json", Frame)


def test_step_render_writes_each_frame_with_its_seed(blobs, image_config, pipeline_calls) -> None:
    ctx = RunContext(RUN, Settings(image_generation=image_config), blobs, state=None)
    results = step.render(ctx)
    assert [r.frame_id for r in results] == ["s1-start", "s2-start", "s3-start", "s1-end", "s2-end", "s3-end"]
    assert all(r.ok for r in results)
    # three start frames in one call, then the three end frames derived from them in one img2img call
    assert pipeline_calls == [("StableDiffusionXLPipeline", 3), ("StableDiffusionXLImg2ImgPipeline", 3)]
    for i in (1, 2, 3):
        seed = frame_seed(RUN, f"s{i}-start", image_config.seed)
        for role in ("start", "end"):
            f = frame(blobs, f"s{i}-{role}")
            assert f.status == FrameStatus.rendered and f.image_key == f"frames/s{i}-{role}.png"
            assert (f.seed, f.provider, f.model, f.placeholder) == (
                seed,
                "diffusers",
                image_config.model,
                False,
            )
            assert f.render_seconds is not None and f.render_seconds > 0
            assert blobs.get_bytes(f"{RUN}/frames/s{i}-{role}.png").startswith(b"\x89PNG")
    assert outstanding(ctx, get_model(blobs, f"{RUN}/{SCENES}", ScenePlan)) == []

    # re-rendering from the recorded seeds gives the same pictures
    first = {r.frame_id: r.png for r in results}
    assert {r.frame_id: r.png for r in step.render(ctx)} == first


def test_worker_sigterm_keeps_finished_frames_and_a_retry_renders_only_the_rest(
    blobs, config_file, image_config, pipeline_calls
) -> None:
    class InterruptedOnce(DiffusersProvider):
        """Receives SIGTERM (as a Spot interruption would) while rendering its first batch."""

        sent = False

        def render(self, requests):
            if not self.sent:
                self.sent = True
                os.kill(os.getpid(), signal.SIGTERM)
            return super().render(requests)

    args = ["--run-id", RUN, "--blob-dir", str(blobs.root), "--config", str(config_file), "--frames", "all"]
    previous = signal.getsignal(signal.SIGTERM)
    provider = InterruptedOnce(image_config.model_copy(update={"max_batch": 1}))
    assert worker.main(args, providers=make_providers(images=provider)) == worker.EXIT_INTERRUPTED
    assert signal.getsignal(signal.SIGTERM) is previous  # handler restored
    # the batch in flight finished (scene 1: its start frame, then its end frame from it); nothing else ran
    assert pipeline_calls == [("StableDiffusionXLPipeline", 1), ("StableDiffusionXLImg2ImgPipeline", 1)]
    assert frame(blobs, "s1-start").status == frame(blobs, "s1-end").status == FrameStatus.rendered
    assert not blobs.exists(f"{RUN}/frames/s2-start.json")
    kept = blobs.get_bytes(f"{RUN}/frames/s1-start.png")

    pipeline_calls.clear()
    assert worker.main(args) == worker.EXIT_OK  # the retry
    assert pipeline_calls == [("StableDiffusionXLPipeline", 1), ("StableDiffusionXLImg2ImgPipeline", 1)] * 2
    assert blobs.get_bytes(f"{RUN}/frames/s1-start.png") == kept
    assert all(
        frame(blobs, f"s{i}-{r}").status == FrameStatus.rendered for i in (2, 3) for r in ("start", "end")
    )

    pipeline_calls.clear()
    assert worker.main(args) == worker.EXIT_OK  # nothing left: no pipeline call at all
    assert pipeline_calls == []


def test_worker_takes_its_arguments_from_the_environment(
    blobs, config_file, monkeypatch, pipeline_calls
) -> None:
    monkeypatch.setenv("STORYREEL_RUN_ID", RUN)
    monkeypatch.setenv("STORYREEL_FRAMES", "s2-start,s2-end")
    monkeypatch.setenv("STORYREEL_BLOB_DIR", str(blobs.root))
    monkeypatch.setenv("STORYREEL_CONFIG", str(config_file))
    monkeypatch.setenv("STORYREEL_IMAGE_GENERATION__MAX_BATCH", "4")
    assert worker.main([]) == worker.EXIT_OK
    assert pipeline_calls == [("StableDiffusionXLPipeline", 1), ("StableDiffusionXLImg2ImgPipeline", 1)]
    assert blobs.list(f"{RUN}/frames/") == [
        f"{RUN}/frames/s2-{r}.{x}" for r in ("end", "start") for x in ("json", "png")
    ]


def test_worker_bad_input_exits_2_without_rendering(blobs, config_file, pipeline_calls) -> None:
    common = ["--blob-dir", str(blobs.root), "--config", str(config_file)]
    assert worker.main(common) == worker.EXIT_USER  # no run id
    assert worker.main([*common, "--run-id", RUN, "--frames", "s9-start"]) == worker.EXIT_USER
    assert worker.main([*common, "--run-id", RUN, "--frames", "[s1-start"]) == worker.EXIT_USER
    assert worker.main([*common, "--run-id", "no-such-run"]) == worker.EXIT_USER
    assert worker.main(["--run-id", RUN, "--config", str(config_file)]) == worker.EXIT_USER  # no store
    assert pipeline_calls == []


def test_failed_frames_exit_3_and_are_rendered_by_the_retry(blobs, config_file, monkeypatch) -> None:
    import torch
    from diffusers import StableDiffusionXLPipeline

    original = StableDiffusionXLPipeline.__call__

    def no_memory(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    args = [
        "--run-id",
        RUN,
        "--blob-dir",
        str(blobs.root),
        "--config",
        str(config_file),
        "--frames",
        "s1-start",
    ]
    monkeypatch.setattr(StableDiffusionXLPipeline, "__call__", no_memory)
    assert worker.main(args) == worker.EXIT_FRAMES_FAILED
    failed = frame(blobs, "s1-start")
    assert failed.status == FrameStatus.failed and "out of memory" in (failed.error or "")
    monkeypatch.setattr(StableDiffusionXLPipeline, "__call__", original)
    assert worker.main(args) == worker.EXIT_OK
    assert frame(blobs, "s1-start").status == FrameStatus.rendered


def test_s3_blobs_come_from_shared_aws_stores(monkeypatch) -> None:
    made: list[tuple] = []

    class FakeS3BlobStore:
        def __init__(self, bucket: str, prefix: str = "") -> None:
            made.append((bucket, prefix))

    monkeypatch.setitem(
        sys.modules, "storyreel.shared.aws.stores", types.SimpleNamespace(S3BlobStore=FakeS3BlobStore)
    )
    assert isinstance(worker.make_blobs("storyreel-data", None), FakeS3BlobStore)
    assert made == [("storyreel-data", "runs/")]


def test_worker_process_stops_on_sigterm_with_exit_143(tmp_path, blobs, config_file) -> None:
    """The real entry point in its own process, SIGTERM sent from outside after its first progress line."""
    put_model(blobs, f"{RUN}/{CONTEXT}", context())
    put_model(blobs, f"{RUN}/{SCENES}", plan(4))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYREEL_")}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "storyreel.services.images.gpu.worker", "--run-id", RUN, "--frames", "all"]
    cmd += ["--blob-dir", str(blobs.root), "--config", str(config_file)]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "progress" in line:
            proc.send_signal(signal.SIGTERM)
            break
    lines.extend(proc.stdout)
    assert proc.wait(timeout=120) == 143, "".join(lines)
    log = "".join(lines)
    assert "done=2/8" in log and "SIGTERM received" in log and "left for the retry" in log
    left = [fid for fid in frame_order(plan(4)) if not blobs.exists(f"{RUN}/frames/{fid}.png")]
    assert left and "s1-start" not in left and "s1-end" not in left
