"""Transcribers: one module per outside service, plus the embedded defaults. Declared once, below; the settings
Literal `transcription.provider` names the same providers (shared/settings.py TranscriberName). "auto" is a
choice, not a provider: the local Whisper when its model is on this machine, else pocketsphinx (auto_choice)."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from storyreel.services.transcribe.providers.base import Transcriber
from storyreel.shared.errors import ConfigError
from storyreel.shared.registry import ProviderSpec, Registry
from storyreel.shared.secrets import OPENAI
from storyreel.shared.settings import TranscriberName, TranscriptionConfig

# Set by the Transcribe container image (infra/images/transcribe/Dockerfile): this Lambda is the image that carries
# faster-whisper, not the zip asset that cannot.
LAMBDA_IMAGE_ENV = "STORYREEL_LAMBDA_IMAGE"


def lambda_without_whisper() -> ConfigError:
    """The one-line error for a Lambda where faster-whisper does not import: the zip (it cannot carry it), or a
    broken container image (it should)."""
    from storyreel.services.transcribe.models import LAMBDA_ZIP_NO_WHISPER

    if os.environ.get(LAMBDA_IMAGE_ENV):
        return ConfigError(
            f"faster-whisper does not import in this Lambda's container image ({LAMBDA_IMAGE_ENV}="
            f"{os.environ[LAMBDA_IMAGE_ENV]}): rebuild it from infra/images/transcribe/Dockerfile "
            "(cdk deploy -c transcriber=whisper)"
        )
    return ConfigError(LAMBDA_ZIP_NO_WHISPER)


@dataclass(frozen=True)
class AutoChoice:
    provider: str  # "whisper" or "local"
    reason: str  # what was found, or what is missing
    better: str | None = None  # how to get the better transcriber, when auto fell back to pocketsphinx

    @property
    def why(self) -> str:
        """One line for the transcript and the run record."""
        return (
            f"auto: {self.reason}"
            if self.provider == "whisper"
            else f"auto: pocketsphinx, since {self.reason}"
        )


def auto_choice(config: TranscriptionConfig) -> AutoChoice:
    """What `transcription.provider: auto` runs: whisper when faster-whisper is installed and the model
    (transcription.model, default base.en) is on this machine (cache or folder); pocketsphinx otherwise. Never
    downloads anything."""
    from storyreel.services.transcribe.models import DEFAULT_MODEL, SIZES_MB, local_name, model_ref

    name = local_name(config.model) or DEFAULT_MODEL
    if importlib.util.find_spec("faster_whisper") is None:  # not imported: that takes half a second
        return AutoChoice(
            "local",
            "faster-whisper is not installed",
            f"pip install 'storyreel[whisper]'; a run with --transcriber whisper then downloads {name} once",
        )
    from storyreel.services.transcribe.models import find_model

    try:
        ref = model_ref(name, check=False)
    except ConfigError as exc:
        return AutoChoice("local", str(exc), "fix transcription.model")
    found = find_model(ref)
    if found is not None:
        return AutoChoice("whisper", f"Whisper {ref.label}, found at {found}")
    mb = next((n for size, n in SIZES_MB.items() if name.startswith(size)), None)
    about = f" (about {mb} MB)" if mb else ""
    where = "in the Hugging Face cache" if ref.kind == "size" else f"at {ref.spec}"
    return AutoChoice(
        "local",
        f"no Whisper model {name} is {where}",
        f"run once with --transcriber whisper to download {name}{about}, or set transcription.model to a "
        f"model folder or s3://...",
    )


def _auto(config: TranscriptionConfig) -> Transcriber:
    from storyreel.services.transcribe.models import on_lambda

    if on_lambda() and importlib.util.find_spec("faster_whisper") is None:
        # the zip asset has neither faster-whisper nor pocketsphinx's acoustic model (infra/functions.py prunes it);
        # the container image has both
        raise lambda_without_whisper()
    choice = auto_choice(config)
    if choice.provider == "whisper":
        from storyreel.services.transcribe.providers.whisper import WhisperTranscriber

        return WhisperTranscriber(config, selection=choice.why)
    from storyreel.services.transcribe.providers.sphinx import SphinxTranscriber

    return SphinxTranscriber(config, selection=choice.why)


def _sphinx(config: TranscriptionConfig) -> Transcriber:
    from storyreel.services.transcribe.providers.sphinx import SphinxTranscriber

    return SphinxTranscriber(config)


def _whisper(config: TranscriptionConfig) -> Transcriber:
    from storyreel.services.transcribe.providers.whisper import WhisperTranscriber

    return WhisperTranscriber(config)


def _openai(config: TranscriptionConfig) -> Transcriber:
    from storyreel.services.transcribe.providers.openai import OpenAITranscriber

    return OpenAITranscriber(config)


TRANSCRIBERS: Registry[TranscriptionConfig, Transcriber] = Registry(
    "transcriber",
    "transcription.provider",
    TranscriberName,
    [
        ProviderSpec("auto", "Whisper when its model is on this machine, else PocketSphinx", _auto),
        ProviderSpec("local", "PocketSphinx on this machine: offline, no key, no download", _sphinx),
        ProviderSpec(
            "whisper",
            "faster-whisper on this machine: the model is downloaded once (or read from a folder or S3)",
            _whisper,
            extra="whisper",
            sdks=("faster_whisper", "ctranslate2"),
        ),
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
