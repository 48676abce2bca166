"""The clip provider seam. A provider turns each request (a scene's start and end keyframe, a prompt, a length)
into an mp4; one result per request, in order; a failed clip is that clip's result, never an exception for the
whole set. Requests are checked (`check`) before any is sent, so a length or resolution the model does not make
is one error before anything is spent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from storyreel.shared.contracts import Usage


@dataclass
class ClipRequest:
    scene_index: int
    prompt: str
    negative_prompt: str
    start_png: bytes
    end_png: bytes
    scene_seconds: float  # the scene's planned length
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClipResult:
    scene_index: int
    mp4: bytes | None
    seconds: float  # the clip's length as asked for
    resolution: str | None
    render_seconds: float  # wall time
    model: str | None = None
    prediction_id: str | None = None
    cost_usd: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.mp4 is not None and self.error is None


class ClipProvider(Protocol):
    name: str
    usage: list[Usage]

    @property
    def model(self) -> str | None: ...

    def check(self, requests: list[ClipRequest]) -> None:
        """Raise ConfigError (one line) when any request asks for what the model does not make."""
        ...

    def generate(self, requests: list[ClipRequest]) -> list[ClipResult]: ...
