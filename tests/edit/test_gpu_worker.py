"""services/edit/worker.py with the real diffusers provider on a tiny SDXL (built by tests/images/gpu): a GPU
re-render the API recorded is rendered by the worker from the run's own settings and the job's model, kept as a
new version and made current."""

from __future__ import annotations

from pathlib import Path

import pytest
from storyreel.services.edit import step as edit_step
from storyreel.services.edit import worker as edit_worker
from storyreel.shared.contracts import FrameStatus
from storyreel.shared.pipeline import current_plan, load_frame
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, editing, local_state

from testkit.fakes import make_context
from tests.images.gpu.conftest import TINY_SIZE, TINY_STEPS, build_tiny_sdxl


@pytest.fixture(scope="module")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sdxl(tmp_path_factory.mktemp("models") / "tiny-sdxl")


def test_the_worker_renders_a_recorded_request_with_diffusers(finished, tiny_sdxl) -> None:
    root = finished.folder.parent
    blobs, store = LocalBlobStore(root), local_state()
    settings = Settings.model_validate({"pipeline": {"scenes": 5, "virality_evaluation": False}})
    ctx = make_context(root, settings=settings, blobs=blobs, state=store)
    with editing(store, "run-test", 0) as claimed:  # what the API does before it submits the job
        edit_step.request_render(
            ctx, claimed, "s1-start", provider="diffusers", seed=11, prompt="a tiny kite"
        )
    environ = {
        edit_worker.MODEL_ENV: str(tiny_sdxl),  # the job definition's model folder
        "STORYREEL_IMAGE_GENERATION__WIDTH": str(TINY_SIZE),
        "STORYREEL_IMAGE_GENERATION__HEIGHT": str(TINY_SIZE),
        "STORYREEL_IMAGE_GENERATION__STEPS": str(TINY_STEPS),
    }
    code = edit_worker.render(
        "run-test", "s1-start", stores=(blobs, store), environ=environ, sleep=lambda s: None
    )
    assert code == edit_worker.EXIT_OK
    frame = load_frame(ctx, current_plan(ctx), "s1-start")
    assert frame.status == FrameStatus.rendered and frame.version == 2 and len(frame.versions) == 2
    assert (frame.provider, frame.model, frame.seed, frame.prompt) == (
        "diffusers",
        str(tiny_sdxl),
        11,
        "a tiny kite",
    )
    assert frame.versions[0].provider == "sketch"  # the first rendering, kept
    assert blobs.get_bytes(f"run-test/{frame.image_key}").startswith(b"\x89PNG")
    assert edit_step.render_jobs(ctx) == {} and store.get("run-test").revision == 2
