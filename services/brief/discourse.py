"""What in a brief is talk and what is the brief: small talk, thanks and meta talk ("here's the idea") are set
aside, a meeting's questions and the proposals nobody took up too, and the scenes the speaker enumerated
("first ...", "scene two ...", "then ...", "cut to ...", a numbered list) are read out in their order.

Rules over word lists, in the order a listener applies them:
1. a sentence that is only greeting, thanks, acknowledgement or small talk is talk; a greeting or an
   acknowledgement in front of a sentence ("Sure. So it's for ...") is cut off it;
2. in a meeting (two or more speakers), a question is talk, and the next speaker's answer to a question about a
   field ("who is it for?") is that field's answer;
3. in a meeting, a tentative proposal ("I was thinking maybe a drone shot") counts only when the next speaker
   takes it up ("Love it"); a proposal turned down, by its speaker ("but that's too expensive") or the next one
   ("let's skip the drone"), is talk;
4. enumeration markers at the start of a clause (after a sentence start, a colon, a comma or a semicolon)
   start a scene, which runs to the next marker; two or more such scenes are the brief's scene list.

Pure functions of their input; no network, no randomness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storyreel.services.brief.textkit import Unit
from storyreel.services.brief.vocab import tokens

# --------------------------------------------------------------------------- talk
# Greetings and acknowledgements a sentence may open with; cut off, what follows is kept.
_OPENER = re.compile(
    r"^(?:(?:hi|hey|hello|morning|good (?:morning|afternoon|evening)|sure|okay|ok|right|great|perfect|yeah|yes"
    r"|yep|so|well|alright|all right|fair|cool|awesome|nice|love it|sounds good|agreed|exactly|absolutely"
    r"|ha|haha)\b(?: (?:[a-z]+)(?=[,.!]))?[\s,.!]*)+"
)
# A sentence of small talk or talk about the talk (never a shot, never a field).
_TALK = re.compile(
    r"\b(?:how (?:was|were|are|is|did) (?:your|you|the)|how about you|thanks? (?:you )?for|thank you|thanks"
    r"|don'?t remind me|talk (?:soon|tomorrow|later|next week)|see you|catch you|i'?ll send|send (?:you |over )?the"
    r"|shall we (?:talk|start|get|go)|let'?s (?:get started|talk about|go through)|here'?s the idea"
    r"|the idea is|so the idea|let me think|nothing fancy|bear with me|makes sense|what'?s the plan"
    r"|we agreed(?: on)?$|any questions)\b"
)
# Small-talk topics: talk in a meeting (a monologue may film a lunch rush).
_SMALL_TALK_TOPIC = re.compile(
    r"\b(?:weekend|last night|the match|the game|weather|holiday|vacation|lunch|the kids|tournament"
    r"|traffic this morning|got some sun|busy week|long week|tomorrow)\b"
)
_TENTATIVE = re.compile(
    r"\b(?:i was thinking|i kind of liked|i liked the idea|what about|how about|maybe we could|we could maybe"
    r"|what if we|i wonder if|one idea)\b"
)
_TURN_DOWN = re.compile(
    r"\b(?:skip|drop|lose|no|not|too (?:expensive|much|long|far)|off brand|instead|rather not|let'?s not"
    r"|don'?t|won'?t)\b"
)
_TAKE_UP = re.compile(
    r"^(?:yes|yeah|love (?:it|that)|great idea|agreed|let'?s do (?:it|that)|perfect|sounds good)\b"
)
# A question about a field: the next speaker's answer is that field's.
_FIELD_QUESTIONS = (
    (
        "target_audience",
        re.compile(
            r"\b(?:who(?:'s| is) (?:it|this|the video) for|who(?:'s| is) the audience|who are we (?:talking to|targeting))\b"
        ),
    ),
    (
        "platform",
        re.compile(r"\b(?:which|what) platform|where (?:is|will) (?:it|this) (?:go|run|be posted)\b"),
    ),
    ("target_duration_s", re.compile(r"\bhow long\b")),
)


@dataclass
class Sorted:
    """A brief's sentences sorted out: what is the brief (`content`, greetings cut off), what is talk, and the
    answers to a meeting's questions about a field."""

    content: list[Unit]
    talk: list[Unit]
    answers: dict[str, Unit] = field(default_factory=dict)
    meeting: bool = False


def _retext(u: Unit, text: str) -> Unit:
    return Unit(text, text.lower(), u.start, u.end, u.speaker)


def strip_opener(u: Unit) -> Unit:
    """The sentence without the greeting or acknowledgement it opens with ("Sure. So it's for ..." -> "it's
    for ...")."""
    m = _OPENER.match(u.low)
    if not m or not m.group(0).strip():
        return u
    return _retext(u, u.text[m.end() :].strip())


def is_talk(low: str, meeting: bool) -> bool:
    """A sentence that is talk, not the brief: greeting, thanks, small talk, talk about the talk."""
    if not tokens(low):
        return True
    if _TALK.search(low):
        return True
    return meeting and _SMALL_TALK_TOPIC.search(low) is not None


def sort_out(units: list[Unit]) -> Sorted:
    """Rules 1-3 of the module docstring over the brief's sentences."""
    speakers = {u.speaker for u in units if u.speaker}
    meeting = len(speakers) >= 2
    content: list[Unit] = []
    talk: list[Unit] = []
    answers: dict[str, Unit] = {}
    asked: str | None = None
    for i, u in enumerate(units):
        whole = u
        u = strip_opener(u)
        nxt = next((v for v in units[i + 1 :] if v.speaker != whole.speaker), None) if meeting else None
        if asked and meeting and tokens(u.low):
            answers.setdefault(asked, u)
            asked = None
        if is_talk(u.low, meeting):
            talk.append(whole)
            continue
        if meeting and u.text.rstrip().endswith("?"):
            asked = next((name for name, q in _FIELD_QUESTIONS if q.search(u.low)), None)
            talk.append(whole)
            continue
        if meeting and _TENTATIVE.search(u.low):
            turned_down = _TURN_DOWN.search(u.low[_TENTATIVE.search(u.low).end() :])  # type: ignore[union-attr]
            taken_up = nxt is not None and _TAKE_UP.match(nxt.low) and not _TURN_DOWN.search(nxt.low)
            if turned_down or not taken_up:
                talk.append(whole)
                continue
        content.append(u)
    return Sorted(content, talk, answers, meeting)


# --------------------------------------------------------------------------- enumerated scenes
_NUMBER = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)"
_MARKER = re.compile(
    r"(?:(?:and )?(?:scene|shot|frame|step) " + _NUMBER + r"\b(?: is| would be| will be)?\s*[:,.-]?"
    r"|(?:and )?(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|fourth|fifth|then|next(?! to\b)|after that|afterwards"
    r"|finally|lastly|last|the next (?:morning|day)|next (?:morning|day))\b(?!-),?"
    r"|(?:and )?(?:open(?:s|ing)? (?:on|with)|start(?:s|ing)? (?:with|on|in|at)|begin(?:s|ning)? (?:with|on|in)"
    r"|(?:we )?cut(?:s|ting)? to|end(?:s|ing)? (?:with|on)|clos(?:e|es|ing) (?:with|on)|finish(?:es|ing)? (?:with|on)"
    r"|we see|you see)\b)\s*"
)
# Where a marker may stand: the start of a sentence, or after a colon, semicolon or comma.
_CLAUSE_BREAK = re.compile(r"[:;,]\s*")


@dataclass(frozen=True)
class Item:
    """One scene the speaker enumerated: its words (markers cut off), the marker that started it, the sentence
    it is from."""

    text: str
    marker: str
    unit: Unit
    said: str  # the item as said, its marker included ("then we see a mom taking the first sip")


def _marker_spans(low: str) -> list[tuple[int, int]]:
    """(start, end) of each run of enumeration markers that stands at the start of a clause."""
    starts = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(low))]
    out: list[tuple[int, int]] = []
    for pos in starts:
        if out and pos < out[-1][1]:
            continue
        end = pos
        while (mk := _MARKER.match(low, end)) and mk.end() > end:
            end = mk.end()
        if end > pos:
            out.append((pos, end))
    return out


def enumerated(units: list[Unit]) -> list[Item]:
    """The scenes the speaker enumerated, in their order: each marker starts one, which runs to the next marker
    or the end of its sentence. Fewer than two is no list (a lone "end with ..." is a closing line)."""
    items: list[Item] = []
    for u in units:
        text = u.text if len(u.text) == len(u.low) else u.low  # a lowercasing that changed lengths: use low
        spans = _marker_spans(u.low)
        for j, (a, b) in enumerate(spans):
            stop = spans[j + 1][0] if j + 1 < len(spans) else len(text)
            words = text[b:stop].strip(" ,;:.")
            said = re.sub(r"^(?:and|so)\s+", "", text[a:stop].strip(" ,;:."), flags=re.IGNORECASE)
            if len(tokens(words)) >= 2:
                items.append(Item(words, u.low[a:b].strip(" ,;:."), u, said))
    return items if len(items) >= 2 else []
