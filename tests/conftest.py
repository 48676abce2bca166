"""Suite-wide fixtures. Every test gets its own STORYREEL_HOME so no run index or policy leaks between tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.contracts import Transcript

from testkit.briefs import RAMBLING_BRIEF, asr_transcript


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYREEL_HOME", str(tmp_path_factory.mktemp("home")))
    for name in ("OPENAI_API_KEY", "REPLICATE_API_TOKEN", "STABILITY_API_KEY", "FIRECRAWL_API_KEY"):
        monkeypatch.delenv(name, raising=False)


# The briefs the scene, image and page tests share (testkit/briefs.py).
@pytest.fixture
def rambling() -> Transcript:
    return Transcript(text=RAMBLING_BRIEF, duration_s=45.0, provider="test")


@pytest.fixture
def asr() -> Transcript:
    return asr_transcript()


@pytest.fixture
def planner() -> LocalPlanner:
    return LocalPlanner()


# `make unit` runs `-m "not slow"`: everything below is marked slow here, by what it needs, so no test file has
# to remember to. A test is slow when it uses one of these fixtures (directly or through another fixture) ...
SLOW_FIXTURES = {
    "machine": "the state machine in moto (tests/aws/conftest.py)",
    "synth": "a CDK synth",
    "synth_batch": "a CDK synth",
    "speech": "speech generated with espeak-ng, ffmpeg and sox",
    "speech_wav": "speech generated with espeak-ng",
    "example_asr": "pocketsphinx over the example brief",
    "tiny_sdxl": "a tiny diffusers model",
    "real_assets": "the Lambda assets, pip-installed for the Lambda platform",
    "powertools_layer": "the Powertools layer, pip-installed for the Lambda platform",
}
# ... or lives in one of these files (they run the tools themselves) ...
SLOW_FILES = {
    "aws/test_state_machine.py": "the state machine in moto",
    "serve/test_serve.py": "storyreel serve in a subprocess, running the example brief",
    "clips/test_clips_state_machine.py": "the state machine in moto, with webhooks",
    "clips/test_diffusers.py": "a tiny Wan pipeline built with torch",
    "clips/test_clips_cli.py": "the CLI in subprocesses on the example brief",
    "images/test_reference_cli.py": "the CLI in subprocesses on the example brief",
    "infra/test_asl.py": "asl-validator (node)",
    "infra/test_checks.py": "checkov and cfn-lint",
    "infra/test_gpu.py": "CDK apps (jsii runs node)",
    "infra/test_web.py": "a CDK app (jsii runs node)",
    "infra/test_transcribe_image.py": "a CDK app with transcriber=whisper (jsii runs node)",
    "images/gpu/test_bench.py": "diffusers and torch",
    "install/test_slim_install.py": "a wheel build and fresh interpreters",
    "export/test_animatic.py": "ffmpeg encodes (360p, a few seconds each)",
    "export/test_pdf.py": "runs built with the sketch renderer, read with poppler",
    "export/test_timelines.py": "runs built with the sketch renderer",
    "export/test_export_cli.py": "runs built with the sketch renderer, ffmpeg",
    "api/test_exports.py": "runs built with the sketch renderer, moto, an ffmpeg encode",
    "api/test_exports_serve.py": "storyreel serve in-process, ffmpeg encodes",
    "api/test_regenerate_gpu.py": "runs built with the sketch renderer, moto S3 + DynamoDB + Batch",
    "transcribe/test_whisper.py": "a tiny Whisper built with torch and converted with ctranslate2",
    "serve/test_serve_typed.py": "storyreel serve in a subprocess, running typed briefs",
    "serve/test_serve_reference.py": "storyreel serve in a subprocess, a reference image and a typed brief",
    "transcribe/test_whisper_lambda.py": "a tiny Whisper built with torch, moto S3 + DynamoDB",
}
# ... or carries one of these markers, or is a property-based test (hypothesis draws up to hundreds of cases).
SLOW_MARKERS = {"browser": "headless Chromium"}


def slow_reason(item: pytest.Item) -> str | None:
    """Why `item` is left out of `make unit`, or None when it is not."""
    rel = item.path.relative_to(Path(__file__).parent).as_posix()
    if rel in SLOW_FILES:
        return SLOW_FILES[rel]
    fixtures = getattr(item, "fixturenames", ())
    reason = next((why for name, why in SLOW_FIXTURES.items() if name in fixtures), None)
    if reason is None:
        reason = next((why for name, why in SLOW_MARKERS.items() if item.get_closest_marker(name)), None)
    if reason is None and getattr(getattr(item, "function", None), "is_hypothesis_test", False):
        reason = "hypothesis examples"
    return reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    moved = sorted(rel for rel in SLOW_FILES if not (here / rel).is_file())
    if moved:  # a renamed file would quietly join `make unit`
        raise pytest.UsageError(f"tests/conftest.py SLOW_FILES names no such file: {', '.join(moved)}")
    for item in items:
        if slow_reason(item) is not None:
            item.add_marker(pytest.mark.slow)
