"""Run settings: embedded defaults < preset < YAML file < environment < command line.

The YAML file accepts the seed's configuration verbatim (`pipeline.fast_mode`, `skip_image_generation`,
`limit_images`, `virality_evaluation`, `use_api_images`, `image_generation.provider/model/limit_scenes`).
Unknown keys and wrong types are errors that name the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from storyreel.shared.errors import ConfigError

ENV_PREFIX = "STORYREEL_"
PresetName = Literal["preview", "quick", "full"]
# Provider names, one Literal per stage: each stage's registry (services/<stage>/providers) must declare exactly
# these (checked at import), so a provider is added here and there.
TranscriberName = Literal["auto", "local", "whisper", "openai"]
PlannerName = Literal["local", "openai"]
ImageProviderName = Literal["sketch", "replicate", "stability", "openai", "diffusers", "batch"]
EvidenceSourceName = Literal["auto", "firecrawl", "public"]
ClipProviderName = Literal["off", "replicate", "diffusers", "batch"]
# Names the seed used for its providers, mapped onto ours.
_PROVIDER_ALIASES = {"local": "sketch", "sdxl": "diffusers", "dalle": "openai", "dall-e": "openai"}


# Upper bounds of the numeric settings: a value past them (1e308, .inf, a typo with extra zeros) is a config error
# that names the key, not an overflow deep in a stage. Infinity and NaN are refused everywhere (allow_inf_nan).
MAX_AUDIO_MINUTES = 240.0  # 4 h: far past any spoken brief; its PCM (16 kHz int16) is 460 MB, held in memory
MAX_TIMEOUT_S = 3600.0  # one request to a provider
# The most bytes an audio file may take: max_audio_minutes at AUDIO_BYTES_PER_S (48 kHz stereo 32-bit float, the
# biggest format a recorder or DAW writes; compressed speech is 10-100 times smaller) plus room for headers and
# cover art. Inputs are refused past it before anything reads them, and every copy stops there.
AUDIO_BYTES_PER_S = 48_000 * 2 * 4
AUDIO_OVERHEAD_BYTES = 16 * 1024 * 1024


def max_audio_bytes(max_minutes: float) -> int:
    return int(max_minutes * 60 * AUDIO_BYTES_PER_S) + AUDIO_OVERHEAD_BYTES


def audio_too_big(name: str, size: int, max_minutes: float) -> str | None:
    """The one line refusing an audio file of `size` bytes, or None when it is within the bound."""
    limit = max_audio_bytes(max_minutes)
    if size <= limit:
        return None
    return (
        f"{name} is {size / 1e6:,.1f} MB; the most an audio file may take is {limit / 1e6:,.1f} MB "
        f"({max_minutes:g} min at up to {AUDIO_BYTES_PER_S * 8 / 1e6:g} Mbit/s: pipeline.max_audio_minutes)"
    )


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class PipelineConfig(_Section):
    fast_mode: bool = Field(
        default=False, description="seed switch: start from the 'quick' preset; explicit keys still win"
    )
    skip_image_generation: bool = False
    limit_images: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="render only the first N keyframes now; the rest stay pending"
    )
    virality_evaluation: bool = Field(default=True, description="forum evidence; content score always runs")
    use_api_images: bool = Field(default=False, description="seed switch: images from an API provider")
    background_full_render: bool = Field(
        default=False, description="after a preview, keep rendering the pending frames"
    )
    scenes: Annotated[int, Field(ge=3, le=10)] = 5
    max_audio_minutes: Annotated[float, Field(gt=0, le=MAX_AUDIO_MINUTES)] = Field(
        default=30.0, description="longer audio is refused; also bounds the file's size (max_audio_bytes)"
    )

    @property
    def max_audio_bytes(self) -> int:
        return max_audio_bytes(self.max_audio_minutes)


class ImageGenerationConfig(_Section):
    provider: ImageProviderName = "sketch"
    model: str | None = None
    limit_scenes: Annotated[int, Field(ge=0)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=64)] = 10
    width: Annotated[int, Field(ge=64, le=2048)] = 1344
    height: Annotated[int, Field(ge=64, le=2048)] = 768
    steps: Annotated[int, Field(ge=1, le=150)] | None = None
    guidance_scale: Annotated[float, Field(ge=0, le=30)] | None = None
    scheduler: str | None = None
    seed: int | None = Field(default=None, description="base seed; each frame derives its own from it")
    matched_end_frames: bool = Field(default=True, description="derive each end frame from its start frame")
    end_frame_strength: Annotated[float, Field(gt=0, le=1)] = 0.55
    timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = 120.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    base_url: str | None = Field(default=None, description="API base URL override (Stability, OpenAI, ...)")
    params: dict[str, Any] = Field(default_factory=dict, description="extra model inputs passed as is")
    precision: Literal["fp16", "bf16", "fp32"] = "fp16"
    compile: bool = False
    allow_download: bool = Field(default=False, description="diffusers: allow a hub download at run time")
    model_family: Literal["auto", "base", "turbo", "lightning", "lcm"] = Field(
        default="auto",
        description="diffusers: SDXL family, picks default steps/guidance/scheduler ('auto': from the model name)",
    )
    max_batch: Annotated[int, Field(ge=1, le=64)] = Field(
        default=8, description="diffusers: most images in one pipeline call (halved on out-of-memory)"
    )
    device: Literal["auto", "cuda", "mps", "cpu"] = Field(
        default="auto", description="diffusers: where to run ('auto': cuda > mps > cpu)"
    )
    model_cache_dir: str | None = Field(
        default=None,
        description="diffusers: where an s3:// model is synced to (default: ~/.cache/storyreel/models)",
    )
    # The same subject in every shot (services/images/render.py): a reference image conditions the frames.
    subject_reference: Literal["off", "first-frame", "given"] = Field(
        default="off",
        description="first-frame: the first rendered keyframe (s1-start) conditions the others; given: the "
        "image stored as the run's reference/subject.png (storyreel run --reference FILE)",
    )
    ip_adapter: str | None = Field(
        default=None,
        description="diffusers: the IP-Adapter that carries the reference (a folder or hub id, e.g. h94/IP-Adapter)",
    )
    ip_adapter_subfolder: str = Field(default="sdxl_models", description="diffusers: where its weights are")
    ip_adapter_weight: str = Field(default="ip-adapter_sdxl.safetensors", description="diffusers: its file")
    ip_adapter_scale: Annotated[float, Field(ge=0, le=2)] = Field(
        default=0.6, description="diffusers: how strongly the reference conditions a frame"
    )

    @model_validator(mode="before")
    @classmethod
    def _alias_provider(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("provider"), str):
            data = dict(data)
            data["provider"] = _PROVIDER_ALIASES.get(data["provider"].lower(), data["provider"].lower())
        return data


class ClipsConfig(_Section):
    """Clips (services/clips): the motion between each scene's start and end keyframe, an mp4 per scene."""

    provider: ClipProviderName = Field(
        default="off", description="off | replicate | diffusers (local GPU) | batch (the GPU worker, cloud)"
    )
    model: str | None = Field(
        default=None, description="replicate: one of services/clips/models.py; diffusers: a Wan FLF2V folder"
    )
    max_concurrency: Annotated[int, Field(ge=1, le=64)] = Field(
        default=4, description="most clips generating at once"
    )
    seconds: Annotated[float, Field(gt=0, le=60)] | None = Field(
        default=None,
        description="every clip's length; None: each scene's duration, as the nearest length the model allows",
    )
    resolution: str | None = Field(
        default=None, description="as the model names it (720p); None: its default"
    )
    timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = Field(
        default=900.0, description="one clip, from creating the prediction to the downloaded mp4"
    )
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    max_bytes: Annotated[int, Field(ge=1024, le=2 * 1024**3)] = Field(
        default=200 * 1024 * 1024, description="the most one clip's download may take"
    )
    base_url: str | None = Field(default=None, description="Replicate API base URL override")
    params: dict[str, Any] = Field(default_factory=dict, description="extra model inputs passed as is")
    # diffusers (Wan 2.1 FLF2V)
    frames: Annotated[int, Field(ge=5, le=241)] = Field(
        default=81, description="diffusers: frames per clip (4k+1 for Wan)"
    )
    fps: Annotated[int, Field(ge=1, le=60)] = 16
    steps: Annotated[int, Field(ge=1, le=150)] = 30
    guidance_scale: Annotated[float, Field(ge=0, le=30)] = 5.0
    width: Annotated[int, Field(ge=16, le=2048)] = 832
    height: Annotated[int, Field(ge=16, le=2048)] = 480
    precision: Literal["fp16", "bf16", "fp32"] = "bf16"
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    allow_download: bool = Field(default=False, description="diffusers: allow a hub download at run time")


class TranscriptionConfig(_Section):
    provider: TranscriberName = Field(
        default="auto",
        description="auto: whisper when a Whisper model is on this machine, else local (pocketsphinx); "
        "local | whisper (faster-whisper) | openai",
    )
    model: str | None = Field(
        default=None,
        description="whisper: a size (tiny.en, base.en, small, ...; default base.en), a model folder or "
        "s3://bucket/prefix; openai: whisper-1 (default), gpt-4o-transcribe, ...",
    )
    compute_type: Literal["auto", "int8", "int8_float16", "int16", "float16", "float32"] = Field(
        default="auto", description="whisper: CTranslate2 compute type (auto: int8 on CPU, float16 on a GPU)"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    beam_size: Annotated[int, Field(ge=1, le=10)] = Field(default=5, description="whisper: beam width")
    vad_filter: bool = Field(default=True, description="whisper: skip silence (Silero VAD) before decoding")
    language: str | None = Field(default=None, description="ISO-639-1 hint, e.g. 'en'")
    timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = 120.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    workers: Annotated[int, Field(ge=1, le=64)] | None = Field(
        default=None, description="parallel decoders for long audio (default: all cores)"
    )


class LLMConfig(_Section):
    provider: PlannerName = "local"
    model: str = "gpt-4o"
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.4
    timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = 60.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3


class ViralityConfig(_Section):
    forums: list[str] = Field(
        default_factory=lambda: ["reddit:r/videos", "reddit:r/youtube", "reddit:r/videoediting", "hackernews"]
    )
    topic_subreddits: bool = Field(default=True, description="add subreddits chosen from the keywords")
    limit_forums: Annotated[int, Field(ge=1)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=50)] = 4
    cache_ttl_hours: Annotated[float, Field(ge=0, le=24 * 365)] = 24.0
    time_budget_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = 8.0
    posts_per_forum: Annotated[int, Field(ge=1, le=50)] = 10
    firecrawl_api_url: str | None = None
    # Added by the virality work (additive, defaults keep older configs valid).
    provider: EvidenceSourceName = Field(
        default="auto",
        description="auto: Firecrawl when FIRECRAWL_API_KEY or firecrawl_api_url is set, else no forum evidence; "
        "firecrawl: always Firecrawl (HN/Reddit JSON as fallbacks when it refuses a site); "
        "public: HN Algolia + Reddit JSON only",
    )
    request_timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = 5.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = Field(
        default=2, description="retries after a 429/5xx (Retry-After honoured within the time budget)"
    )
    max_topic_subreddits: Annotated[int, Field(ge=0, le=10)] = 2
    hn_api_url: str = "https://hn.algolia.com/api/v1"
    reddit_base_url: str = "https://www.reddit.com"
    user_agent: str = "storyreel/0.1 (virality evidence; +https://github.com/storyreel)"


class OptimizerConfig(_Section):
    enabled: bool = True
    policy: Literal["thompson"] = "thompson"
    prediction_weight: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.3, description="weight of a predicted-virality reward relative to a real engagement reward"
    )
    # Added by the optimizer work (additive).
    prior_strength: Annotated[float, Field(ge=0, le=1e6)] = Field(
        default=4.0,
        description="pseudo-observations a context bucket borrows from the pooled (all-context) arm",
    )
    memory: Annotated[float, Field(gt=0, le=1e9)] = Field(
        default=1e6,
        description="hard cap on observations kept per arm and context (a backstop: drift is followed by the "
        "optimizer's drift detector, which forgets only when rewards fall below the prediction)",
    )
    max_runs_tracked: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=500, description="runs whose contributions are kept so real feedback can replace a prediction"
    )


class Settings(_Section):
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    image_generation: ImageGenerationConfig = Field(default_factory=ImageGenerationConfig)
    transcription: TranscriptionConfig = Field(default_factory=TranscriptionConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    virality: ViralityConfig = Field(default_factory=ViralityConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    clips: ClipsConfig = Field(default_factory=ClipsConfig)
    preset: PresetName | None = None

    @model_validator(mode="after")
    def _seed_api_switch(self) -> Settings:
        # The seed's `use_api_images: true` meant "an API instead of local SDXL": its API was Replicate.
        if self.pipeline.use_api_images and self.image_generation.provider in ("sketch", "diffusers"):
            self.image_generation.provider = "replicate"
        return self

    # ---- derived views used by the stages
    @property
    def images_enabled(self) -> bool:
        return not self.pipeline.skip_image_generation

    def image_budget(self, total_frames: int) -> int:
        """How many keyframes to render now (the rest stay pending)."""
        if not self.images_enabled:
            return 0
        budget = total_frames
        if self.pipeline.limit_images is not None:
            budget = min(budget, self.pipeline.limit_images)
        if self.image_generation.limit_scenes is not None:
            budget = min(budget, 2 * self.image_generation.limit_scenes)
        return budget


# The seed's targets table: what each speed tier turns on.
PRESETS: dict[str, dict[str, Any]] = {
    # "< 10 s": prompts only, no images, no forum evidence.
    "preview": {"pipeline": {"skip_image_generation": True, "virality_evaluation": False}},
    # "< 30 s": the first keyframes now, the rest in the background; no forum evidence.
    "quick": {"pipeline": {"limit_images": 2, "virality_evaluation": False, "background_full_render": True}},
    # full storyboard: every keyframe, forum evidence.
    "full": {"pipeline": {"skip_image_generation": False, "limit_images": None, "virality_evaluation": True}},
}


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"config file {p} is a folder: give the path of the YAML file itself")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {p} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {p} is not valid YAML (not UTF-8 text)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise ConfigError(f"config file {p} is not valid YAML{at}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must be a mapping of sections, got {type(data).__name__}")
    return data


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """STORYREEL_PIPELINE__LIMIT_IMAGES=2 -> {"pipeline": {"limit_images": 2}} (values parsed as YAML)."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if name == f"{ENV_PREFIX}PRESET":
            out["preset"] = raw
            continue
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def _format_error(exc: ValidationError, origin: str) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        msg = f"unknown key '{key}'"
    else:
        got = first.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        msg = f"'{key}': {first['msg']}{shown}"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"config error in {origin}: {msg}{more}"


def validate_settings(data: Mapping[str, Any], origin: str = "settings") -> Settings:
    try:
        return Settings.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, origin)) from None


def load_settings(
    config_file: str | Path | None = None,
    preset: str | None = None,
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings. Each layer is validated on its own first so an error names where it came from."""
    file_data = read_config_file(config_file) if config_file else {}
    env_data = env_overrides(environ)
    cli_data = dict(cli or {})
    layers = [
        (file_data, str(config_file)),
        (env_data, "environment (STORYREEL_*)"),
        (cli_data, "command line"),
    ]
    for data, origin in layers:
        validate_settings(data, origin)

    # A preset applies at the layer that names it: over every earlier layer, under that layer's own keys.
    # So `--preset full` on the command line beats the file's limit_images, while a file that says
    # `fast_mode: true` (the seed's switch for the quick preset) still keeps its own explicit keys.
    merged: dict[str, Any] = {}
    chosen: str | None = None
    for data, _ in [({"preset": preset} if preset else {}, "default"), *layers]:
        named = data.get("preset") or ("quick" if data.get("pipeline", {}).get("fast_mode") else None)
        if named is not None:
            if named not in PRESETS:
                raise ConfigError(f"unknown preset '{named}' (choose one of: {', '.join(PRESETS)})")
            merged = deep_merge(merged, PRESETS[named])
            chosen = named
        merged = deep_merge(merged, {k: v for k, v in data.items() if k != "preset"})
    if chosen is not None:
        merged["preset"] = chosen
    return validate_settings(merged, "merged settings")
