"""Pydantic v2 contracts: the only things that cross a stage boundary.

Field names for the creative context and scenes follow the seed (intent, vibe, content_style, target_audience,
visual_elements, color_palette, sound_preferences; per scene description, start/end frame prompts, transition,
duration) so its files and prompts carry over.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = "1.0"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base for every contract: unknown fields are an error, so a typo never passes silently.

    defer_build: a model's validator is built when it is first used, not at import; a Lambda handler imports
    every contract and uses a few (cold start)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


# --------------------------------------------------------------------------- transcript
class Word(Contract):
    """One recognised word with its time (Whisper's word timestamps, local or through the OpenAI API)."""

    start: Annotated[float, Field(ge=0, description="seconds from the start of the audio")]
    end: Annotated[float, Field(ge=0)]
    text: str
    probability: float | None = Field(default=None, ge=0, le=1)


class Segment(Contract):
    start: Annotated[float, Field(ge=0, description="seconds from the start of the audio")]
    end: Annotated[float, Field(ge=0)]
    text: str
    confidence: float | None = Field(default=None, ge=0, le=1)
    speaker: str | None = Field(
        default=None, description="who said it, where the input names speakers (a meeting transcript)"
    )
    words: list[Word] = Field(default_factory=list, description="the words with their times, where known")


class AudioWarning(Contract):
    """The audio ended before its header said it would, or ffmpeg reported damage while decoding it. The run
    used what could be read; a file with nothing decodable in it is refused instead."""

    message: str = Field(description="one line for a reader: what was wrong and how much was read")
    decoded_s: float = Field(ge=0, description="seconds of audio that could be decoded")
    declared_s: float | None = Field(
        default=None, ge=0, description="seconds the file's header declares (None: it does not say)"
    )
    decode_errors: int = Field(
        default=0, ge=0, description="decoding errors and corrupt packets ffmpeg reported"
    )


class Transcript(Contract):
    text: str
    language: str = "en"
    duration_s: float = Field(ge=0, description="duration of the audio in seconds")
    segments: list[Segment] = Field(default_factory=list)
    provider: str = "local"
    model: str | None = None
    audio_warning: AudioWarning | None = Field(
        default=None, description="set when the audio was truncated or damaged: only part of it was read"
    )
    timed: bool = Field(
        default=True,
        description="False: a typed brief without times (its segments' start and end are 0, duration_s 0)",
    )
    selection: str | None = Field(
        default=None, description="why this transcriber ran (transcription.provider auto, or a typed brief)"
    )


# --------------------------------------------------------------------------- context
class StatedLever(Contract):
    """A creative lever the brief decided itself ("the look is neon" decides visual_style)."""

    lever: str = Field(description="hook_style, visual_style, pacing or color_treatment")
    said: str = Field(description="the brief's words that decide it, e.g. 'neon, rainy city at night'")


class CreativeContext(Contract):
    """What the speaker wants. Seed field names; lists stay lists so prompts can pick from them."""

    title: str = Field(description="a short working title derived from the brief")
    subject: str = Field(description="the main subject of the video, as the speaker named it")
    intent: str = Field(description="what the video is for (educate, sell, entertain, inspire, document...)")
    vibe: str = Field(description="the mood in a few words")
    content_style: str = Field(description="format, e.g. tutorial, vlog, product demo, short-form story")
    target_audience: str
    visual_elements: list[str] = Field(default_factory=list)
    color_palette: list[str] = Field(default_factory=list, description="colour names or hex codes")
    sound_preferences: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    tone: Literal["positive", "neutral", "negative"] = "neutral"
    sentiment: float = Field(default=0.0, ge=-1, le=1, description="-1 (negative) .. 1 (positive)")
    platform: str | None = Field(default=None, description="target platform if the speaker named one")
    target_duration_s: float | None = Field(default=None, ge=0, description="length the speaker asked for")
    missing: list[str] = Field(
        default_factory=list, description="fields the brief did not say anything about (filled with defaults)"
    )
    stated_levers: list[StatedLever] = Field(
        default_factory=list,
        description="the creative levers the brief itself decided (a look, a palette, a pace, a kind of opening), "
        "each with the brief's words; the optimizer chooses only the others",
    )

    def stated(self) -> dict[str, str]:
        """stated_levers as lever -> the brief's words."""
        return {s.lever: s.said for s in self.stated_levers}


# --------------------------------------------------------------------------- optimizer decision
class ArmPosterior(Contract):
    alpha: float
    beta: float
    mean: float
    pulls: int = 0


class OptimizerDecision(Contract):
    """Which creative variant a run uses, and why (the full posterior at decision time)."""

    policy: str = "thompson"
    variant: dict[str, str] = Field(description="lever -> chosen arm, e.g. hook_style -> question")
    context_features: dict[str, str] = Field(default_factory=dict)
    posterior: dict[str, dict[str, ArmPosterior]] = Field(default_factory=dict)
    samples: dict[str, dict[str, float]] = Field(default_factory=dict, description="the draw per arm")
    exploration_probability: dict[str, float] = Field(
        default_factory=dict,
        description="per lever: probability the chosen arm is not the posterior-mean best",
    )
    free_levers: list[str] | None = Field(
        default=None,
        description="the levers the brief left open, the only ones in `variant` (None: recorded before the "
        "brief could state levers, every lever was free)",
    )
    decided_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- scenes and frames
class FrameStatus(StrEnum):
    pending = "pending"  # planned, not rendered yet (preview left it for later)
    rendered = "rendered"
    failed = "failed"
    skipped = "skipped"  # images were turned off for this run


class FrameVersion(Contract):
    """One kept rendering of a keyframe (`storyreel regenerate` adds one; `storyreel use` makes one current)."""

    version: int = Field(ge=1, description="1 is the first rendering; each re-render adds the next")
    created_at: datetime = Field(default_factory=utcnow)
    prompt: str
    negative_prompt: str = ""
    image_key: str | None = Field(
        default=None, description="blob key of this version's PNG, relative to the run"
    )
    status: FrameStatus
    error: str | None = None
    seed: int | None = None
    provider: str | None = None
    model: str | None = None
    placeholder: bool = False
    render_seconds: float | None = None


# How a frame's seed was chosen (services/images/render.py): "scene" = the scene's start frame's seed, shared by
# its end frame; "given" = a seed a person gave (storyreel regenerate --seed); "run" = one seed for every frame.
SeedPolicy = Literal["scene", "given", "run"]


class Frame(Contract):
    role: Literal["start", "end"]
    prompt: str
    negative_prompt: str = ""
    image_key: str | None = Field(default=None, description="blob key of the PNG, relative to the run")
    status: FrameStatus = FrameStatus.pending
    error: str | None = None
    seed: int | None = None
    provider: str | None = None
    model: str | None = None
    placeholder: bool = Field(default=False, description="true for the sketch renderer: not generated art")
    render_seconds: float | None = None
    version: int | None = Field(
        default=None, description="which of `versions` is current (None: never re-rendered, no history kept)"
    )
    versions: list[FrameVersion] = Field(
        default_factory=list, description="every kept rendering of this frame, oldest first"
    )
    reference: str | None = Field(
        default=None,
        description="the subject reference that conditioned this frame: a blob key relative to the run "
        "(reference/…png, or frames/s1-start.png, the first rendered frame of the subject); None: none",
    )
    seed_policy: SeedPolicy | None = Field(
        default=None, description="how the seed was chosen (None: recorded before this field existed)"
    )


class ClipStatus(StrEnum):
    pending = "pending"  # asked for, not generated yet (or its prediction is still running)
    done = "done"
    failed = "failed"


class Clip(Contract):
    """The motion between a scene's start and end keyframes (services/clips), an mp4 in the run's blobs."""

    status: ClipStatus = ClipStatus.pending
    reason: str | None = Field(default=None, description="why it failed (one line)")
    video_key: str | None = Field(default=None, description="blob key of the mp4, relative to the run")
    provider: str | None = None
    model: str | None = None
    seconds: float | None = Field(default=None, gt=0, description="the clip's length as asked for")
    resolution: str | None = Field(default=None, description="as the model names it, e.g. 720p")
    prediction_id: str | None = Field(default=None, description="the vendor's id of the generation")
    render_seconds: float | None = Field(default=None, ge=0, description="wall time to generate it")
    cost_usd: float | None = Field(
        default=None, ge=0, description="estimate from the dated price table (services/clips/models.py)"
    )


class Scene(Contract):
    index: int = Field(ge=1)
    title: str
    description: str
    start_frame: Frame
    end_frame: Frame
    transition: str = "cut"
    duration: float = Field(gt=0, description="seconds")
    camera: str = ""
    narration: str = Field(default="", description="the part of the brief this scene comes from")
    locked: bool = Field(
        default=False, description="re-planning keeps this scene, in its position, and its frames"
    )
    clip: Clip | None = Field(
        default=None,
        description="the motion clip from start to end keyframe (None: clips were not asked for)",
    )

    def frames(self) -> list[Frame]:
        return [self.start_frame, self.end_frame]


class ScenePlan(Contract):
    scenes: list[Scene] = Field(min_length=1)
    variant: dict[str, str] = Field(default_factory=dict)
    hook: str = Field(default="", description="the opening line the plan leads with")


# --------------------------------------------------------------------------- edits
EditAction = Literal["edit", "insert", "move", "delete", "lock", "unlock", "regenerate", "use", "replan"]


class Edit(Contract):
    """One change a person made to a run after it finished (edits.json, listed in storyboard.json)."""

    at: datetime = Field(default_factory=utcnow)
    action: EditAction
    target: str = Field(description="what changed: a scene (s3), a frame (s3-end) or the run (transcript)")
    changes: dict[str, str] = Field(
        default_factory=dict, description="field -> its new value (as text); a move names from/to"
    )


class RenderJob(Contract):
    """A frame re-render handed to the GPU queue (POST .../regenerate on diffusers/batch in the cloud), kept at
    renders/<frame_id>.json while it renders; a failed one stays there with `error` until the next re-render."""

    frame_id: str = Field(description="the frame asked for (s3-start)")
    frames: list[str] = Field(description="every frame it renders: the asked one (and its end: with_end)")
    status: Literal["rendering", "failed"] = "rendering"
    provider: str
    seed: int | None = None
    prompt: str | None = Field(default=None, description="the new prompt (None: the frame's own)")
    with_end: bool = False
    job_id: str | None = Field(default=None, description="the AWS Batch job rendering it")
    requested_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    error: str | None = Field(default=None, description="why it failed (one line); the current one is kept")


# --------------------------------------------------------------------------- virality
class Evidence(Contract):
    source: str = Field(description="forum or site, e.g. reddit:r/videos, hackernews")
    title: str
    url: str
    score: int | None = Field(default=None, description="upvotes / points")
    comments: int | None = None
    age_days: float | None = None
    snippet: str = ""


class ViralityComponent(Contract):
    name: str
    score: float = Field(ge=0, le=100)
    weight: float = Field(ge=0)
    explanation: str
    numbers: dict[str, float] = Field(default_factory=dict)
    evidence: list[Evidence] = Field(default_factory=list)


class NotEvaluated(Contract):
    component: str
    reason: str


class SourceStatus(Contract):
    source: str
    ok: bool
    items: int = 0
    seconds: float | None = None
    error: str | None = None
    cached: bool = False
    via: str | None = Field(
        default=None, description="which provider answered: firecrawl, hn-algolia, reddit-json"
    )
    fallback_from: str | None = Field(default=None, description="why the primary provider was not used")


class ViralityReport(Contract):
    score: float | None = Field(
        ge=0, le=100, description="weighted over the evaluated components; None if none"
    )
    confidence: float = Field(ge=0, le=1)
    components: list[ViralityComponent] = Field(default_factory=list)
    not_evaluated: list[NotEvaluated] = Field(default_factory=list)
    sources: list[SourceStatus] = Field(default_factory=list)
    variant: dict[str, str] = Field(default_factory=dict)
    method: str = "content-only"
    keywords: list[str] = Field(
        default_factory=list, description="the search terms the evidence was gathered for"
    )


# --------------------------------------------------------------------------- run record
class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class StageTiming(Contract):
    status: Literal["running", "succeeded", "failed", "skipped"] = "running"
    started_at: datetime | None = None
    seconds: float | None = None
    detail: str = ""


class RunError(Contract):
    stage: str
    message: str
    kind: Literal["user", "provider", "internal"] = "internal"


class Usage(Contract):
    provider: str
    model: str
    stage: str
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 1
    images: int = 0
    audio_seconds: float = 0.0
    cost_usd: float | None = Field(default=None, description="estimate from the published price table")


# The most any engagement count may be: 10^11, past every video's views to date (~1.6e10) by a wide margin,
# and far inside what the reward's arithmetic and a JSON number hold exactly.
MAX_ENGAGEMENT_COUNT = 10**11
# Strict: a count is an integer, never `true` or "100" (a JSON body is parsed with real types).
EngagementCount = Annotated[int, Field(strict=True, ge=0, le=MAX_ENGAGEMENT_COUNT)]


class Engagement(Contract):
    """Real engagement of a published video. Each count is 0..MAX_ENGAGEMENT_COUNT; likes, comments and shares
    cannot exceed views."""

    views: EngagementCount
    likes: EngagementCount = 0
    comments: EngagementCount = 0
    shares: EngagementCount = 0
    recorded_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _counts_fit_views(self) -> Engagement:
        over = [n for n in ("likes", "comments", "shares") if getattr(self, n) > self.views]
        if over:
            raise ValueError(f"{', '.join(over)} cannot exceed views ({self.views})")
        return self


class FrameCounts(Contract):
    total: int = 0
    rendered: int = 0
    pending: int = 0
    failed: int = 0
    skipped: int = 0


class RunRecord(Contract):
    run_id: str
    status: RunStatus = RunStatus.queued
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    source: str = Field(description="where the audio came from (path or s3 uri)")
    output_dir: str = Field(description="where the run's blobs live (directory or s3://bucket/prefix)")
    options: dict = Field(default_factory=dict, description="the resolved settings of the run")
    stages: dict[str, StageTiming] = Field(default_factory=dict)
    error: RunError | None = None
    frames: FrameCounts = Field(default_factory=FrameCounts)
    usage: list[Usage] = Field(default_factory=list)
    virality_score: float | None = None
    variant: dict[str, str] = Field(default_factory=dict)
    feedback: Engagement | None = None
    title: str | None = None
    ready_s: float | None = Field(
        default=None, description="seconds from the run's start until storyboard.json was first written"
    )
    owner: str = Field(
        default="local",
        description="who made the run (the API caller's Cognito sub or API key id; 'local' for the CLI and serve)",
    )
    revision: int = Field(
        default=0,
        ge=0,
        description="bumped by every edit (a conditional write on the run record; an edit sends the one it saw)",
    )


# --------------------------------------------------------------------------- storyboard
class Storyboard(Contract):
    """storyboard.json: everything a person needs to act on the plan. Schema shipped in shared/schema/."""

    schema_version: str = SCHEMA_VERSION
    run_id: str
    created_at: datetime = Field(default_factory=utcnow)
    status: RunStatus
    title: str
    transcript: Transcript
    context: CreativeContext
    decision: OptimizerDecision | None = None
    scenes: list[Scene]
    virality: ViralityReport | None = None
    timings: dict[str, StageTiming] = Field(default_factory=dict)
    frames: FrameCounts = Field(default_factory=FrameCounts)
    usage: list[Usage] = Field(default_factory=list)
    error: RunError | None = None
    notes: list[str] = Field(
        default_factory=list, description="what a reader should know (placeholders, pending)"
    )
    hook: str = Field(default="", description="the opening line the scene plan leads with")
    variant: dict[str, str] = Field(
        default_factory=dict, description="the creative variant the scenes were written with"
    )
    edits: list[Edit] = Field(
        default_factory=list, description="every change made after the run (edit, regenerate, use, replan)"
    )


# --------------------------------------------------------------------------- exports (services/export)
EXPORT_ID_PATTERN = r"^[0-9a-f]{16}$"


class ExportStatus(StrEnum):
    queued = "queued"  # POST /runs/{id}/exports answered 202; the Export Lambda (or serve's worker) has it
    running = "running"
    done = "done"  # every asked file is under runs/<id>/exports/<export_id>/ (written before this status)
    failed = "failed"  # `error` says why; nothing of it is left under its folder


class ExportRecord(Contract):
    """One export of a run (POST /runs/{id}/exports), kept beside the run record (shared/stores.py)."""

    run_id: str
    export_id: str = Field(pattern=EXPORT_ID_PATTERN)
    status: ExportStatus = ExportStatus.queued
    formats: list[str]
    options: dict = Field(default_factory=dict, description="services/export ExportOptions, as asked")
    files: list[str] = Field(default_factory=list, description="names under runs/<id>/exports/<export_id>/")
    notes: list[str] = Field(default_factory=list)
    error: str | None = Field(default=None, description="why it failed, one line")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
