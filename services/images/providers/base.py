"""The image provider seam. Every provider renders a list of requests and returns one result per request,
in order; a failure of one frame is that frame's result, never an exception for the whole batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class ImageRequest:
    frame_id: str  # "s1-start"
    prompt: str
    negative_prompt: str
    width: int
    height: int
    seed: int
    init_image: bytes | None = None  # PNG of the scene's start frame, for a matched end frame
    strength: float = 0.55  # img2img strength for the end frame
    reference_image: bytes | None = (
        None  # PNG of the subject every frame shows (the same subject in every shot)
    )
    meta: dict[str, Any] = field(default_factory=dict)  # scene index/title, role, palette (for the sketch)


@dataclass
class ImageResult:
    frame_id: str
    png: bytes | None
    seconds: float
    seed: int
    model: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.png is not None and self.error is None


class ImageProvider(Protocol):
    name: str
    placeholder: bool  # True for the sketch renderer: a panel, not generated art
    supports_init_image: bool  # can derive the end frame from the start frame (img2img)

    @property
    def model(self) -> str | None:  # read-only: providers with a fixed or a required model hold a str
        ...

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]: ...
