"""transcribe step: audio blob -> transcript.json (used by the local runner and the Lambda handler)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.services.transcribe.recognize import transcribe
from storyreel.shared.contracts import Transcript
from storyreel.shared.pipeline import TRANSCRIPT, RunContext
from storyreel.shared.stores import put_model


def run(ctx: RunContext, audio_key: str) -> Transcript:
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
