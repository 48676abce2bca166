"""Image providers: one module per outside service, plus the embedded default. Declared once, below; the settings
Literal `image_generation.provider` names the same providers (shared/settings.py ImageProviderName)."""

from __future__ import annotations

from storyreel.services.images.providers.base import ImageProvider
from storyreel.shared.errors import ConfigError
from storyreel.shared.registry import ProviderSpec, Registry
from storyreel.shared.secrets import OPENAI, REPLICATE, STABILITY
from storyreel.shared.settings import ImageGenerationConfig, ImageProviderName


def _sketch(config: ImageGenerationConfig) -> ImageProvider:
    from storyreel.services.images.providers.sketch import SketchRenderer

    return SketchRenderer()


def _replicate(config: ImageGenerationConfig) -> ImageProvider:
    from storyreel.services.images.providers.replicate import ReplicateProvider

    return ReplicateProvider(config)


def _stability(config: ImageGenerationConfig) -> ImageProvider:
    from storyreel.services.images.providers.stability import StabilityProvider

    return StabilityProvider(config)


def _openai(config: ImageGenerationConfig) -> ImageProvider:
    from storyreel.services.images.providers.openai import OpenAIImagesProvider

    return OpenAIImagesProvider(config)


def _diffusers(config: ImageGenerationConfig) -> ImageProvider:
    from storyreel.services.images.providers.diffusers import DiffusersProvider

    return DiffusersProvider(config)


def _batch(config: ImageGenerationConfig) -> ImageProvider:
    raise ConfigError(
        "image provider 'batch' renders in an AWS Batch job; locally use --image-provider diffusers (GPU) "
        "or an API provider (replicate, stability, openai)"
    )


IMAGE_PROVIDERS: Registry[ImageGenerationConfig, ImageProvider] = Registry(
    "image_provider",
    "image_generation.provider",
    ImageProviderName,
    [
        ProviderSpec("sketch", "storyboard panels drawn with Pillow: offline, no key", _sketch),
        ProviderSpec(
            "replicate",
            "Replicate predictions (default black-forest-labs/flux-schnell)",
            _replicate,
            key=REPLICATE,
            extra="providers",
            sdks=("replicate",),
        ),
        ProviderSpec("stability", "Stability AI Stable Image (core, ultra, SD3)", _stability, key=STABILITY),
        ProviderSpec(
            "openai", "OpenAI images (gpt-image-1)", _openai, key=OPENAI, extra="providers", sdks=("openai",)
        ),
        ProviderSpec(
            "diffusers",
            "SDXL with diffusers on a local GPU",
            _diffusers,
            extra="gpu",
            sdks=("torch", "diffusers", "transformers", "safetensors", "accelerate"),
        ),
        ProviderSpec("batch", "the diffusers GPU worker as an AWS Batch job (cloud only)", _batch),
    ],
)
