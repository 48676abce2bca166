"""In-process providers and run contexts for tests and benchmarks: one set of fakes, used by tests/ and bench/.

    FakeTranscriber, FakePlanner, FakeImageProvider, FakeEvidence   one per stage Protocol; each can take a
                                                                    latency (seconds, or a callable drawing them)
    make_providers(...)     a Providers holding the instances given (the local runner, a RunContext, the worker)
    use_provider(...)       every settings choice of a registry builds `fake` (tests through a Lambda handler)
    make_context(root)      a RunContext over a folder of blobs and a SQLite state under `root`
    make_creative(**kw)     a CreativeContext with plain defaults; pass what the test is about

Nothing here is installed: pytest imports it from the repository root (pyproject's pythonpath), a bench script
puts the root on sys.path first.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PIL import Image
from storyreel.services.images.providers.base import ImageProvider, ImageRequest, ImageResult
from storyreel.services.scenes.providers.base import Planner
from storyreel.services.transcribe.providers.base import Transcriber
from storyreel.services.virality.providers.base import EvidenceSource
from storyreel.shared.contracts import (
    CreativeContext,
    Evidence,
    Frame,
    Scene,
    ScenePlan,
    Segment,
    SourceStatus,
    Transcript,
)
from storyreel.shared.errors import InputError
from storyreel.shared.pipeline import RunContext, StateStore
from storyreel.shared.registry import Providers, Registry
from storyreel.shared.settings import Settings, ViralityConfig
from storyreel.shared.stores import BlobStore, LocalBlobStore, SqliteStateStore

if TYPE_CHECKING:
    import pytest

P = TypeVar("P")
Delay = float | Callable[[], float]  # seconds, or a callable drawing them (one draw per call or per item)

BRIEF = (
    "We want a sixty second video for young runners about our new trail shoe. "
    "Start with a question, show the mud and the mountains, end on the logo. Keep it upbeat."
)


def _seconds(delay: Delay) -> float:
    return delay() if callable(delay) else delay


def png(color: str = "#888888", size: tuple[int, int] = (32, 18)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def make_creative(**kw: Any) -> CreativeContext:
    """A CreativeContext: plain values for every required field, `kw` for the ones a test is about."""
    fields: dict[str, Any] = {
        "title": "t",
        "subject": "s",
        "intent": "educate",
        "vibe": "warm",
        "content_style": "tutorial",
        "target_audience": "a",
    }
    return CreativeContext(**{**fields, **kw})


# --------------------------------------------------------------------------- one fake per stage Protocol
class FakeTranscriber:
    """Returns `text` as one segment (the input must exist, as for a real transcriber), or raises `error`."""

    def __init__(
        self,
        text: str = BRIEF,
        *,
        error: Exception | None = None,
        delay_s: Delay = 0.0,
        duration_s: float = 12.0,
        name: str = "fake",
    ) -> None:
        self.text, self.error, self.delay_s, self.name = text, error, delay_s, name
        self.duration_s = duration_s

    def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
        time.sleep(_seconds(self.delay_s))
        if self.error is not None:
            raise self.error
        if not audio_path.exists():
            raise InputError(f"audio file not found: {audio_path}")
        return Transcript(
            text=self.text,
            duration_s=self.duration_s,
            segments=[Segment(start=0, end=self.duration_s, text=self.text)],
            provider=self.name,
        )


class FakePlanner:
    """A fixed creative context (`creative`) and `n_scenes` plain scenes; `fail_scenes` makes scenes raise."""

    def __init__(
        self,
        *,
        creative: CreativeContext | None = None,
        fail_scenes: bool = False,
        delay_s: Delay = 0.0,
        scenes_delay_s: Delay | None = None,
        name: str = "fake",
    ) -> None:
        self.creative = creative or make_creative(
            title="Trail shoe teaser",
            subject="trail shoe",
            intent="sell",
            vibe="upbeat",
            content_style="short-form story",
            target_audience="young runners",
            keywords=["trail", "running", "shoe"],
            color_palette=["mud brown", "sky blue"],
        )
        self.fail_scenes, self.name = fail_scenes, name
        self.delay_s = delay_s
        self.scenes_delay_s = delay_s if scenes_delay_s is None else scenes_delay_s

    def extract_context(self, transcript: Transcript) -> CreativeContext:
        time.sleep(_seconds(self.delay_s))
        return self.creative.model_copy(deep=True)

    def write_scenes(
        self, transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int
    ) -> ScenePlan:
        time.sleep(_seconds(self.scenes_delay_s))
        if self.fail_scenes:
            raise RuntimeError("planner exploded")
        scenes = [
            Scene(
                index=i,
                title=f"Scene {i}",
                description=f"scene {i} of {context.subject}",
                duration=4.0,
                start_frame=Frame(
                    role="start", prompt=f"scene {i} start, {variant.get('hook_style', 'plain')}"
                ),
                end_frame=Frame(role="end", prompt=f"scene {i} end"),
            )
            for i in range(1, n_scenes + 1)
        ]
        return ScenePlan(scenes=scenes, variant=dict(variant), hook="Ever wondered?")


class FakeImageProvider:
    """A small PNG per request, or a failure for the frame ids in `fail`. Records each call's frame ids and whether
    each frame came with an init image; `concurrency` > 1 renders that many frames at once (threads)."""

    placeholder = False

    def __init__(
        self,
        fail: set[str] | None = None,
        *,
        delay_s: Delay = 0.0,
        concurrency: int = 1,
        supports_init_image: bool = True,
        error: str = "content policy refusal",
        name: str = "fake-images",
        model: str = "fake-1",
    ) -> None:
        self.fail = set(fail or ())
        self.delay_s, self.concurrency, self.error = delay_s, concurrency, error
        self.supports_init_image, self.name, self._model = supports_init_image, name, model
        self.png = png()
        self.calls: list[list[str]] = []
        self.init_images: dict[str, bool] = {}

    @property
    def model(self) -> str:
        return self._model

    def _one(self, req: ImageRequest) -> ImageResult:
        seconds = _seconds(self.delay_s)
        time.sleep(seconds)
        self.init_images[req.frame_id] = req.init_image is not None
        if req.frame_id in self.fail:
            return ImageResult(req.frame_id, None, seconds, req.seed, error=self.error)
        return ImageResult(req.frame_id, self.png, seconds, req.seed, model=self.model)

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        self.calls.append([r.frame_id for r in requests])
        if self.concurrency <= 1 or len(requests) <= 1:
            return [self._one(r) for r in requests]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._one, requests))


class FakeEvidence:
    """One post per keyword from every configured forum, the forums asked in parallel, each after `delay_s`."""

    def __init__(self, *, delay_s: Delay = 0.0, name: str = "fake-forums") -> None:
        self.delay_s, self.name = delay_s, name

    def _forum(self, forum: str, keywords: list[str]) -> tuple[list[Evidence], SourceStatus]:
        seconds = _seconds(self.delay_s)
        time.sleep(seconds)
        posts = [
            Evidence(source=forum, title=f"{k} thread", url=f"https://forum.test/{forum}/{k}")
            for k in keywords
        ]
        return posts, SourceStatus(source=forum, ok=True, items=len(posts), seconds=round(seconds, 3))

    def gather(
        self, keywords: list[str], config: ViralityConfig
    ) -> tuple[list[Evidence], list[SourceStatus]]:
        forums = list(config.forums)
        if not forums:
            return [], []
        with ThreadPoolExecutor(max_workers=len(forums)) as pool:
            answers = list(pool.map(lambda forum: self._forum(forum, keywords), forums))
        return [post for posts, _ in answers for post in posts], [status for _, status in answers]


# --------------------------------------------------------------------------- handing fakes to a run
def make_providers(
    *,
    transcriber: Transcriber | None = None,
    planner: Planner | None = None,
    images: ImageProvider | None = None,
    evidence: EvidenceSource | None = None,
) -> Providers:
    """The given instances (fakes, or a real provider built once) as a run's Providers; a stage left out builds
    what the settings name."""
    from storyreel.services.images.providers import IMAGE_PROVIDERS
    from storyreel.services.scenes.providers import PLANNERS
    from storyreel.services.transcribe.providers import TRANSCRIBERS
    from storyreel.services.virality.sources import EVIDENCE_SOURCES

    given = Providers()
    if transcriber is not None:
        given.add(TRANSCRIBERS, transcriber)
    if planner is not None:
        given.add(PLANNERS, planner)
    if images is not None:
        given.add(IMAGE_PROVIDERS, images)
    if evidence is not None:
        given.add(EVIDENCE_SOURCES, evidence)
    return given


def use_provider(
    monkeypatch: pytest.MonkeyPatch, registry: Registry[Any, P], fake: P, name: str | None = None
) -> P:
    """Make `registry` build `fake` for `name` (default: for every name, so whatever the settings choose) until
    the test ends: for code that builds its own RunContext (a Lambda handler, the CLI). Returns `fake`."""
    for chosen in [name] if name is not None else registry.names():
        spec = registry.get(chosen)
        monkeypatch.setitem(registry.specs, chosen, replace(spec, factory=lambda config: fake))
    return fake


def make_context(
    root: Path,
    *,
    run_id: str = "run-test",
    settings: Settings | None = None,
    blobs: BlobStore | None = None,
    state: StateStore | None = None,
    providers: Providers | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> RunContext:
    """A RunContext over `root`: blobs under root/runs, state in root/state.sqlite3 (unless given)."""
    ctx = RunContext(
        run_id=run_id,
        settings=settings if settings is not None else Settings(),
        blobs=blobs if blobs is not None else LocalBlobStore(root / "runs"),
        state=state if state is not None else SqliteStateStore(root / "state.sqlite3"),
        providers=providers if providers is not None else Providers(),
    )
    if progress is not None:
        ctx.progress = progress
    return ctx
