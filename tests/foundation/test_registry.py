"""The provider registries (shared/registry.py): names checked against the settings Literal, one-line errors,
typed injection through Providers, and the tables derived from them (Lambda secrets, missing-SDK extras)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import pytest
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.scenes.providers import PLANNERS
from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.services.virality.sources import EVIDENCE_SOURCES, ForumSetup
from storyreel.shared.errors import ConfigError
from storyreel.shared.registry import Providers, ProviderSpec, Registry
from storyreel.shared.secrets import OPENAI, REPLICATE, STABILITY, VENDOR_KEYS
from storyreel.shared.settings import (
    EvidenceSourceName,
    ImageGenerationConfig,
    ImageProviderName,
    LLMConfig,
    PlannerName,
    TranscriberName,
    TranscriptionConfig,
    ViralityConfig,
)

from infra.functions import BY_ID, SECRET_ENV
from storyreel.cli import extra_of_module
from testkit.fakes import FakeImageProvider, make_context, use_provider

Name = Literal["a", "b"]


def spec(name: str) -> ProviderSpec[ImageGenerationConfig, str]:
    return ProviderSpec(name, f"provider {name}", lambda config: name)


def test_each_stage_registry_declares_exactly_its_settings_literal() -> None:
    for registry, names in (
        (TRANSCRIBERS, TranscriberName),
        (PLANNERS, PlannerName),
        (IMAGE_PROVIDERS, ImageProviderName),
        (EVIDENCE_SOURCES, EvidenceSourceName),
    ):
        assert set(registry.names()) == set(get_args(names)), registry


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        (["a"], "no provider for b"),
        (["a", "b", "c"], "c not in the Literal"),
        (["a", "b", "a"], "a declared twice"),
    ],
)
def test_a_registry_that_differs_from_its_literal_does_not_import(declared: list[str], problem: str) -> None:
    with pytest.raises(TypeError) as err:
        Registry("thing", "things.provider", Name, [spec(n) for n in declared])
    assert str(err.value) == f"the thing registry does not match things.provider's Literal: {problem}"


def test_an_unknown_name_is_a_config_error_naming_the_setting_and_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        IMAGE_PROVIDERS.get("dalle-9")
    assert str(err.value) == (
        "unknown image_generation.provider 'dalle-9' "
        "(choose one of: sketch, replicate, stability, openai, diffusers, batch)"
    )


def test_build_uses_the_configured_name() -> None:
    assert TRANSCRIBERS.build(TranscriptionConfig()).name == "local"
    assert PLANNERS.build(LLMConfig()).name == "local"
    assert IMAGE_PROVIDERS.build(ImageGenerationConfig()).name == "sketch"
    assert EVIDENCE_SOURCES.build(ForumSetup(ViralityConfig(provider="public"), None)).name == "forums"


def test_keys_secrets_and_extras_come_from_the_entries() -> None:
    assert IMAGE_PROVIDERS.keys() == (REPLICATE, STABILITY, OPENAI)
    assert IMAGE_PROVIDERS.secrets() == ("replicate", "stability", "openai")
    assert PLANNERS.keys() == (OPENAI,)
    assert EVIDENCE_SOURCES.secrets() == ("firecrawl",)
    assert IMAGE_PROVIDERS.extra_of("torch") == "gpu" and IMAGE_PROVIDERS.extra_of("numpy") is None
    assert [
        extra_of_module(m) for m in ("openai", "replicate", "firecrawl", "diffusers", "boto3", "numpy")
    ] == [
        "providers",
        "providers",
        "providers",
        "gpu",
        "aws",
        None,
    ]


def test_infra_grants_each_function_the_keys_of_the_stages_it_hosts() -> None:
    assert {key.secret: key.pointer for key in VENDOR_KEYS} == SECRET_ENV
    assert SECRET_ENV["openai"] == "STORYREEL_OPENAI_SECRET"
    assert BY_ID["Images"].secrets == ("replicate", "stability", "openai")
    assert BY_ID["Transcribe"].secrets == BY_ID["Context"].secrets == BY_ID["Scenes"].secrets == ("openai",)
    assert BY_ID["Virality"].secrets == ("firecrawl",)
    # the API re-renders frames on the API image providers (issue #11), so it reads their keys; Choose reads none
    assert BY_ID["Api"].secrets == BY_ID["Images"].secrets
    assert BY_ID["Choose"].secrets == ()


def test_a_given_provider_wins_and_keeps_its_type(tmp_path: Path) -> None:
    fake = FakeImageProvider()
    ctx = make_context(tmp_path, providers=Providers().add(IMAGE_PROVIDERS, fake))
    assert ctx.provider(IMAGE_PROVIDERS, ctx.settings.image_generation) is fake
    assert ctx.provider(PLANNERS, ctx.settings.llm).name == "local"  # not given: built from the settings
    copy = ctx.providers.copy().add(PLANNERS, ctx.provider(PLANNERS, ctx.settings.llm))
    assert [kind for kind, _ in copy.named()] == ["image_provider", "planner"]
    assert PLANNERS not in ctx.providers  # a copy is its own


def test_use_provider_replaces_the_factories_for_the_test_only(monkeypatch: pytest.MonkeyPatch) -> None:
    original = dict(IMAGE_PROVIDERS.specs)
    fake = FakeImageProvider()
    with monkeypatch.context() as patch:
        use_provider(patch, IMAGE_PROVIDERS, fake)
        for name in ("sketch", "replicate", "batch"):
            assert IMAGE_PROVIDERS.build(ImageGenerationConfig(provider=name)) is fake
    assert IMAGE_PROVIDERS.specs == original
