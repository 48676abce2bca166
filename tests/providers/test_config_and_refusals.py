"""Missing keys are ConfigErrors raised at construction (no network I/O), and an account-level refusal (bad key)
is sent once per render call, not once per frame."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.images.providers.openai import OpenAIImagesProvider
from storyreel.services.images.providers.replicate import ReplicateProvider
from storyreel.services.images.providers.stability import StabilityProvider
from storyreel.services.scenes.providers.openai import OpenAIPlanner
from storyreel.services.transcribe.providers.openai import OpenAITranscriber
from storyreel.services.virality.providers.firecrawl import FirecrawlForums
from storyreel.services.virality.score import get_evidence_source
from storyreel.shared.errors import ConfigError
from storyreel.shared.settings import ImageGenerationConfig, LLMConfig, TranscriptionConfig, ViralityConfig

from storyreel.cli import cli
from testkit.vendors.openai import openai_error, planning_reply
from testkit.vendors.replicate import replicate_error
from testkit.vendors.stability import stability_error
from tests.providers.test_wire_images import cfg, reqs


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any socket connect fails the test: constructing a provider must not touch the network."""
    tried: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        tried.append(address)
        raise AssertionError(f"network I/O at construction: connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return tried


MISSING: list[tuple[str, Callable[[], object], str]] = [
    ("openai-planner", lambda: OpenAIPlanner(LLMConfig(provider="openai")), "OPENAI_API_KEY"),
    (
        "openai-transcriber",
        lambda: OpenAITranscriber(TranscriptionConfig(provider="openai")),
        "OPENAI_API_KEY",
    ),
    (
        "openai-images",
        lambda: OpenAIImagesProvider(ImageGenerationConfig(provider="openai")),
        "OPENAI_API_KEY",
    ),
    (
        "replicate",
        lambda: ReplicateProvider(ImageGenerationConfig(provider="replicate")),
        "REPLICATE_API_TOKEN",
    ),
    (
        "stability",
        lambda: StabilityProvider(ImageGenerationConfig(provider="stability")),
        "STABILITY_API_KEY",
    ),
    ("firecrawl", lambda: FirecrawlForums(ViralityConfig(provider="firecrawl")), "FIRECRAWL_API_KEY"),
    (
        "firecrawl-source",
        lambda: get_evidence_source(ViralityConfig(provider="firecrawl"), None),
        "FIRECRAWL_API_KEY",
    ),
]


@pytest.mark.parametrize(("name", "build", "variable"), MISSING, ids=[m[0] for m in MISSING])
def test_missing_key_is_a_one_line_config_error_at_construction(
    name, build, variable, no_network, monkeypatch
) -> None:
    monkeypatch.delenv("FIRECRAWL_API_KEY", raising=False)
    with pytest.raises(ConfigError) as err:
        build()
    message = str(err.value)
    assert err.value.kind == "user"  # CLI exit 2, API 4xx
    assert message.startswith(f"{variable} is not set: export {variable}=") and "\n" not in message
    assert not no_network


def test_openai_base_url_alone_is_enough_for_a_local_server(no_network, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    OpenAIPlanner(LLMConfig(provider="openai"))
    OpenAITranscriber(TranscriptionConfig(provider="openai"))
    OpenAIImagesProvider(ImageGenerationConfig(provider="openai"))
    assert not no_network


def test_construction_with_keys_sends_nothing(no_network, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_x")
    monkeypatch.setenv("STABILITY_API_KEY", "sk-x")
    monkeypatch.setenv("FIRECRAWL_API_KEY", "fc-x")
    for provider in ("openai", "replicate", "stability"):
        assert IMAGE_PROVIDERS.build(ImageGenerationConfig(provider=provider)).name == provider
    OpenAIPlanner(LLMConfig(provider="openai"))
    OpenAITranscriber(TranscriptionConfig(provider="openai"))
    assert get_evidence_source(ViralityConfig(provider="firecrawl"), None).primary.name == "firecrawl"
    assert not no_network


def test_self_hosted_firecrawl_needs_no_key_but_a_real_url(no_network, monkeypatch) -> None:
    monkeypatch.delenv("FIRECRAWL_API_KEY", raising=False)
    FirecrawlForums(ViralityConfig(provider="firecrawl", firecrawl_api_url="http://localhost:3002"))
    with pytest.raises(ConfigError, match=r"virality\.firecrawl_api_url 'localhost:3002' is not an http"):
        FirecrawlForums(ViralityConfig(provider="firecrawl", firecrawl_api_url="localhost:3002"))


def test_batch_image_provider_is_a_config_error_locally() -> None:
    with pytest.raises(ConfigError) as err:
        IMAGE_PROVIDERS.build(ImageGenerationConfig(provider="batch"))
    assert str(err.value).startswith(
        "image provider 'batch' renders in an AWS Batch job; locally use --image-provider diffusers (GPU) "
        "or an API provider"
    )


def test_cli_missing_image_key_exits_2(openai_server, speech_wav, tmp_path) -> None:
    openai_server.default_chat = planning_reply
    args = ["run", str(speech_wav), "--transcriber", "openai", "--llm", "openai"]
    args += ["--image-provider", "stability", "--scenes", "3", "--no-virality", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "STABILITY_API_KEY is not set" in result.output


# =========================================================================== account-level refusals
def test_replicate_bad_token_fails_the_rest_unsent(replicate_server) -> None:
    replicate_server.fault(
        "create-model",
        replicate_error(401, "You did not pass a valid authentication token", "Unauthenticated"),
    )
    provider = ReplicateProvider(cfg("replicate", concurrency=1, max_retries=3))
    results = provider.render(reqs(4))
    reason = "Replicate rejected the API token (401): check REPLICATE_API_TOKEN"
    assert [r.error for r in results] == [reason] * 4
    assert len(replicate_server.matching("POST", "/v1/models/.*/predictions")) == 1
    assert provider.usage[0].requests == 1 and provider.usage[0].images == 0


def test_replicate_model_failure_stays_per_frame(replicate_server) -> None:
    replicate_server.fault("create-model", replicate_error(422, "input.seed must be an integer"))
    results = ReplicateProvider(cfg("replicate", concurrency=1)).render(reqs(3))
    assert [r.ok for r in results] == [False, True, True]
    assert len(replicate_server.matching("POST", "/v1/models/.*/predictions")) == 3


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            stability_error(401, "unauthorized", "bad key"),
            "Stability rejected the API key (401): check STABILITY_API_KEY",
        ),
        (
            stability_error(403, "forbidden", "this key cannot use sd3"),
            "Stability rejected the request (HTTP 403): forbidden: this key cannot use sd3",
        ),
    ],
    ids=["401", "403-forbidden"],
)
def test_stability_bad_key_fails_the_rest_unsent(stability_server, reply, reason) -> None:
    stability_server.fault("generate", reply)
    provider = StabilityProvider(cfg("stability", concurrency=1, max_retries=2))
    results = provider.render(reqs(3))
    assert [r.error for r in results] == [reason] * 3
    assert len(stability_server.seen("POST /v2beta/stable-image/generate/core")) == 1
    assert provider.usage[0].requests == 1


def test_stability_next_render_call_tries_again(stability_server) -> None:
    stability_server.fault("generate", stability_error(401, "unauthorized", "bad key"))
    provider = StabilityProvider(cfg("stability", concurrency=1))
    assert not any(r.ok for r in provider.render(reqs(2)))
    assert all(r.ok for r in provider.render(reqs(2)))  # the refusal belongs to one call, not the provider
    assert len(stability_server.seen("POST /v2beta/stable-image/generate/core")) == 3


def test_stability_moderation_stays_per_frame(stability_server) -> None:
    stability_server.fault(
        "generate", stability_error(403, "content_moderation", "flagged by our content moderation system")
    )
    results = StabilityProvider(cfg("stability", concurrency=1)).render(reqs(3))
    assert [r.ok for r in results] == [False, True, True]
    assert len(stability_server.seen("POST /v2beta/stable-image/generate/core")) == 3


def test_openai_images_bad_key_fails_the_rest_unsent(openai_server) -> None:
    openai_server.fault(
        "images", openai_error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
    )
    provider = OpenAIImagesProvider(cfg("openai", concurrency=1))
    results = provider.render(reqs(3))
    reason = "OpenAI rejected the API key (401): check OPENAI_API_KEY"
    assert [r.error for r in results] == [reason] * 3
    assert len(openai_server.seen("POST /v1/images/generations")) == 1
    assert provider.usage[0].requests == 1


def test_openai_images_content_policy_stays_per_frame(openai_server) -> None:
    openai_server.fault(
        "images",
        openai_error(
            400, "rejected by our safety system", "image_generation_user_error", "content_policy_violation"
        ),
    )
    results = OpenAIImagesProvider(cfg("openai", concurrency=1)).render(reqs(3))
    assert [r.ok for r in results] == [False, True, True]
    assert len(openai_server.seen("POST /v1/images/generations")) == 3
    assert json.loads(openai_server.seen("POST /v1/images/generations")[2].body)["prompt"].endswith("#3")
