"""Small in-process providers for tests that exercise the runner's bookkeeping, not a provider."""

from __future__ import annotations

import io
import time
from pathlib import Path

from PIL import Image
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.shared.contracts import CreativeContext, Frame, Scene, ScenePlan, Segment, Transcript
from storyreel.shared.errors import InputError


class FakeTranscriber:
    name = "fake"

    def __init__(
        self, text: str = "a video about making sourdough bread at home", error: Exception | None = None
    ):
        self.text, self.error = text, error

    def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
        if self.error:
            raise self.error
        if not audio_path.exists():
            raise InputError(f"audio file not found: {audio_path}")
        return Transcript(
            text=self.text,
            duration_s=3.0,
            segments=[Segment(start=0, end=3.0, text=self.text)],
            provider="fake",
        )


class FakePlanner:
    name = "fake"

    def __init__(self, fail_scenes: bool = False, delay_s: float = 0.0):
        self.fail_scenes, self.delay_s = fail_scenes, delay_s

    def extract_context(self, transcript: Transcript) -> CreativeContext:
        time.sleep(self.delay_s)
        return CreativeContext(
            title="Sourdough at home",
            subject="sourdough bread",
            intent="educate",
            vibe="cozy",
            content_style="tutorial",
            target_audience="home bakers",
            visual_elements=["flour", "oven"],
            color_palette=["#c8a27a", "#3b2f2f"],
            keywords=["sourdough", "bread", "baking"],
        )

    def write_scenes(
        self, transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int
    ) -> ScenePlan:
        time.sleep(self.delay_s)
        if self.fail_scenes:
            raise RuntimeError("planner exploded")
        scenes = [
            Scene(
                index=i,
                title=f"Scene {i}",
                description=f"beat {i}",
                duration=4.0,
                start_frame=Frame(role="start", prompt=f"scene {i} start, sourdough"),
                end_frame=Frame(role="end", prompt=f"scene {i} end, sourdough"),
            )
            for i in range(1, n_scenes + 1)
        ]
        return ScenePlan(scenes=scenes, variant=dict(variant), hook="Ever wondered?")


def png(color: str = "#888888", size: tuple[int, int] = (32, 18)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


class FakeImageProvider:
    name = "fake-images"
    model = "fake-1"
    placeholder = False
    supports_init_image = True

    def __init__(self, fail: set[str] | None = None, delay_s: float = 0.0):
        self.fail = set(fail or ())
        self.delay_s = delay_s
        self.calls: list[list[str]] = []
        self.init_images: dict[str, bool] = {}

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        self.calls.append([r.frame_id for r in requests])
        out = []
        for r in requests:
            time.sleep(self.delay_s)
            self.init_images[r.frame_id] = r.init_image is not None
            if r.frame_id in self.fail:
                out.append(ImageResult(r.frame_id, None, 0.01, r.seed, error="content policy refusal"))
            else:
                out.append(ImageResult(r.frame_id, png(), 0.01, r.seed, model=self.model))
        return out
