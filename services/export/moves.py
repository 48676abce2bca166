"""A scene's camera note as a Ken Burns move, and a planned transition as one the animatic can draw.

The planner and people write these as free text ("close-up, handheld push-in", "match cut", "dissolve");
the words below are matched in order, the first that appears wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Move = Literal["static", "push_in", "pull_out", "pan_left", "pan_right", "tilt_up", "tilt_down"]

# (pattern, move): checked in this order against the lower-cased note.
_MOVES: tuple[tuple[str, Move], ...] = (
    (r"\b(pull|dolly|zoom|track)(ing)?[\s-]*(out|back)\b", "pull_out"),
    (r"\b(push|dolly|zoom|track|move)(ing)?[\s-]*in\b|\bzoom\b|\bpush\b", "push_in"),
    (r"\b(pan|follow|track|truck|slide|move|orbit|arc)(ing|s)?[\s-]*(to the )?left\b", "pan_left"),
    (r"\b(pan|follow|track|truck|slide|move|orbit|arc)(ing|s)?[\s-]*(to the )?right\b", "pan_right"),
    (r"\b(tilt|crane|pedestal|boom)(ing|s)?[\s-]*up\b", "tilt_up"),
    (r"\b(tilt|crane|pedestal|boom)(ing|s)?[\s-]*down\b", "tilt_down"),
    (r"\bpan\b", "pan_right"),
    (r"\btilt\b", "tilt_up"),
)


def camera_move(note: str) -> Move:
    """The move a camera note asks for; "static" when it names none (locked-off, handheld, a framing only)."""
    text = note.lower()
    for pattern, move in _MOVES:
        if re.search(pattern, text):
            return move
    return "static"


Kind = Literal["cut", "dissolve", "fade_black", "wipe", "slide"]
# The xfade filter's name for each drawn transition (ffmpeg's xfade: "fade" is a crossfade).
XFADE = {"dissolve": "fade", "fade_black": "fadeblack", "wipe": "wipeleft", "slide": "slideleft"}
TRANSITION_S = 0.5  # how long a drawn transition lasts (at most half of the shorter scene beside it)

_TRANSITIONS: tuple[tuple[str, Kind], ...] = (
    (r"\b(match|smash|jump|hard|straight)[\s-]*cut\b|^\s*cut\b|\bcut\s+to\b", "cut"),
    (r"\b(cross[\s-]*fade|cross[\s-]*dissolve|dissolve|mix|blend)\b", "dissolve"),
    (r"\b(fade|dip)\b", "fade_black"),
    (r"\bwipe\b", "wipe"),
    (r"\b(slide|push|whip|swipe)\b", "slide"),
    (r"\bcut\b", "cut"),
)


@dataclass(frozen=True)
class Transition:
    kind: Kind
    known: bool  # False: the text named nothing in the table (drawn as a cut, and said so)


def transition(text: str) -> Transition:
    """The transition a plan's text names (cut, match cut -> cut; dissolve, crossfade -> dissolve; fade ->
    through black; wipe; slide/whip); text naming none of them is drawn as a cut."""
    lowered = text.lower().strip()
    if not lowered:
        return Transition("cut", True)
    for pattern, kind in _TRANSITIONS:
        if re.search(pattern, lowered):
            return Transition(kind, True)
    return Transition("cut", False)
