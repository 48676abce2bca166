"""export step: a finished run's storyboard as files an editor, a printer or a player takes.

Reads storyboard.json and the keyframes (and any scene clips) from the run's blobs, makes each asked format
in a private folder (animatic.py, pdf.py, timeline.py, captions.py), and only then publishes the finished
files: under the run's `exports/` (the blob store; each blob written whole) or into a local folder (each file
written under a temporary name and renamed). A format that cannot be made for this run (an animatic of a run
with no rendered keyframe) is refused with the reason; the others are still written.

exports/: animatic.mp4 (+ animatic.srt), storyboard.pdf, timeline.otio, timeline.otioz, timeline.xml (FCP7
XML), timeline.edl, and media/ (the stills or clips the timelines point to).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from storyreel.services.export import captions, pdf, timeline
from storyreel.services.export.moves import camera_move, transition
from storyreel.services.export.timing import SIZES, scene_frames
from storyreel.shared.contracts import (
    ClipStatus,
    ExportRecord,
    ExportStatus,
    Frame,
    FrameStatus,
    Scene,
    Storyboard,
)
from storyreel.shared.errors import ConflictError, NotFoundError, StoryreelError, UserError
from storyreel.shared.ids import frame_id
from storyreel.shared.pipeline import STORYBOARD, RunContext
from storyreel.shared.stores import BlobStore, ExportStore, get_model

Format = Literal["mp4", "pdf", "otio", "otioz", "fcpxml", "edl"]
FORMATS: tuple[Format, ...] = get_args(Format)
Aspect = Literal["9:16", "16:9", "1:1"]
EXPORTS = "exports"
MAX_MEDIA_BYTES = 512 * 1024 * 1024  # one keyframe or clip read from the store
MAX_OUTPUT_BYTES = 2 * 1024 * 1024 * 1024  # one export published to the store
# Platform words (as the brief names them, lower case) -> the frame they publish in; first match wins.
PLATFORM_ASPECTS: tuple[tuple[str, Aspect], ...] = (
    (r"tiktok|reels?\b|shorts?\b|stories|story\b|snapchat|vertical", "9:16"),
    (r"instagram|square|feed", "1:1"),
    (r"youtube|vimeo|linkedin|twitter|\bx\b|facebook|landscape|widescreen|tv\b|web", "16:9"),
)
DEFAULT_ASPECT: Aspect = "16:9"
HEIGHTS = {"1080p": 1080, "720p": 720, "360p": 360}  # the short side of the frame


class ExportOptions(BaseModel):
    """What `storyreel export` and POST /runs/{id}/exports ask for."""

    model_config = ConfigDict(extra="forbid")

    formats: list[Format] = Field(default_factory=lambda: list(FORMATS), min_length=1)
    fps: Literal[24, 25, 30] = 24
    aspect: Aspect | None = Field(default=None, description="None: the run's platform's (9:16 for TikTok...)")
    audio: Literal["brief", "none"] = "none"
    captions: Literal["burn", "srt", "none"] = "srt"
    paper: pdf.Paper = "a4"
    size: Literal["1080p", "720p", "360p"] = "1080p"


@dataclass
class ExportResult:
    run_id: str
    written: list[str] = field(default_factory=list)  # names under the destination, e.g. animatic.mp4
    refused: dict[str, str] = field(default_factory=dict)  # format -> why it was not made
    notes: list[str] = field(default_factory=list)
    fps: int = 24
    size: tuple[int, int] = (0, 0)
    frames: int = 0


# --------------------------------------------------------------------------- where the files go
class Destination:
    """Where finished exports are published (names relative to it, e.g. media/s1-start.png)."""

    def publish(self, name: str, source: Path, content_type: str) -> None:
        raise NotImplementedError

    def file_url(self, name: str) -> str | None:
        """A file:// URL of `name` once published, where it lands on this machine's disk (else None)."""
        return None


class BlobDestination(Destination):
    """The run's exports/ (or a folder under it: one API export's) in its blob store (local files or S3)."""

    def __init__(self, ctx: RunContext, folder: str = EXPORTS) -> None:
        self.ctx = ctx
        self.folder = folder
        self.published: list[str] = []  # keys written so far (what remove() takes back)

    def key(self, name: str) -> str:
        return self.ctx.key(f"{self.folder}/{name}")

    def remove(self) -> None:
        """Delete every blob under this destination's folder (a failed export leaves nothing behind)."""
        for key in sorted({*self.published, *self.ctx.blobs.list(self.ctx.key(f"{self.folder}/"))}):
            self.ctx.blobs.delete(key)
        self.published.clear()

    def publish(self, name: str, source: Path, content_type: str) -> None:
        size = source.stat().st_size
        if size > MAX_OUTPUT_BYTES:
            raise UserError(f"{name} is {size} bytes, over the {MAX_OUTPUT_BYTES} a run's export may be")
        self.published.append(self.key(name))
        self.ctx.blobs.put_bytes(self.key(name), source.read_bytes(), content_type)

    def file_url(self, name: str) -> str | None:
        local: Callable[[str], Path] | None = getattr(self.ctx.blobs, "local_path", None)
        return local(self.key(name)).resolve().as_uri() if local is not None else None


class FolderDestination(Destination):
    """A local folder (`storyreel export --out DIR`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def publish(self, name: str, source: Path, content_type: str) -> None:
        dest = self.folder / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(source, partial)
        os.replace(partial, dest)

    def file_url(self, name: str) -> str | None:
        return (self.folder / name).resolve().as_uri()


# --------------------------------------------------------------------------- reading the run
def platform_aspect(platform: str | None) -> Aspect | None:
    """The aspect the named platform publishes in, or None when the platform is not named or not known."""
    if not platform:
        return None
    lowered = platform.lower()
    return next((aspect for pattern, aspect in PLATFORM_ASPECTS if re.search(pattern, lowered)), None)


def frame_size(aspect: Aspect, size: str) -> tuple[int, int]:
    short = HEIGHTS[size]
    w, h = SIZES[aspect]
    scale = short / min(w, h)
    return 2 * round(w * scale / 2), 2 * round(h * scale / 2)


def load_board(ctx: RunContext) -> Storyboard:
    try:
        return get_model(ctx.blobs, ctx.key(STORYBOARD), Storyboard)
    except NotFoundError:
        raise UserError(f"run {ctx.run_id} has no storyboard.json yet: nothing to export") from None


def _bounded(blobs: BlobStore, key: str) -> bytes:
    data = blobs.get_bytes(key)
    if len(data) > MAX_MEDIA_BYTES:
        raise UserError(f"{key} is {len(data)} bytes, over the {MAX_MEDIA_BYTES} an export reads")
    return data


def clip_key(scene: Scene) -> str | None:
    """The scene's finished clip (services/clips), relative to the run; None when it has none."""
    clip = scene.clip
    if clip is None or clip.status != ClipStatus.done or not clip.video_key:
        return None
    return clip.video_key


def _frame_note(frame: Frame) -> str:
    if frame.status == FrameStatus.rendered and frame.image_key:
        return "(placeholder sketch)" if frame.placeholder else ""
    if frame.status == FrameStatus.failed:
        return f"failed: {frame.error or 'no reason given'}"
    if frame.status == FrameStatus.skipped:
        return "not rendered: images were off for this run"
    return "pending: not rendered yet"


@dataclass
class _Media:
    """A scene's files, fetched into the work folder."""

    start: Path | None
    end: Path | None
    clip: Path | None


def _fetch(ctx: RunContext, board: Storyboard, work: Path) -> list[_Media]:
    media: list[_Media] = []
    folder = work / "media"
    folder.mkdir()

    def still(scene: Scene, frame: Frame) -> Path | None:
        if frame.status != FrameStatus.rendered or not frame.image_key:
            return None
        path = folder / f"{frame_id(scene.index, frame.role)}{Path(frame.image_key).suffix or '.png'}"
        path.write_bytes(_bounded(ctx.blobs, ctx.key(frame.image_key)))
        return path

    for scene in board.scenes:
        key = clip_key(scene)
        clip = None
        if key is not None:
            clip = folder / f"s{scene.index}-clip{Path(key).suffix or '.mp4'}"
            clip.write_bytes(_bounded(ctx.blobs, ctx.key(key)))
        media.append(_Media(still(scene, scene.start_frame), still(scene, scene.end_frame), clip))
    return media


# A typed brief or meeting transcript is kept under audio/ too (services/transcribe/typed.py TYPED_SUFFIXES):
# it is not audio to lay under the animatic.
NOT_AUDIO = (".json", ".txt", ".md", ".markdown", ".vtt", ".srt")


def _brief_audio(ctx: RunContext) -> str | None:
    """The key of the brief's audio as the run keeps it (audio/<name>); None for a typed brief."""
    keys = sorted(k for k in ctx.blobs.list(ctx.key("audio")) if not k.lower().endswith(NOT_AUDIO))
    return keys[0] if keys else None


def animatic_refusal(ctx: RunContext, board: Storyboard, options: ExportOptions) -> str | None:
    """Why this run's animatic cannot be made (one line), or None: a prompts-only run, no audio to lay under."""
    stills = any(
        f.status == FrameStatus.rendered and f.image_key
        for s in board.scenes
        for f in (s.start_frame, s.end_frame)
    )
    if not stills and not any(clip_key(s) for s in board.scenes):
        return (
            f"run {board.run_id} has no rendered keyframe (prompts only): an animatic needs images; "
            f"render them with `storyreel images {board.run_id}` (the PDF and timelines export with placeholders)"
        )
    if options.audio == "brief" and _brief_audio(ctx) is None:
        return f"run {board.run_id} keeps no audio of its brief: use --audio none"
    return None


# --------------------------------------------------------------------------- the formats
def _captions(board: Storyboard, frames: list[int]) -> list[captions.Cue]:
    texts = [captions.scene_text(s.narration, s.description) for s in board.scenes]
    return captions.cues(texts, frames)


def _mp4(
    ctx: RunContext,
    board: Storyboard,
    media: list[_Media],
    frames: list[int],
    options: ExportOptions,
    size: tuple[int, int],
    work: Path,
    result: ExportResult,
) -> list[tuple[str, Path, str]]:
    """The animatic (and its SRT); [] with the reason in result.refused when it cannot be made."""
    # OpenCV and numpy load for the mp4 only: the Api Lambda makes the PDF and timelines without them
    from storyreel.services.export import animatic

    refused = animatic_refusal(ctx, board, options)
    if refused is not None:
        result.refused["mp4"] = refused
        return []
    audio = None
    if options.audio == "brief":
        key = _brief_audio(ctx)
        assert key is not None  # animatic_refusal checked
        audio = work / f"brief{Path(key).suffix}"
        audio.write_bytes(_bounded(ctx.blobs, key))
    shots: list[animatic.Shot] = []
    for scene, m, n in zip(board.scenes, media, frames, strict=True):
        start, end = m.start or m.end, m.end or m.start
        if m.clip is None and start is None:
            start = end = animatic.card(
                f"Scene {scene.index}: {scene.title}\n(keyframes not rendered yet)",
                size,
                work / f"card{scene.index}.png",
            )
            result.notes.append(
                f"animatic: scene {scene.index} has no rendered keyframe; it shows a title card"
            )
        if m.clip is None and scene.clip is not None and scene.clip.status == ClipStatus.failed:
            result.notes.append(
                f"animatic: scene {scene.index}'s clip failed ({scene.clip.reason or 'no reason given'}); "
                "it shows the stills"
            )
        kind = transition(scene.transition)
        if not kind.known:
            result.notes.append(
                f"animatic: scene {scene.index}'s transition {scene.transition!r} is not one it draws; shown as a cut"
            )
        shots.append(
            animatic.Shot(
                frames=n,
                start=start,
                end=end,
                move=camera_move(scene.camera),
                transition=kind.kind,
                clip=m.clip,
            )
        )
    out: list[tuple[str, Path, str]] = []
    cue_list = _captions(board, frames)
    burn = None
    if options.captions != "none":
        srt = work / "animatic.srt"
        srt.write_text(captions.srt(cue_list, options.fps), encoding="utf-8")
        if options.captions == "srt":
            out.append(("animatic.srt", srt, "application/x-subrip"))
        else:
            burn = srt
    dest = work / "animatic.mp4"
    result.frames = animatic.render(
        shots, dest, fps=options.fps, size=size, work=work, audio=audio, burn=burn, notes=result.notes
    )
    out.insert(0, ("animatic.mp4", dest, "video/mp4"))
    return out


def _pdf(
    board: Storyboard, media: list[_Media], frames: list[int], options: ExportOptions, aspect: str, work: Path
) -> Path:
    pages = [
        pdf.Page(
            index=scene.index,
            title=scene.title,
            description=scene.description,
            narration=scene.narration,
            seconds=scene.duration,
            frames=n,
            camera=scene.camera,
            transition=scene.transition,
            start=pdf.Panel(m.start, _frame_note(scene.start_frame)),
            end=pdf.Panel(m.end, _frame_note(scene.end_frame)),
        )
        for scene, m, n in zip(board.scenes, media, frames, strict=True)
    ]
    total = sum(s.duration for s in board.scenes)
    context = board.context
    subtitle = (
        f"{len(board.scenes)} scenes, {total:g} s at {options.fps} fps · {aspect} · "
        f"{context.platform or 'no platform named'} · run {board.run_id}"
    )
    doc = pdf.Document(title=board.title, subtitle=subtitle, scenes=pages, notes=list(board.notes))
    if board.virality is not None:
        doc.score = board.virality.score
        doc.confidence = board.virality.confidence
        doc.components = [(c.name, c.score, c.weight, c.explanation) for c in board.virality.components]
        doc.not_evaluated = [(n.component, n.reason) for n in board.virality.not_evaluated]
    return pdf.render(doc, work / "storyboard.pdf", options.paper)


def _timelines(
    board: Storyboard,
    media: list[_Media],
    frames: list[int],
    formats: list[Format],
    fps: int,
    size: tuple[int, int],
    work: Path,
    dest: Destination,
) -> list[tuple[str, Path, str]]:
    out: list[tuple[str, Path, str]] = []
    entries: list[timeline.Entry] = []
    for scene, m, n in zip(board.scenes, media, frames, strict=True):
        file = m.clip or m.start or m.end
        clip_frames = None
        if m.clip is not None:
            clip_frames = max(
                n, round((scene.clip.seconds if scene.clip and scene.clip.seconds else 0) * fps)
            )
        entries.append(timeline.Entry(scene.index, scene.title, scene.description, n, file, clip_frames))
    files = {e.index: e.media for e in entries if e.media is not None}
    for path in files.values():
        out.append((f"media/{path.name}", path, "video/mp4" if path.suffix == ".mp4" else "image/png"))
    relative = {i: f"media/{p.name}" for i, p in files.items()}
    types = {
        "otio": "application/json",
        "otioz": "application/zip",
        "fcpxml": "application/xml",
        "edl": "text/plain",
    }
    for fmt in ("otio", "otioz", "fcpxml", "edl"):
        if fmt not in formats:
            continue
        if fmt == "otioz":
            urls = {i: p.resolve().as_uri() for i, p in files.items()}  # the adapter copies them in
        elif fmt == "fcpxml":  # Premiere and Resolve resolve absolute file URLs, not relative paths
            urls = {i: dest.file_url(rel) or rel for i, rel in relative.items()}
        else:
            urls = relative
        tl = timeline.build(board.title, entries, fps, size, urls)
        name = f"timeline{timeline.SUFFIX[fmt]}"
        out.append((name, timeline.write(tl, fmt, work / name), types[fmt]))
    return out


# --------------------------------------------------------------------------- the step
def export(ctx: RunContext, options: ExportOptions, dest: Destination | None = None) -> ExportResult:
    """Make the asked formats of run ctx.run_id and publish them to `dest` (default: the run's exports/)."""
    dest = dest or BlobDestination(ctx)
    board = load_board(ctx)
    frames = scene_frames([s.duration for s in board.scenes], options.fps)
    aspect = options.aspect or platform_aspect(board.context.platform)
    result = ExportResult(run_id=board.run_id, fps=options.fps)
    if aspect is None:
        aspect = DEFAULT_ASPECT
        result.notes.append(
            f"the run names no platform we know ({board.context.platform or 'none'}): {aspect}; --aspect sets it"
        )
    size = frame_size(aspect, options.size)
    result.size = size
    formats = list(dict.fromkeys(options.formats))
    with tempfile.TemporaryDirectory(prefix="storyreel-export-") as tmp:
        work = Path(tmp)
        media = _fetch(ctx, board, work)
        made: list[tuple[str, Path, str]] = []
        if any(f in formats for f in ("otio", "otioz", "fcpxml", "edl")):
            made += _timelines(board, media, frames, formats, options.fps, size, work, dest)
        if "pdf" in formats:
            made.append(
                ("storyboard.pdf", _pdf(board, media, frames, options, aspect, work), "application/pdf")
            )
        if "mp4" in formats:
            made += _mp4(ctx, board, media, frames, options, size, work, result)
        for name, path, content_type in made:  # every file is complete before the first is published
            dest.publish(name, path, content_type)
            result.written.append(name)
    return result


# --------------------------------------------------------------------------- one API export (its record)
def export_folder(export_id: str) -> str:
    """Where export `export_id`'s files go, relative to the run: exports/<export_id>."""
    return f"{EXPORTS}/{export_id}"


def queue(store: ExportStore, run_id: str, options: ExportOptions) -> ExportRecord:
    """A new export of run `run_id`, recorded queued (its files are made by make())."""
    record = ExportRecord(
        run_id=run_id,
        export_id=secrets.token_hex(8),
        formats=list(dict.fromkeys(options.formats)),
        options=options.model_dump(mode="json"),
    )
    store.create_export(record)
    return record


def make(ctx: RunContext, store: ExportStore, record: ExportRecord) -> ExportRecord:
    """Claim the queued export (ConflictError when another worker has it), make its files under
    exports/<export_id>/ and only then record it done. Any failure, a refused format included, removes what it
    wrote, records it failed with the reason, and is raised again."""
    record.status = ExportStatus.running
    store.update_export(record, expect=ExportStatus.queued)
    dest = BlobDestination(ctx, export_folder(record.export_id))
    try:
        result = export(ctx, ExportOptions.model_validate(record.options), dest)
        if result.refused:
            raise UserError("; ".join(f"{fmt}: {why}" for fmt, why in result.refused.items()))
    except StoryreelError as exc:
        fail(ctx, store, record, str(exc), dest)
        raise
    except BaseException as exc:
        fail(ctx, store, record, f"{type(exc).__name__}: {exc}", dest)
        raise
    record.status = ExportStatus.done
    record.files = result.written
    record.notes = result.notes
    store.update_export(record, expect=ExportStatus.running)
    return record


def fail(
    ctx: RunContext,
    store: ExportStore,
    record: ExportRecord,
    reason: str,
    dest: BlobDestination | None = None,
) -> bool:
    """Record the export failed with `reason` (its first line, at most 1000 characters), then remove its files;
    False when it had already finished (done or failed): then nothing is changed."""
    expect = record.status
    if expect not in (ExportStatus.queued, ExportStatus.running):
        return False
    record.status = ExportStatus.failed
    record.error = (reason.strip().splitlines() or ["no reason given"])[0][:1000]
    record.files = []
    try:
        store.update_export(record, expect=expect)  # first: from here on nothing of it reads as made
    except ConflictError:
        return False
    (dest or BlobDestination(ctx, export_folder(record.export_id))).remove()
    return True
