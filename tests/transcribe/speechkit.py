"""Helpers for the transcribe tests: known texts, speaking them (scripts/speak.sh), converting, scoring.

A module with its own name (not conftest) so `from speechkit import ...` is unambiguous in the whole suite."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SPEAK = ROOT / "scripts" / "speak.sh"

# A short clip for the format matrix (about 10 s), and two clips with disjoint key words for the long test.
SHORT_TEXT = (
    "Make a fun video about coffee for students, with warm orange colours and soft guitar music. "
    "Show a rooftop at sunrise with the city skyline, then a close up of the coffee bottle."
)
FIRST_TEXT = (ROOT / "examples" / "brief.txt").read_text(encoding="utf-8").strip()
SECOND_TEXT = (
    "Second part. The skateboard tricks happen at the beach boardwalk. "
    "Show the skateboard flipping over the railing, then the sunset over the ocean waves."
)
GAP_S = 3.0  # silence between the two clips of the long audio

# ffmpeg output options per container.
FORMATS = {
    "wav": ["-c:a", "pcm_s16le"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    "webm": ["-c:a", "libopus", "-b:a", "32k"],
}


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


# Function words: a decoder that hears nothing still guesses "the" and "a"; recall counts the rest.
_STOP = """a an the and or but of for to in on at with without is it it's this that be should about so like who
want are our your i we you they than then"""
STOPWORDS = frozenset(_STOP.split())


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 2]


def recall(reference: str, hypothesis: str) -> float:
    """Share of the reference's content words (with multiplicity) that the hypothesis contains.

    Measured on espeak-ng speech: 0.53-0.74 for real decodes; 0.00-0.03 when the same audio is reversed,
    shuffled in 100 ms pieces or played at the wrong rate (all-word recall would give those up to 0.25)."""
    ref, hyp = Counter(content_words(reference)), Counter(words(hypothesis))
    return sum(min(n, hyp[w]) for w, n in ref.items()) / max(1, sum(ref.values()))


def wer(reference: str, hypothesis: str) -> float:
    r, h = words(reference), words(hypothesis)
    row = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        diag, row[0] = row[0], i
        for j in range(1, len(h) + 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (r[i - 1] != h[j - 1]))
    return row[len(h)] / max(1, len(r))


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def speak(text: str, out: Path) -> Path:
    txt = out.with_suffix(".txt")
    txt.write_text(text, encoding="utf-8")
    run([str(SPEAK), str(txt), str(out)])
    return out


def convert(src: Path, fmt: str) -> Path:
    out = src.with_name(f"{src.stem}.{fmt}")
    run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), *FORMATS[fmt], str(out)])
    return out


def pcm_of(path: Path) -> np.ndarray:
    from storyreel.services.transcribe.audio import decode_pcm

    return np.asarray(decode_pcm(path))


@dataclass(frozen=True)
class Speech:
    short: Path  # SHORT_TEXT, wav
    formats: dict[str, Path]  # SHORT_TEXT in every container
    brief: Path  # FIRST_TEXT (the example brief's text)
    noisy: Path  # the brief with white noise at about 21 dB SNR (measured)
    long: Path  # FIRST_TEXT, GAP_S of silence, SECOND_TEXT
    second_offset_s: float  # where SECOND_TEXT's clip starts in `long`
    silence: Path
    noise: Path
    tone: Path
