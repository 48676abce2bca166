"""Clip providers, declared once below; the settings Literal `clips.provider` names the same ones
(shared/settings.py ClipProviderName)."""

from __future__ import annotations

from storyreel.services.clips.providers.base import ClipProvider
from storyreel.shared.errors import ConfigError
from storyreel.shared.registry import ProviderSpec, Registry
from storyreel.shared.secrets import REPLICATE
from storyreel.shared.settings import ClipProviderName, ClipsConfig


def _off(config: ClipsConfig) -> ClipProvider:
    raise ConfigError("clips are off (clips.provider: off): choose --clips replicate, diffusers or batch")


def _replicate(config: ClipsConfig) -> ClipProvider:
    from storyreel.services.clips.providers.replicate import ReplicateClips

    return ReplicateClips(config)


def _diffusers(config: ClipsConfig) -> ClipProvider:
    from storyreel.services.clips.providers.diffusers import WanClips

    return WanClips(config)


def _batch(config: ClipsConfig) -> ClipProvider:
    raise ConfigError(
        "clip provider 'batch' generates in an AWS Batch job; locally use --clips diffusers (GPU) or replicate"
    )


CLIP_PROVIDERS: Registry[ClipsConfig, ClipProvider] = Registry(
    "clip_provider",
    "clips.provider",
    ClipProviderName,
    [
        ProviderSpec("off", "no clips (the default)", _off),
        ProviderSpec(
            "replicate",
            "Replicate first/last-frame video models (default minimax/hailuo-02)",
            _replicate,
            key=REPLICATE,
            extra="providers",
            sdks=("replicate",),
        ),
        ProviderSpec(
            "diffusers",
            "Wan 2.1 first/last-frame-to-video with diffusers on a local GPU",
            _diffusers,
            extra="gpu",
            sdks=("torch", "diffusers", "transformers"),
        ),
        ProviderSpec("batch", "the diffusers GPU worker as an AWS Batch job (cloud only)", _batch),
    ],
)
