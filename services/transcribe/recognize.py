"""Transcription stage: any common audio format -> Transcript with timed segments."""

from __future__ import annotations

from pathlib import Path

from storyreel.services.transcribe.providers.base import Transcriber
from storyreel.shared.contracts import Transcript
from storyreel.shared.settings import TranscriptionConfig


def transcribe(
    audio_path: Path, config: TranscriptionConfig, max_minutes: float, transcriber: Transcriber
) -> Transcript:
    """Validate the input (exists, is audio, not empty, not too long, has speech) and transcribe it.

    Raises InputError with a one-line reason for every input a user can get wrong. Audio that ends early or
    decodes with errors is transcribed as far as it goes, with `audio_warning` saying so.
    """
    from storyreel.services.transcribe.audio import check_audio

    info = check_audio(audio_path, max_minutes=max_minutes)
    transcript = transcriber.transcribe(audio_path, config.language)
    if not transcript.text.strip():
        from storyreel.shared.errors import InputError

        raise InputError(f"no speech found in {audio_path.name}")
    if info.warning is not None:
        transcript.audio_warning = info.warning
    return transcript
