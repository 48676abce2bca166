"""What a transcriber is: audio in (any format ffmpeg reads), a Transcript with timed segments out."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from storyreel.shared.contracts import Transcript


class Transcriber(Protocol):
    name: str

    def transcribe(self, audio_path: Path, language: str | None) -> Transcript: ...
