"""The Docker-free Lambda asset bundler: what goes into each asset group (no pip run here)."""

from __future__ import annotations

import pytest
from storyreel.shared.settings import Settings, env_overrides

from infra.bundle import copy_sources, requirements
from infra.config import InfraConfig
from infra.functions import ASSET_GROUPS, FUNCTIONS


def test_every_function_uses_a_known_asset_group():
    assert {f.asset for f in FUNCTIONS} <= set(ASSET_GROUPS)


def test_requirements_are_the_lambda_base_plus_the_groups_sdks_and_never_gpu_or_powertools():
    images = requirements("images")
    names = " ".join(images)
    assert "pydantic" in names and "openai" in names and "replicate" in names
    assert "firecrawl" not in names
    # the CLI's own packages are in pyproject's core (a plain pip install runs the local pipeline) but not
    # in a Lambda asset unless its group asks for them
    api = " ".join(requirements("api")).lower()
    for cli_only in ("click", "rich", "pocketsphinx", "numpy", "pillow"):
        assert cli_only not in api, cli_only
    for group in ASSET_GROUPS:
        reqs = " ".join(requirements(group)).lower()
        for heavy in ("torch", "diffusers", "transformers", "aws-lambda-powertools", "boto3"):
            assert heavy not in reqs, (group, heavy)


def test_copy_sources_takes_shared_and_services_but_not_the_gpu_worker(tmp_path):
    root = tmp_path / "repo"
    for rel in (
        "shared/contracts.py",
        "services/images/handler.py",
        "services/images/gpu/Dockerfile",
        "services/images/gpu/worker.py",
        "services/scenes/__pycache__/x.cpython-311.pyc",
        "storyreel/cli.py",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    dest = tmp_path / "asset"
    copy_sources(dest, root=root)
    files = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    # as installed: under the one package name (setup.py maps shared/ and services/ there)
    assert files == {
        "storyreel/__init__.py",
        "storyreel/shared/contracts.py",
        "storyreel/services/images/handler.py",
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("image_provider", "sdxl", "image_provider"), ("api_auth", "open", "api_auth")],
)
def test_bad_context_values_are_named(key, value, message):
    with pytest.raises(ValueError, match=message):
        InfraConfig(**{key: value}).validate()


def test_settings_context_becomes_storyreel_env_overrides():
    cfg = InfraConfig(settings={"pipeline": {"limit_images": 2, "virality_evaluation": False}})
    env = cfg.settings_env()
    assert env["STORYREEL_PIPELINE__LIMIT_IMAGES"] == "2"
    assert env["STORYREEL_PIPELINE__VIRALITY_EVALUATION"] == "false"
    assert env["STORYREEL_IMAGE_GENERATION__PROVIDER"] == "replicate"
    # and the runtime's own reader turns them back into valid settings
    settings = Settings.model_validate(env_overrides(env))
    assert settings.pipeline.limit_images == 2
    assert settings.pipeline.virality_evaluation is False
    assert settings.image_generation.provider == "replicate"
