"""The Replicate clip models: one table of each model's first/last-frame inputs, allowed lengths and resolutions.

Sources (consulted 2026-12-03): each model's API page on replicate.com (`/versions/<id>/api`, the input schema),
and where that page shows an enum without its values, the vendor's own API docs as mirrored by the listed page:
- minimax/hailuo-02 (version c43b610e): first_frame_image, last_frame_image, duration (default 6; "10 seconds is
  only available for 768p"), resolution 512p | 768p | 1080p (default 1080p). MiniMax's first/last-frame mode does
  not take 512P (docs.fast-token.com MiniMaxFirstLastFrameVideoGeneration, docs.toapis.com minimax-hailuo).
- kwaivgi/kling-o1 (version 6d5f2d4b): start_image, end_image (needs start_image), duration 5 | 10 for
  image-to-video; no resolution input (mode std | pro instead).
- bytedance/seedance-2.0 (version d456b64a): image, last_frame_image, duration an integer -1..15 (-1: the model
  picks; refused here, a clip's length must be known), resolution default 720p (the page lists no other value).
- google/veo-3.1 (version ed5b1767): image, last_frame, duration default 8 (4 | 6 | 8: api.core.today's listing
  of google/veo-3.1 on Replicate), resolution 720p | 1080p (default 1080p).
- luma/ray-flash-2-720p (version 7ad07d41): start_image, end_image, duration default 5 (5 | 9: fal.ai's schema
  of the same Luma model); the resolution is the model (720p), no input.
- pixverse/pixverse-v4 (version b6e0ce28): image, last_frame_image (needs image), quality 360p | 540p | 720p |
  1080p (default 540p), duration 5 | 8 ("1080p does not support 8 second duration").

Prices: USD per second of output, with the date and where it was read. Replicate's own per-model prices were not
in the sources consulted; a model whose price is None gets no cost estimate (Clip.cost_usd stays None) rather
than a guessed one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storyreel.shared.errors import ConfigError


@dataclass(frozen=True)
class ClipModel:
    name: str  # owner/name on Replicate
    start_field: str
    end_field: str
    durations: tuple[int, ...]  # seconds the model accepts
    default_duration: int
    resolutions: tuple[str, ...]  # () = the model takes no resolution input
    default_resolution: str | None
    fixed_resolution: str | None = None  # what it renders when it takes no resolution input
    resolution_field: str | None = "resolution"
    duration_field: str = "duration"
    price_per_s: float | None = None  # USD per second of output
    priced: str = ""  # when and where the price was read
    rule: Callable[[int, str | None], str | None] | None = None  # a combination the model refuses -> why

    def output_resolution(self, resolution: str | None) -> str | None:
        return resolution or self.fixed_resolution


def _hailuo_rule(seconds: int, resolution: str | None) -> str | None:
    if seconds == 10 and resolution != "768p":
        return "10 s clips only at 768p"
    if resolution == "512p":
        return "first/last-frame clips are not made at 512p"
    return None


def _pixverse_rule(seconds: int, resolution: str | None) -> str | None:
    return "1080p does not take 8 s" if seconds == 8 and resolution == "1080p" else None


CLIP_MODELS: dict[str, ClipModel] = {
    m.name: m
    for m in (
        ClipModel(
            "minimax/hailuo-02",
            "first_frame_image",
            "last_frame_image",
            durations=(6, 10),
            default_duration=6,
            resolutions=("512p", "768p", "1080p"),
            default_resolution="768p",  # the page's default is 1080p, which cannot make 10 s; 768p takes both
            rule=_hailuo_rule,
        ),
        ClipModel(
            "kwaivgi/kling-o1",
            "start_image",
            "end_image",
            durations=(5, 10),
            default_duration=5,
            resolutions=(),
            default_resolution=None,
            resolution_field=None,
        ),
        ClipModel(
            "bytedance/seedance-2.0",
            "image",
            "last_frame_image",
            durations=tuple(range(1, 16)),
            default_duration=5,
            resolutions=("720p",),
            default_resolution="720p",
        ),
        ClipModel(
            "google/veo-3.1",
            "image",
            "last_frame",
            durations=(4, 6, 8),
            default_duration=8,
            resolutions=("720p", "1080p"),
            default_resolution="1080p",
            price_per_s=0.40,
            priced="2026-12-03, with audio (the model's default), docs.geekhub.mx video models (a reseller's list)",
        ),
        ClipModel(
            "luma/ray-flash-2-720p",
            "start_image",
            "end_image",
            durations=(5, 9),
            default_duration=5,
            resolutions=(),
            default_resolution=None,
            fixed_resolution="720p",
            resolution_field=None,
        ),
        ClipModel(
            "pixverse/pixverse-v4",
            "image",
            "last_frame_image",
            durations=(5, 8),
            default_duration=5,
            resolutions=("360p", "540p", "720p", "1080p"),
            default_resolution="540p",
            resolution_field="quality",
            rule=_pixverse_rule,
        ),
    )
}
DEFAULT_MODEL = "minimax/hailuo-02"


def clip_model(name: str | None) -> ClipModel:
    """The table's entry for `name` (owner/name, optionally :version), or a ConfigError naming the choices."""
    ref = (name or DEFAULT_MODEL).split(":", 1)[0]
    model = CLIP_MODELS.get(ref)
    if model is None:
        raise ConfigError(
            f"unknown clips.model {name!r} for replicate (choose one of: {', '.join(CLIP_MODELS)})"
        )
    return model


def nearest(durations: tuple[int, ...], want: float) -> int:
    """The allowed length closest to `want` (the longer one on a tie: a clip may be trimmed, not stretched)."""
    return min(durations, key=lambda d: (abs(d - want), -d))


def plan_clip(
    model: ClipModel, scene_seconds: float, seconds: float | None, resolution: str | None
) -> tuple[int, str | None]:
    """(seconds, resolution) for one clip: a length or resolution the model does not take is a ConfigError
    naming what it takes. `seconds` None: the scene's length, as the nearest one the model takes."""
    if seconds is None:
        length = nearest(model.durations, scene_seconds)
    elif float(seconds).is_integer() and int(seconds) in model.durations:
        length = int(seconds)
    else:
        raise ConfigError(
            f"clips.seconds {seconds:g} is not a length {model.name} makes "
            f"(it takes {_list(model.durations)} s)"
        )
    if resolution is not None and resolution not in model.resolutions:
        takes = f"it takes {', '.join(model.resolutions)}" if model.resolutions else "it takes no resolution"
        raise ConfigError(f"clips.resolution {resolution!r} is not one {model.name} makes ({takes})")
    res = resolution or model.default_resolution
    if model.rule is not None and (why := model.rule(length, res)) is not None:
        raise ConfigError(f"{model.name} cannot make a {length} s clip at {res}: {why}")
    return length, res


def _list(values: tuple[int, ...]) -> str:
    if len(values) > 4 and values == tuple(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(str(v) for v in values)
