"""transcribe step: audio blob -> transcript.json (used by the local runner and the Lambda handler). A typed
brief or meeting transcript (typed.TYPED_SUFFIXES: .txt .md .vtt .srt .json) is read instead of recognised."""

from __future__ import annotations

import tempfile
from pathlib import Path

from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.services.transcribe.recognize import transcribe
from storyreel.services.transcribe.typed import (
    MAX_TYPED_BYTES,
    TYPED_CONTENT_TYPES,
    NotText,
    is_typed,
    read_typed,
    read_typed_file,
)
from storyreel.shared.contracts import Transcript
from storyreel.shared.errors import InputError
from storyreel.shared.pipeline import TRANSCRIPT, RunContext
from storyreel.shared.settings import max_audio_bytes
from storyreel.shared.stores import put_model


def run(ctx: RunContext, audio_key: str) -> Transcript:
    if is_typed(audio_key):
        transcript = _typed(ctx, audio_key)
        put_model(ctx.blobs, ctx.key(TRANSCRIPT), transcript)
        return transcript
    transcriber = ctx.provider(TRANSCRIBERS, ctx.settings.transcription)
    local = getattr(ctx.blobs, "local_path", None)
    max_minutes = ctx.settings.pipeline.max_audio_minutes
    with ctx.usage_of("transcribe", transcriber):
        if local is not None:
            transcript = transcribe(local(audio_key), ctx.settings.transcription, max_minutes, transcriber)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / Path(audio_key).name
                path.write_bytes(ctx.blobs.get_bytes(audio_key))
                transcript = transcribe(path, ctx.settings.transcription, max_minutes, transcriber)
    put_model(ctx.blobs, ctx.key(TRANSCRIPT), transcript)
    return transcript


def _typed(ctx: RunContext, key: str) -> Transcript:
    """Read from the run's folder with a bound; from S3 the object was measured by intake (typed_too_big)."""
    language = ctx.settings.transcription.language
    local = getattr(ctx.blobs, "local_path", None)
    try:
        if local is not None:
            return read_typed_file(local(key), language)
        return read_typed(Path(key).name, ctx.blobs.get_bytes(key), language)
    except NotText as exc:
        # as an InputError: a failed Lambda's error kind is looked up by its errorType in shared.errors
        raise InputError(str(exc)) from None


def upload_limit(name: str, max_minutes: float) -> int:
    """The most bytes an upload named `name` may take: a typed brief's bound (MAX_TYPED_BYTES), else the audio
    bound for `max_minutes` (pipeline.max_audio_minutes)."""
    return MAX_TYPED_BYTES if is_typed(name) else max_audio_bytes(max_minutes)


def typed_content_type(name: str) -> str | None:
    """The Content-Type a typed brief named `name` is uploaded with (None: not a typed brief)."""
    return TYPED_CONTENT_TYPES.get(Path(name).suffix.lower())


def check_typed(path: Path, language: str | None = None) -> Transcript:
    """Read a typed brief as the transcribe step will (the same reader, the same one-line InputErrors;
    typed.NotText, an InputError, for binary or non-UTF-8 data): `storyreel serve` checks an upload with it."""
    return read_typed_file(path, language)


def typed_too_big(name: str, size: int) -> str | None:
    """The one line refusing a typed brief of `size` bytes (None: not a typed brief, or within the bound)."""
    if not is_typed(name) or size <= MAX_TYPED_BYTES:
        return None
    return f"{name} is over {MAX_TYPED_BYTES // (1024 * 1024)} MiB, the most a typed brief or meeting transcript may take"


def describe(transcript: Transcript) -> str:
    """The stage's one-line detail in the run record."""
    if transcript.provider == "typed":
        speakers = len({s.speaker for s in transcript.segments if s.speaker})
        said = f", {speakers} speaker{'s' if speakers != 1 else ''}" if speakers else ""
        return f"typed brief ({transcript.model}), {len(transcript.segments)} segments{said}"
    detail = f"{transcript.duration_s:.1f}s audio, {len(transcript.segments)} segments"
    if transcript.selection:
        detail += f"; {transcript.selection}"
    return detail
