"""Local Whisper: faster-whisper (CTranslate2) on this machine's CPU or GPU, offline once the model is here.

The model comes from `transcription.model` (services/transcribe/models.py: a size fetched once into the Hugging
Face cache, a folder, or s3://...). It is loaded once per process (kept for later runs: a warm Lambda, the
background renderer) with int8 weights on CPU (`compute_type: auto`). Audio is decoded by our own ffmpeg path
(audio.py, the same PCM the checks used), Silero VAD skips silence (`vad_filter`), the language is detected
unless `transcription.language` names it, and every segment carries its words with their times.

Times come from the model; they are kept inside the audio and in order (a segment or word past the end of the
audio is cut there or dropped, one that starts before the previous one is moved to it), so the contract's
"segments in order within the audio" holds for any model, a random test model included.
"""

from __future__ import annotations

import math
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
from storyreel.services.transcribe.audio import SAMPLE_RATE, decode_pcm
from storyreel.services.transcribe.models import (
    ModelRef,
    fetch_model,
    model_ref,
    on_lambda,
)
from storyreel.shared.contracts import Segment, Transcript, Word
from storyreel.shared.errors import ProviderError, UserError
from storyreel.shared.settings import TranscriptionConfig

_models: dict[tuple[str, str, str, int], Any] = {}
_models_lock = threading.Lock()


def _device(config: TranscriptionConfig) -> str:
    if config.device != "auto":
        return config.device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def compute_type(config: TranscriptionConfig, device: str) -> str:
    """int8 on CPU (4x smaller than float32 and faster), float16 on a GPU, unless the settings name one."""
    if config.compute_type != "auto":
        return config.compute_type
    return "int8" if device == "cpu" else "float16"


def load_model(path: Path, device: str, compute: str, threads: int) -> Any:
    """A faster_whisper.WhisperModel for this folder, loaded once per process."""
    key = (str(path), device, compute, threads)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            from faster_whisper import WhisperModel

            try:
                model = WhisperModel(str(path), device=device, compute_type=compute, cpu_threads=threads)
            except (RuntimeError, ValueError, OSError) as exc:
                raise ProviderError(
                    f"the Whisper model in {path} could not be loaded ({str(exc).splitlines()[0][:200]})",
                    provider="whisper",
                ) from exc
            _models[key] = model
        return model


def _clip(value: float, lo: float, hi: float) -> float:
    return round(min(max(float(value), lo), hi), 3)


def _probability(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(min(max(float(value), 0.0), 1.0), 3)


def to_segments(raw: list[Any], duration: float) -> list[Segment]:
    """faster-whisper's segments as ours: stripped text, times clipped into the audio and in order, words too."""
    out: list[Segment] = []
    last_start = 0.0
    for seg in raw:
        text = (seg.text or "").strip()
        start = _clip(seg.start, last_start, duration)
        if not text or start >= duration:
            continue
        end = _clip(seg.end, start, duration)
        words: list[Word] = []
        w_last = start
        for w in seg.words or []:
            w_text = (w.word or "").strip()
            if not w_text:
                continue
            w_start = _clip(w.start, w_last, end)
            w_end = _clip(w.end, w_start, end)
            words.append(Word(start=w_start, end=w_end, text=w_text, probability=_probability(w.probability)))
            w_last = w_start
        out.append(
            Segment(
                start=start,
                end=end,
                text=text,
                confidence=_probability(math.exp(seg.avg_logprob)) if seg.avg_logprob is not None else None,
                words=words,
            )
        )
        last_start = start
    return out


class WhisperTranscriber:
    name = "whisper"

    def __init__(
        self,
        config: TranscriptionConfig,
        *,
        decode_options: dict[str, Any] | None = None,
        selection: str | None = None,
    ) -> None:
        """The model is found (or fetched) now, so a missing model is reported at setup; it is loaded on the
        first transcription. `decode_options` go to faster-whisper's transcribe as they are (the tests and the
        benchmark pass `temperature`)."""
        try:
            from faster_whisper import WhisperModel  # noqa: F401  (a missing SDK is reported at setup)
        except ModuleNotFoundError as exc:
            if on_lambda():  # not an extra to install: the zip asset cannot hold it (or the image is broken)
                from storyreel.services.transcribe.providers import lambda_without_whisper

                raise lambda_without_whisper() from exc
            raise  # the CLI names the extra (storyreel[whisper])

        self.config = config
        self.ref: ModelRef = model_ref(config.model)
        self.path = fetch_model(self.ref)
        self.device = _device(config)
        self.compute_type = compute_type(config, self.device)
        self.threads = config.workers or os.cpu_count() or 1
        self.decode_options = dict(decode_options or {})
        self.selection = selection

    @property
    def model(self) -> Any:
        return load_model(self.path, self.device, self.compute_type, self.threads)

    def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
        language = language or self.config.language
        model = self.model
        code = re.split(r"[-_]", language)[0].lower() if language else None
        if code and code not in model.supported_languages:
            raise UserError(
                f"the Whisper model {self.ref.label} does not know '{language}' "
                f"({'English only' if not model.model.is_multilingual else 'not a Whisper language'}): "
                f"use a multilingual size (small, medium, ...) in transcription.model"
            )
        pcm = decode_pcm(audio_path)
        duration = len(pcm) / SAMPLE_RATE
        audio = pcm.astype(np.float32) / 32768.0
        try:
            raw, info = model.transcribe(
                audio,
                language=code,
                beam_size=self.config.beam_size,
                vad_filter=self.config.vad_filter,
                word_timestamps=True,
                **self.decode_options,
            )
            segments = to_segments(list(raw), duration)
        except (RuntimeError, ValueError) as exc:
            raise ProviderError(
                f"Whisper failed on {audio_path.name}: {str(exc).splitlines()[0][:200]}", provider="whisper"
            ) from exc
        return Transcript(
            text=" ".join(s.text for s in segments),
            language=info.language or code or "en",
            duration_s=round(duration, 3),
            segments=segments,
            provider=self.name,
            model=self.ref.label,
            selection=self.selection,
        )
