"""OpenAI audio transcription (whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe) or any OpenAI-compatible server.

Files the API takes as they are (flac, m4a, mp3, mp4, ogg, wav, webm) under 25 MB go up in one request; anything
else ffmpeg reads (aac, aiff, opus, amr, ...) is decoded and re-encoded as FLAC, through the same path as long files.

whisper-1 answers `verbose_json` with timed segments and (asked for both granularities) timed words, which go into
the segment they fall in, the same Transcript the local Whisper makes (segments, words, language); the gpt-4o
transcribe models only answer `json` (text, no timestamps), so each request becomes one segment spanning its chunk. Files over the API's 25 MB upload limit are
decoded, cut at silences into chunks that fit, sent in parallel and stitched with each chunk's offset added.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from storyreel.shared.contracts import Segment, Transcript, Usage, Word
from storyreel.shared.errors import ProviderError
from storyreel.shared.openai_client import make_client, openai_errors, provider_error
from storyreel.shared.settings import TranscriptionConfig

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # the audio API's documented limit
# 16 kHz mono int16 is 32 kB/s raw: a 10-minute FLAC chunk is under 19.2 MB even if it does not compress at all.
MAX_CHUNK_S = 600.0
SAMPLE_RATE = 16_000
MAX_PARALLEL_CHUNKS = 4
DEFAULT_MODEL = "whisper-1"
# What the audio API takes as is; anything else ffmpeg can read is re-encoded to FLAC first.
UPLOAD_FORMATS = {".flac", ".m4a", ".mp3", ".mp4", ".mpeg", ".mpga", ".oga", ".ogg", ".wav", ".webm"}

# USD per audio minute, from OpenAI's published pricing (2025). Unknown models get no estimate.
PRICE_PER_MINUTE = {"whisper-1": 0.006, "gpt-4o-transcribe": 0.006, "gpt-4o-mini-transcribe": 0.003}

# verbose_json names the language in English words; the contract keeps ISO-639-1 codes.
_LANGUAGE_CODES = {
    "english": "en",
    "spanish": "es",
    "french": "fr",
    "german": "de",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "japanese": "ja",
    "chinese": "zh",
    "korean": "ko",
    "russian": "ru",
    "polish": "pl",
    "turkish": "tr",
    "arabic": "ar",
    "hindi": "hi",
}


def _language_code(name: str | None, hint: str | None) -> str:
    if hint:
        return hint
    if not name:
        return "en"
    return _LANGUAGE_CODES.get(name.lower(), name.lower())


def _words_from(data: Any, offset: float) -> list[Word]:
    """The answer's timed words (verbose_json with the word granularity), moved by `offset` seconds."""
    out = []
    for w in getattr(data, "words", None) or []:
        start, end = float(w.start), float(w.end)
        if end < start or start < 0:
            raise ValueError(f"word with impossible times {start}..{end}")
        text = (w.word or "").strip()
        if text:
            out.append(Word(start=round(offset + start, 3), end=round(offset + end, 3), text=text))
    return out


def _segments_from(data: Any, offset: float, chunk_end: float | None) -> list[Segment]:
    """Segments out of one answer, moved by `offset` seconds (the chunk's place in the whole file); each word
    goes into the last segment that starts at or before it."""
    raw = getattr(data, "segments", None)
    text = (getattr(data, "text", "") or "").strip()
    if raw:
        out = []
        for seg in raw:
            start, end = float(seg.start), float(seg.end)
            if end < start or start < 0:
                raise ValueError(f"segment with impossible times {start}..{end}")
            out.append(
                Segment(start=round(offset + start, 3), end=round(offset + end, 3), text=seg.text.strip())
            )
        _assign_words(out, _words_from(data, offset))
        return [s for s in out if s.text]
    if not text:
        return []
    end = chunk_end if chunk_end is not None else offset + float(getattr(data, "duration", 0.0) or 0.0)
    return [Segment(start=round(offset, 3), end=round(max(end, offset), 3), text=text)]


def _assign_words(segments: list[Segment], words: list[Word]) -> None:
    """Each word into the last segment that starts at or before the word's middle (the first, if none does)."""
    import bisect

    starts = [seg.start for seg in segments]
    grouped: list[list[Word]] = [[] for _ in segments]
    for w in words:
        grouped[max(0, bisect.bisect_right(starts, (w.start + w.end) / 2) - 1)].append(w)
    for seg, group in zip(segments, grouped, strict=True):
        seg.words = group


class OpenAITranscriber:
    name = "openai"

    def __init__(
        self,
        config: TranscriptionConfig,
        *,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        max_chunk_s: float = MAX_CHUNK_S,
    ) -> None:
        self.max_chunk_s = max_chunk_s
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.max_upload_bytes = max_upload_bytes
        self.usage: list[Usage] = []
        self._client = make_client(config.timeout_s, config.max_retries)

    @property
    def verbose(self) -> bool:
        # Only whisper-1 (and OpenAI-compatible whisper servers) answer verbose_json with timed segments.
        return "whisper" in self.model

    # ------------------------------------------------------------------ one request
    def _request(self, path: Path, language: str | None) -> Any:
        kwargs: dict[str, Any] = {"model": self.model}
        if self.verbose:
            kwargs["response_format"] = "verbose_json"
            kwargs["timestamp_granularities"] = ["segment", "word"]
        else:
            kwargs["response_format"] = "json"
        if language:
            kwargs["language"] = language
        try:
            with path.open("rb") as fh:
                return self._client.audio.transcriptions.create(file=(path.name, fh), **kwargs)
        except openai_errors() as exc:
            raise provider_error(exc, f"transcription of {path.name} failed") from exc

    # ------------------------------------------------------------------ the stage
    def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
        small = audio_path.stat().st_size <= self.max_upload_bytes
        if small and audio_path.suffix.lower() in UPLOAD_FORMATS:
            transcript, requests = self._whole(audio_path, language), 1
        else:
            transcript, requests = self._chunked(audio_path, language)
        price = PRICE_PER_MINUTE.get(self.model)
        self.usage.append(
            Usage(
                provider=self.name,
                model=self.model,
                stage="transcribe",
                requests=requests,
                audio_seconds=round(transcript.duration_s, 3),
                cost_usd=round(price * transcript.duration_s / 60, 6) if price is not None else None,
            )
        )
        return transcript

    def _duration(self, audio_path: Path) -> float:
        from storyreel.services.transcribe.audio import decode_pcm

        return len(decode_pcm(audio_path)) / SAMPLE_RATE

    def _whole(self, audio_path: Path, language: str | None) -> Transcript:
        data = self._request(audio_path, language)
        try:
            duration = getattr(data, "duration", None)
            duration = float(duration) if duration is not None else self._duration(audio_path)
            segments = _segments_from(data, 0.0, duration)
            text = (getattr(data, "text", "") or "").strip()
            return Transcript(
                text=text,
                language=_language_code(getattr(data, "language", None), language),
                duration_s=duration,
                segments=segments,
                provider=self.name,
                model=self.model,
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise ProviderError(
                f"transcription of {audio_path.name}: malformed answer from OpenAI ({exc})", provider="openai"
            ) from exc

    def _chunked(self, audio_path: Path, language: str | None) -> tuple[Transcript, int]:
        from storyreel.services.transcribe.audio import decode_pcm, encode_chunk, split_at_silences

        pcm = decode_pcm(audio_path)
        duration = len(pcm) / SAMPLE_RATE
        spans = split_at_silences(pcm, SAMPLE_RATE, self.max_chunk_s, min_silence_s=0.3)
        if not spans:
            raise ProviderError(f"{audio_path.name}: no audio to send after splitting", provider="openai")
        with tempfile.TemporaryDirectory(prefix="storyreel-chunks-") as tmp:
            paths = []
            for i, (start, end) in enumerate(spans):
                chunk = Path(tmp) / f"chunk-{i:04d}.flac"
                encode_chunk(pcm, SAMPLE_RATE, start, end, chunk, fmt="flac")
                if chunk.stat().st_size > self.max_upload_bytes:
                    raise ProviderError(
                        f"{audio_path.name}: chunk {i} is still over the {self.max_upload_bytes} byte upload limit",
                        provider="openai",
                    )
                paths.append(chunk)
            workers = min(MAX_PARALLEL_CHUNKS, len(paths))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transcribe") as pool:
                answers = list(pool.map(lambda p: self._request(p, language), paths))
        segments: list[Segment] = []
        texts: list[str] = []
        detected = None
        try:
            for (start, end), data in zip(spans, answers, strict=True):
                segments.extend(_segments_from(data, float(start), float(end)))
                text = (getattr(data, "text", "") or "").strip()
                if text:
                    texts.append(text)
                detected = detected or getattr(data, "language", None)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ProviderError(
                f"transcription of {audio_path.name}: malformed answer from OpenAI ({exc})", provider="openai"
            ) from exc
        transcript = Transcript(
            text=" ".join(texts),
            language=_language_code(detected, language),
            duration_s=round(duration, 3),
            segments=segments,
            provider=self.name,
            model=self.model,
        )
        return transcript, len(paths)
