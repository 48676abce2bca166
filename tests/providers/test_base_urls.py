"""Base URLs: an explicit config key > the vendor's own environment variable > the vendor's default.

Each vendor variable is set alone and the real SDK is shown to reach the fake server through it; where a config
key exists too, the key wins over a variable pointing at a port nothing listens on.
"""

from __future__ import annotations

import json

import pytest
from storyreel.services.images.providers.openai import OpenAIImagesProvider
from storyreel.services.images.providers.replicate import ReplicateProvider
from storyreel.services.scenes.providers.openai import OpenAIPlanner
from storyreel.services.virality.providers.base import firecrawl_configured
from storyreel.services.virality.providers.firecrawl import FirecrawlForums, check_config
from storyreel.shared.contracts import Transcript
from storyreel.shared.errors import ConfigError
from storyreel.shared.openai_client import effective_base_url
from storyreel.shared.settings import ImageGenerationConfig, LLMConfig, Settings, ViralityConfig

from storyreel.doctor import run_doctor
from testkit.vendors.firecrawl import FakeFirecrawl
from testkit.vendors.openai import CONTEXT
from tests.providers.test_wire_images import reqs

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there


def by_provider(checks, name: str):
    (check,) = [c for c in checks if c.provider == name]
    return check


# =========================================================================== OpenAI: OPENAI_BASE_URL
def test_openai_base_url_from_the_environment_alone(openai_server) -> None:
    """No config key for the planner's URL: the SDK's own OPENAI_BASE_URL is used, not a default of ours."""
    openai_server.chat_replies.append(json.dumps(CONTEXT))
    planner = OpenAIPlanner(LLMConfig(provider="openai", max_retries=0))
    planner.extract_context(Transcript(text="a coffee video", duration_s=2))
    assert len(openai_server.seen("POST /v1/chat/completions")) == 1
    assert str(planner._client.base_url).rstrip("/") == openai_server.base_url


def test_openai_images_config_key_wins_over_the_environment(openai_server, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", NOWHERE + "/v1")
    provider = OpenAIImagesProvider(
        ImageGenerationConfig(provider="openai", base_url=openai_server.base_url, max_retries=0)
    )
    assert all(r.ok for r in provider.render(reqs(1)))
    assert len(openai_server.seen("POST /v1/images/generations")) == 1


def test_openai_effective_url() -> None:
    assert effective_base_url(None, {}) == "https://api.openai.com/v1"
    assert effective_base_url(None, {"OPENAI_BASE_URL": "http://localhost:11434/v1/"}) == (
        "http://localhost:11434/v1"
    )
    assert effective_base_url("http://vllm:8000/v1", {"OPENAI_BASE_URL": NOWHERE}) == "http://vllm:8000/v1"


def test_doctor_reports_the_url_openai_is_reached_at(openai_server) -> None:
    s = Settings.model_validate({"llm": {"provider": "openai"}})
    live = by_provider(run_doctor(s, {"OPENAI_BASE_URL": openai_server.base_url}), "openai")
    assert live.status == "ok" and live.detail == f"1 models visible at {openai_server.base_url}"
    offline = by_provider(run_doctor(s, {"OPENAI_API_KEY": "sk-x"}, live=False), "openai")
    assert offline.detail == "OPENAI_API_KEY set, at https://api.openai.com/v1 (live check skipped)"


# =========================================================================== Replicate: REPLICATE_BASE_URL
def test_replicate_base_url_from_the_environment_alone(replicate_server) -> None:
    provider = ReplicateProvider(ImageGenerationConfig(provider="replicate", max_retries=0))
    assert provider.base_url == replicate_server.url
    assert all(r.ok for r in provider.render(reqs(1)))


def test_replicate_config_key_wins_over_the_environment(replicate_server, monkeypatch) -> None:
    monkeypatch.setenv("REPLICATE_BASE_URL", NOWHERE)
    provider = ReplicateProvider(
        ImageGenerationConfig(provider="replicate", base_url=replicate_server.url, max_retries=0)
    )
    assert all(r.ok for r in provider.render(reqs(1)))
    s = Settings.model_validate(
        {"image_generation": {"provider": "replicate", "base_url": replicate_server.url}}
    )
    env = {"REPLICATE_API_TOKEN": "r8_x", "REPLICATE_BASE_URL": NOWHERE}
    check = by_provider(run_doctor(s, env, live=False), "replicate")
    assert check.detail == f"REPLICATE_API_TOKEN set, at {replicate_server.url} (live check skipped)"


# =========================================================================== Firecrawl: FIRECRAWL_API_URL
def test_firecrawl_url_precedence() -> None:
    assert check_config(ViralityConfig(), "fc-x", {}) == "https://api.firecrawl.dev"
    env = {"FIRECRAWL_API_URL": "http://firecrawl.internal:3002"}
    # self-hosted: no key needed
    assert check_config(ViralityConfig(), None, env) == "http://firecrawl.internal:3002"
    assert check_config(ViralityConfig(firecrawl_api_url="http://mine:3002"), None, env) == "http://mine:3002"
    assert firecrawl_configured(ViralityConfig(), env) and not firecrawl_configured(ViralityConfig(), {})
    with pytest.raises(ConfigError, match=r"^FIRECRAWL_API_URL 'localhost:3002' is not an http\(s\) URL"):
        check_config(ViralityConfig(), None, {"FIRECRAWL_API_URL": "localhost:3002"})


def test_firecrawl_from_the_environment_alone(monkeypatch) -> None:
    with FakeFirecrawl() as server:
        monkeypatch.setenv("FIRECRAWL_API_URL", server.url)
        assert FirecrawlForums(ViralityConfig(provider="firecrawl")).api_url == server.url
        env = {"FIRECRAWL_API_URL": server.url, "FIRECRAWL_API_KEY": "fc-test"}
        check = by_provider(run_doctor(Settings(), env), "firecrawl")
        assert check.status == "ok" and check.detail == f"4200 credits left at {server.url}"
        assert check.used_for == "virality evidence (auto)"
        no_key = by_provider(
            run_doctor(Settings(), {"FIRECRAWL_API_URL": server.url}, live=False), "firecrawl"
        )
        assert no_key.detail == f"no key (self-hosted) at {server.url} (live check skipped)"  # auto picks it
        assert len(server.seen("GET /v2/team/credit-usage")) == 1
