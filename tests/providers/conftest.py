"""Fixtures for the provider wire tests: fake vendor servers and the env that points the real SDKs at them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testkit.vendors.media import write_wav
from testkit.vendors.openai import FakeOpenAI
from testkit.vendors.replicate import FakeReplicate
from testkit.vendors.stability import FakeStability

VENDOR_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "REPLICATE_API_TOKEN",
    "REPLICATE_BASE_URL",
    "REPLICATE_POLL_INTERVAL",
    "STABILITY_API_KEY",
    "STABILITY_BASE_URL",
    "FIRECRAWL_API_KEY",
    "FIRECRAWL_API_URL",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VENDOR_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        yield server


@pytest.fixture
def replicate_server(monkeypatch: pytest.MonkeyPatch):
    with FakeReplicate() as server:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_test_token")
        monkeypatch.setenv("REPLICATE_BASE_URL", server.url)
        monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
        yield server


@pytest.fixture
def stability_server(monkeypatch: pytest.MonkeyPatch):
    with FakeStability() as server:
        monkeypatch.setenv("STABILITY_API_KEY", "sk-stability-test")
        monkeypatch.setenv("STABILITY_BASE_URL", server.url)
        yield server


@pytest.fixture
def short_wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "brief.wav", [(0.5, True), (0.4, False), (0.5, True)])


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real speech (espeak-ng), for steps that check the input has speech before sending it anywhere."""
    path = tmp_path_factory.mktemp("speech") / "brief.wav"
    text = "We want a thirty second Instagram video about our small coffee roastery."
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path
