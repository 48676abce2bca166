from __future__ import annotations

from pathlib import Path

import pytest
from storyreel.shared.errors import ConfigError
from storyreel.shared.settings import PRESETS, env_overrides, load_settings, max_audio_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text)
    return p


def test_defaults_are_the_full_local_pipeline() -> None:
    s = load_settings(environ={})
    assert s.images_enabled and s.pipeline.virality_evaluation
    assert s.image_generation.provider == "sketch"
    assert s.pipeline.scenes == 5
    assert s.image_budget(10) == 10


def test_seed_config_runs_as_is() -> None:
    s = load_settings(EXAMPLES / "seed-config.yaml", environ={})
    # fast_mode starts from the quick preset, the file's explicit keys win
    assert s.preset == "quick"
    assert s.pipeline.limit_images == 2
    assert s.pipeline.virality_evaluation is False
    assert s.image_generation.provider == "sketch"  # the seed's "local" is our embedded renderer
    assert s.image_generation.limit_scenes == 3
    assert s.image_budget(10) == 2


def test_seed_use_api_images_means_replicate(tmp_path: Path) -> None:
    cfg = write(tmp_path, "pipeline:\n  use_api_images: true\n")
    assert load_settings(cfg, environ={}).image_generation.provider == "replicate"
    cfg = write(tmp_path, "pipeline:\n  use_api_images: true\nimage_generation:\n  provider: stability\n")
    assert load_settings(cfg, environ={}).image_generation.provider == "stability"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("pipeline:\n  limit_imagez: 2\n", "unknown key 'pipeline.limit_imagez'"),
        ("pipline:\n  fast_mode: true\n", "unknown key 'pipline'"),
        ("pipeline:\n  limit_images: two\n", "'pipeline.limit_images'"),
        ("pipeline:\n  scenes: 12\n", "'pipeline.scenes'"),
        ("image_generation:\n  provider: midjourney\n", "'image_generation.provider'"),
        ("- just\n- a list\n", "must be a mapping"),
        ("pipeline: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), environ={})
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_precedence_preset_file_env_cli(tmp_path: Path) -> None:
    cfg = write(tmp_path, "preset: full\npipeline:\n  limit_images: 4\n  scenes: 6\n")
    env = {"STORYREEL_PIPELINE__LIMIT_IMAGES": "3", "STORYREEL_PIPELINE__SCENES": "7"}
    s = load_settings(cfg, environ=env, cli={"pipeline": {"scenes": 8}})
    assert s.pipeline.limit_images == 3  # env beats file
    assert s.pipeline.scenes == 8  # cli beats env
    assert s.pipeline.virality_evaluation is True  # from the preset


def test_env_override_errors_name_the_variable_origin() -> None:
    with pytest.raises(ConfigError, match=r"environment.*'pipeline.limit_images'"):
        load_settings(environ={"STORYREEL_PIPELINE__LIMIT_IMAGES": "lots"})
    assert env_overrides({"STORYREEL_LLM__PROVIDER": "openai", "OTHER": "x"}) == {
        "llm": {"provider": "openai"}
    }


def test_presets_follow_the_targets_table() -> None:
    assert set(PRESETS) == {"preview", "quick", "full"}
    preview = load_settings(cli={"preset": "preview"}, environ={})
    assert not preview.images_enabled and not preview.pipeline.virality_evaluation
    assert preview.image_budget(10) == 0
    quick = load_settings(cli={"preset": "quick"}, environ={})
    assert quick.image_budget(10) == 2 and quick.pipeline.background_full_render
    assert load_settings(cli={"preset": "full"}, environ={}).image_budget(10) == 10


def test_unknown_preset() -> None:
    with pytest.raises(ConfigError):
        load_settings(cli={"preset": "turbo"}, environ={})


def test_cli_preset_beats_the_file(tmp_path: Path) -> None:
    s = load_settings(EXAMPLES / "seed-config.yaml", cli={"preset": "full"}, environ={})
    assert s.preset == "full" and s.pipeline.limit_images is None and s.pipeline.virality_evaluation
    assert s.image_budget(10) == 6  # the file's image_generation.limit_scenes: 3 is not part of any preset
    s = load_settings(
        EXAMPLES / "seed-config.yaml", cli={"preset": "full", "pipeline": {"limit_images": 4}}, environ={}
    )
    assert s.pipeline.limit_images == 4  # explicit flags still beat the preset


def test_preset_from_the_environment() -> None:
    assert load_settings(environ={"STORYREEL_PRESET": "preview"}).preset == "preview"
    with pytest.raises(ConfigError):
        load_settings(environ={"STORYREEL_PRESET": "warp"})


def test_unreadable_config_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path, "pipeline: {}\n")

    def denied(self, *a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(ConfigError, match="cannot be read: Permission denied"):
        load_settings(cfg, environ={})


@pytest.mark.parametrize("value", ["1e308", "inf", ".inf", "-.inf", ".nan", "nan", "1e15", "241"])
def test_max_audio_minutes_is_finite_and_bounded(value: str) -> None:
    """1e308 used to pass and then blame the good audio file ("could not be decoded as audio")."""
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"STORYREEL_PIPELINE__MAX_AUDIO_MINUTES": value})
    message = str(err.value)
    assert "environment" in message and "'pipeline.max_audio_minutes'" in message
    assert "finite" in message or "less than or equal to 240" in message or "greater than 0" in message


def test_max_audio_minutes_bound_from_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'pipeline.max_audio_minutes'.*less than or equal to 240"):
        load_settings(write(tmp_path, "pipeline:\n  max_audio_minutes: 1.0e+308\n"), environ={})
    s = load_settings(write(tmp_path, "pipeline:\n  max_audio_minutes: 240\n"), environ={})
    assert s.pipeline.max_audio_bytes == max_audio_bytes(240) < 6 * 1024**3  # a finite byte bound


@pytest.mark.parametrize(
    "key",
    [
        "image_generation.timeout_s",
        "transcription.timeout_s",
        "llm.timeout_s",
        "virality.cache_ttl_hours",
        "virality.time_budget_s",
        "virality.request_timeout_s",
        "optimizer.prior_strength",
        "optimizer.memory",
        "optimizer.max_runs_tracked",
        "llm.temperature",
        "image_generation.guidance_scale",
    ],
)
@pytest.mark.parametrize("value", ["1e308", ".inf", ".nan"])
def test_no_numeric_setting_takes_inf_nan_or_huge(key: str, value: str) -> None:
    section, name = key.split(".")
    env = {f"STORYREEL_{section.upper()}__{name.upper()}": value}
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_settings(environ=env)
