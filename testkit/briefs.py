"""Briefs the scene, image and page tests read, and a builder for a real run folder (stage seams + sketch frames
+ page)."""

from __future__ import annotations

from pathlib import Path

from storyreel.services.finalize.step import finalize
from storyreel.services.images import step as images_step
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.services.images.providers.sketch import SketchRenderer
from storyreel.services.scenes import step as scenes_step
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.contracts import (
    ArmPosterior,
    Evidence,
    NotEvaluated,
    OptimizerDecision,
    RunRecord,
    RunStatus,
    Segment,
    SourceStatus,
    StageTiming,
    Transcript,
    ViralityComponent,
    ViralityReport,
)
from storyreel.shared.pipeline import DECISION, TRANSCRIPT, VIRALITY, RunContext
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, put_model

from testkit.fakes import make_providers

# A real brief as people speak it: rambling, fillers, punctuated (an ASR service that punctuates).
RAMBLING_BRIEF = (
    "Okay, um, so this is a brief for a sixty second TikTok about our new oat milk latte. "
    "It's aimed at busy parents who need a calm moment in the morning. "
    "We want to sell it, you know, get people into the cafe. "
    "The vibe is like cozy and warm, kind of nostalgic. "
    "Colors should be terracotta, cream and sage green. "
    "Open with a close up of the latte art. "
    "Then show a barista pouring the oat milk, and then we see a mom taking the first sip by the window. "
    "After that, show the cafe counter with fresh pastries. "
    "Finally, end with our logo and say link in bio. "
    "Music wise, lo-fi beats with a little acoustic guitar, and a friendly voiceover."
)

# The same kind of brief as pocketsphinx writes it: lowercase, no punctuation, utterances cut at pauses.
ASR_UTTERANCES = [
    ("um so this is a brief for a youtube shorts video", 0.0, 3.1),
    ("about making cold brew coffee at home", 3.5, 5.8),
    ("it's for college students who don't have a lot of money", 6.4, 9.0),
    ("i want it to feel relaxed and fun", 9.6, 11.5),
    ("first we show the coarse ground beans in a mason jar", 12.1, 15.0),
    ("then pour cold water over them and stir", 15.4, 17.6),
    ("then the jar sits in the fridge overnight as a time lapse", 18.0, 21.0),
    ("next morning we strain it through a paper filter", 21.5, 24.0),
    ("end with the student sipping it and say follow for more cheap recipes", 24.6, 28.0),
    ("keep it around thirty seconds", 28.5, 30.0),
    ("earthy browns and cream colors with lo fi music", 30.4, 33.0),
]


def asr_transcript() -> Transcript:
    segs = [Segment(start=s, end=e, text=t) for t, s, e in ASR_UTTERANCES]
    return Transcript(
        text=" ".join(t for t, _, _ in ASR_UTTERANCES), duration_s=33.0, segments=segs, provider="sphinx"
    )


class FailOne(SketchRenderer):
    """The sketch renderer with one frame failing (a provider error on that frame only)."""

    def __init__(self, fail: str) -> None:
        self.fail = fail

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        out = super().render([r for r in requests if r.frame_id != self.fail])
        if any(r.frame_id == self.fail for r in requests):
            out.append(ImageResult(self.fail, None, 0.0, 0, self.model, "renderer said no <b>"))
        return out


HOSTILE = '<script>alert("x")</script>'


def build_run(
    root: Path, transcript: Transcript, *, limit_images: int = 6, fail: str | None = "s2-end"
) -> Path:
    """A run folder made by the real stage seams: context + scenes (local planner), images (sketch, the first
    `limit_images` frames; the rest pending; `fail` fails), a virality report and an optimizer decision with
    evidence, then finalize (storyboard.json + index.html). Returns the run's folder."""
    settings = Settings.model_validate({"pipeline": {"limit_images": limit_images, "scenes": 5}})
    blobs = LocalBlobStore(root)
    ctx = RunContext(
        run_id="run-test",
        settings=settings,
        blobs=blobs,
        state=None,
        providers=make_providers(planner=LocalPlanner(), images=FailOne(fail) if fail else SketchRenderer()),
    )
    put_model(blobs, ctx.key(TRANSCRIPT), transcript)
    scenes_step.context(ctx)
    decision = OptimizerDecision(
        variant={
            "hook_style": "question",
            "visual_style": "cinematic",
            "pacing": "balanced",
            "color_treatment": "warm",
        },
        posterior={
            "hook_style": {
                "question": ArmPosterior(alpha=3, beta=2, mean=0.6, pulls=3),
                "story": ArmPosterior(alpha=1, beta=1, mean=0.5, pulls=0),
            }
        },
        samples={"hook_style": {"question": 0.71, "story": 0.42}},
        exploration_probability={"hook_style": 0.35},
    )
    put_model(blobs, ctx.key(DECISION), decision)
    scenes_step.scenes(ctx)
    images_step.render(ctx)
    report = ViralityReport(
        score=62.5,
        confidence=0.4,
        components=[
            ViralityComponent(
                name="hook strength",
                score=70,
                weight=0.3,
                explanation=f"opens on a question {HOSTILE}",
                numbers={"hook_words": 9, "question": 1},
                evidence=[
                    Evidence(
                        source="hackernews",
                        title="Hooks that work",
                        url="https://news.ycombinator.com/item?id=1",
                        score=120,
                        comments=40,
                    ),
                    Evidence(
                        source="reddit:r/videos", title=f"bad link {HOSTILE}", url="javascript:alert(1)"
                    ),
                ],
            )
        ],
        not_evaluated=[NotEvaluated(component="forum evidence", reason="virality_evaluation is off")],
        sources=[SourceStatus(source="hackernews", ok=False, error="timed out")],
    )
    put_model(blobs, ctx.key(VIRALITY), report)
    record = RunRecord(
        run_id="run-test",
        status=RunStatus.succeeded,
        source="brief.wav",
        output_dir=str(root / "run-test"),
        stages={
            "context": StageTiming(status="succeeded", seconds=0.012, detail="10 keywords"),
            "images": StageTiming(status="succeeded", seconds=0.2, detail=f"{limit_images} frames"),
        },
    )
    finalize(ctx, record)
    return root / "run-test"
