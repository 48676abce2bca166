"""Transcribers: one module per outside service, plus the embedded default. Declared once, below; the settings
Literal `transcription.provider` names the same providers (shared/settings.py TranscriberName)."""

from __future__ import annotations

from storyreel.services.transcribe.providers.base import Transcriber
from storyreel.shared.registry import ProviderSpec, Registry
from storyreel.shared.secrets import OPENAI
from storyreel.shared.settings import TranscriberName, TranscriptionConfig


def _sphinx(config: TranscriptionConfig) -> Transcriber:
    from storyreel.services.transcribe.providers.sphinx import SphinxTranscriber

    return SphinxTranscriber(config)


def _openai(config: TranscriptionConfig) -> Transcriber:
    from storyreel.services.transcribe.providers.openai import OpenAITranscriber

    return OpenAITranscriber(config)


TRANSCRIBERS: Registry[TranscriptionConfig, Transcriber] = Registry(
    "transcriber",
    "transcription.provider",
    TranscriberName,
    [
        ProviderSpec("local", "PocketSphinx on this machine: offline, no key", _sphinx),
        ProviderSpec(
            "openai",
            "OpenAI speech to text (whisper-1, gpt-4o-transcribe)",
            _openai,
            key=OPENAI,
            extra="providers",
            sdks=("openai",),
        ),
    ],
)
