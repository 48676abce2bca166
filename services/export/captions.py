"""Captions from the narration: each scene's words (its `narration`, the part of the brief it comes from, else
its description) shown while the scene is on screen, in cues of at most two lines."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

LINE_CHARS = 42  # the usual subtitle line (Netflix, BBC: 37-42 characters)
CUE_LINES = 2


@dataclass(frozen=True)
class Cue:
    start: int  # first frame
    end: int  # one past the last frame
    text: str  # lines joined by "\n"


def scene_text(narration: str, description: str) -> str:
    return " ".join((narration.strip() or description.strip()).split())


def cues(texts: list[str], frames: list[int]) -> list[Cue]:
    """Cues for scenes with these texts and lengths (frames), in timeline order. A scene's text is split into
    cues of up to CUE_LINES lines, each shown for a share of the scene proportional to its length."""
    out: list[Cue] = []
    at = 0
    for text, n in zip(texts, frames, strict=True):
        lines = textwrap.wrap(text, LINE_CHARS, break_long_words=True, break_on_hyphens=False)
        chunks = ["\n".join(lines[i : i + CUE_LINES]) for i in range(0, len(lines), CUE_LINES)]
        chunks = chunks[:n]  # never more cues than frames
        total = sum(len(c) for c in chunks)
        done = 0
        for chunk in chunks:
            first = at + round(n * done / total)
            done += len(chunk)
            last = at + round(n * done / total)
            if last > first:
                out.append(Cue(first, last, chunk))
        at += n
    return out


def _stamp(frame: int, fps: int) -> str:
    ms = round(frame * 1000 / fps)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def srt(cue_list: list[Cue], fps: int) -> str:
    """The cues as SubRip text."""
    blocks = [
        f"{i}\n{_stamp(c.start, fps)} --> {_stamp(c.end, fps)}\n{c.text}\n" for i, c in enumerate(cue_list, 1)
    ]
    return "\n".join(blocks)
