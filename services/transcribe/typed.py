"""Typed briefs and meeting transcripts: text in, a Transcript out, no recognition.

Chosen by the input's suffix (TYPED_SUFFIXES). What each keeps:
- `.vtt` WebVTT (webvtt-py, strict): each cue a segment with its times; `<v Name>` voices become speakers.
- `.srt` SubRip (webvtt-py's SRT reader; the `srt` package ships no wheel for the Lambda bundle): each subtitle
  a segment with its times.
- `.txt`, `.md`: one segment per line (markdown's heading, list and quote marks dropped); a transcript written as
  `Name: what they said` lines (at least two such lines, and most lines) keeps the names as speakers. No times:
  the transcript says `timed: false`.
- `.json`: a Transcript (as transcript.json holds it) or `{"text": "..."}`.
In a timed format a cue's text may also start with `Name: `, which is taken as its speaker.

Everything a user can get wrong is an InputError with one line: an empty file, one over MAX_TYPED_BYTES, binary
or not UTF-8 data, broken cues, JSON of another shape.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import ValidationError
from storyreel.shared.contracts import Segment, Transcript
from storyreel.shared.errors import InputError

TYPED_SUFFIXES = (".txt", ".md", ".markdown", ".vtt", ".srt", ".json")
# The Content-Type an upload of each kind is signed with (POST /runs hands it out with the upload URL).
TYPED_CONTENT_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".json": "application/json",
}
# A two-hour meeting's WebVTT is about 300 kB; a brief is a few kB. Refused past this before it is read whole.
MAX_TYPED_BYTES = 4 * 1024 * 1024
PROVIDER = "typed"
# "Ana Lopez: we want ..." / "BEN: ..." / "[Ana] ..." is not taken; a name is 1-4 words, no sentence before it.
_SPEAKER = re.compile(r"^(?P<name>[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3})\s*:\s+(?P<text>\S.*)$")
_MD_MARKS = re.compile(r"^\s{0,3}(?:#{1,6}\s+|[-*+]\s+|>\s*|\d+[.)]\s+)+")


class NotText(InputError):
    """The file named as a typed brief holds no text (binary data, not UTF-8): `storyreel serve` answers 415."""


def is_typed(name: str | Path) -> bool:
    return Path(str(name)).suffix.lower() in TYPED_SUFFIXES


def read_typed_file(path: Path, language: str | None = None) -> Transcript:
    """A typed brief on disk, bounded: refused past MAX_TYPED_BYTES before it is read whole."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_TYPED_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path.name} ({exc.strerror or exc})") from None
    return read_typed(path.name, data, language)


def read_typed(name: str, data: bytes, language: str | None = None) -> Transcript:
    """The Transcript a typed brief holds (`name` decides the format by its suffix). Its language is
    `language` (transcription.language) or "en": nothing is detected in text."""
    if len(data) > MAX_TYPED_BYTES:
        raise InputError(
            f"{name} is over {MAX_TYPED_BYTES // (1024 * 1024)} MiB, the most a typed brief or meeting transcript "
            f"may take"
        )
    text = _decode(name, data)
    if not text.strip():
        raise InputError(f"{name} is empty: there is no brief in it")
    suffix = Path(name).suffix.lower()
    if suffix == ".vtt":
        segments = _vtt(name, text)
    elif suffix == ".srt":
        segments = _srt(name, text)
    elif suffix == ".json":
        return _json(name, text, language)
    else:
        segments = _lines(text, markdown=suffix in (".md", ".markdown"))
        return _finish(name, segments, timed=False, kind=suffix, language=language)
    return _finish(name, segments, timed=True, kind=suffix, language=language)


def _decode(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise NotText(f"{name} is not a text file (it holds binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotText(f"{name} is not UTF-8 text (byte {exc.start} cannot be read)") from None


def _speaker_of(text: str) -> tuple[str | None, str]:
    m = _SPEAKER.match(text)
    return (m["name"], m["text"].strip()) if m else (None, text)


def _vtt(name: str, text: str) -> list[Segment]:
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        captions = list(webvtt.from_string(text, strict=True).captions)
    except (MalformedFileError, MalformedCaptionError, ValueError) as exc:
        raise InputError(f"{name} is not valid WebVTT ({str(exc).splitlines()[0][:160]})") from None
    if not captions:
        raise InputError(f"{name} is WebVTT with no cues in it")
    out = []
    for cap in captions:
        body = " ".join(line.strip() for line in cap.text.splitlines() if line.strip())
        voice = cap.voice
        if voice is None:
            voice, body = _speaker_of(body)
        if body:
            start = cap.start_time.in_milliseconds() / 1000
            end = cap.end_time.in_milliseconds() / 1000
            if end < start:
                raise InputError(f"{name}: the cue at {cap.start} ends before it starts ({cap.end})")
            out.append(Segment(start=start, end=end, text=body, speaker=voice.strip() if voice else None))
    return out


_SRT_TIMES = re.compile(r"\d+:\d{2}:\d{2}[,.]\d{3}\s*-->\s*\d+:\d{2}:\d{2}[,.]\d{3}")


def _srt(name: str, text: str) -> list[Segment]:
    import io

    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        captions = list(webvtt.WebVTT.from_buffer(io.StringIO(text), format="srt").captions)
    except (MalformedFileError, MalformedCaptionError, ValueError) as exc:
        raise InputError(f"{name} is not valid SubRip ({str(exc).splitlines()[0][:160]})") from None
    # webvtt-py skips a block whose time line it cannot read: every block that has text must have become a cue
    blocks = [b for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if b.strip()]
    if len(captions) != len(blocks):
        bad = next(
            (b.splitlines()[0][:60] for b in blocks if not _SRT_TIMES.search(b)), blocks[len(captions)][:60]
        )
        raise InputError(f"{name} is not valid SubRip (a subtitle without readable times near {bad!r})")
    out = []
    for n, cap in enumerate(captions, 1):
        body = " ".join(line.strip() for line in cap.text.splitlines() if line.strip())
        speaker, body = _speaker_of(body)
        start = cap.start_time.in_milliseconds() / 1000
        end = cap.end_time.in_milliseconds() / 1000
        if end < start or start < 0:
            raise InputError(f"{name}: subtitle {n} has impossible times ({cap.start} --> {cap.end})")
        if body:
            out.append(Segment(start=start, end=end, text=body, speaker=speaker))
    return out


def _lines(text: str, *, markdown: bool) -> list[Segment]:
    lines = [ln.strip() for ln in text.splitlines()]
    if markdown:
        lines = [_MD_MARKS.sub("", ln).strip() for ln in lines]
    lines = [ln for ln in lines if ln and not (markdown and set(ln) <= set("-*_=#|: "))]
    parsed = [_speaker_of(ln) for ln in lines]
    named = sum(speaker is not None for speaker, _ in parsed)
    if named < 2 or named * 2 < len(lines):  # a brief that says "Note: ..." once is not a meeting
        parsed = [(None, ln) for ln in lines]
    return [Segment(start=0.0, end=0.0, text=body, speaker=speaker) for speaker, body in parsed]


def _json(name: str, text: str, language: str | None) -> Transcript:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and set(data) == {"text"} and isinstance(data["text"], str):
        return _finish(
            name, _lines(data["text"], markdown=False), timed=False, kind=".json", language=language
        )
    try:
        transcript = Transcript.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise InputError(
            f'{name} is neither a Transcript nor {{"text": "..."}} ({where}: {first["msg"]})'
        ) from None
    if not transcript.text.strip():
        raise InputError(f"{name} is empty: its transcript has no text")
    return transcript.model_copy(
        update={"provider": PROVIDER, "selection": f"typed brief: {name} (a Transcript in JSON)"}
    )


def _finish(
    name: str, segments: list[Segment], *, timed: bool, kind: str, language: str | None
) -> Transcript:
    if not segments:
        raise InputError(f"{name} is empty: there is no brief in it")
    speakers = list(dict.fromkeys(s.speaker for s in segments if s.speaker))
    said = f", {len(speakers)} speaker(s)" if speakers else ""
    return Transcript(
        text=" ".join(s.text for s in segments),
        language=language or "en",
        duration_s=max(s.end for s in segments) if timed else 0.0,
        segments=segments,
        provider=PROVIDER,
        model=kind.lstrip("."),
        timed=timed,
        selection=f"typed brief: {name} ({kind.lstrip('.')}{said}, no speech recognition)",
    )
