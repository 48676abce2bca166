"""Reading a spoken brief: filler removal, sentence/clause segmentation (from punctuation, or from the timed
segments' pauses when ASR gave none), RAKE keyword phrases, lexicon sentiment, spoken durations.

Everything here is a pure function of its input: no randomness, no set iteration, no network.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from storyreel.services.brief.lexicon import (
    FILLER_PHRASES,
    INTENSIFIERS,
    NEGATIONS,
    NEGATIVE,
    POSITIVE,
    SMALL_NUMBERS,
    STOPWORDS,
    TENS,
    words,
)
from storyreel.services.brief.vocab import tokens
from storyreel.shared.contracts import Segment, Transcript

WORD_EDGE = r"\w'-"  # the characters that continue a word: "fun" is not in "fun-loving" nor "fun's"


@lru_cache(maxsize=4096)  # the lexicons' terms (about 1500) and the phrases callers look for
def word_pattern(phrase: str, edge: str = WORD_EDGE) -> re.Pattern[str]:
    """The literal `phrase` as whole words: not preceded or followed by a character of `edge`."""
    return re.compile(rf"(?<![{edge}]){re.escape(phrase)}(?![{edge}])")


def find_word(low: str, phrase: str, edge: str = WORD_EDGE) -> re.Match[str] | None:
    """The first whole-word occurrence of the literal `phrase` in `low`; a substring test first, since most
    of a lexicon's terms are not in a given sentence (the planner asks thousands of times per brief)."""
    return word_pattern(phrase, edge).search(low) if phrase in low else None


@lru_cache(maxsize=512)
def bounded(term: str) -> re.Pattern[str]:
    """A lexicon term that is itself a pattern ("punchy colou?rs") between word boundaries, compiled once."""
    return re.compile(rf"\b{term}\b")


PAUSE_S = 0.35  # a gap this long between timed segments ends a sentence when the text has no punctuation
MAX_UNIT_WORDS = 28  # an unpunctuated stretch longer than this is cut at its discourse markers
MAX_SENTENCE_WORDS = 60  # a punctuated sentence longer than this is cut the same way

_NOISE = re.compile(r"\[[^\]]*\]|<[^>]*>|\+\+[A-Za-z_]+\+\+|\(\w+\)")
_FILLERS = re.compile(
    r"(?<![\w'])(?:" + "|".join(re.escape(f) for f in FILLER_PHRASES) + r")(?![\w'])[,]?\s*", re.IGNORECASE
)
# "like" as filler: after a copula or another filler ("the vibe is like cozy"), never "look like"/"feel like".
_LIKE_FILLER = re.compile(r"\b(is|was|it's|and|just|so|but) like,?\s", re.IGNORECASE)
_STUTTER = re.compile(r"\b(\w+)(?:\s+\1\b)+", re.IGNORECASE)
# Conjunctions left dangling at a sentence's edges once it is cut out of running speech.
_EDGE_WORDS = re.compile(
    r"^(?:(?:so|and|but|okay|ok|alright|well|yeah)\b[ ,]*)+|(?:[ ,]+\b(?:and|so|but|or|um|uh))+$",
    re.IGNORECASE,
)
# An utterance that starts with one of these continues the one before it ("... a video" / "about cold brew").
_CONTINUATION = words("about for with of to at because that which who whose where")
_SENT_END = re.compile(r"(?<=[.!?])\s+|\n+")
# Where an unpunctuated brief changes topic: a new sentence starts before these.
_DISCOURSE = re.compile(
    r"\s(?=(?:so (?:we|i|you|the|it|then|yeah)|and then|then|and after that|after that|afterwards|and finally|next (?:we|you|i|show|cut|comes|is|up|scene|shot)"
    r"|finally|lastly|also|and also|we see|you see|cut to|ask (?:people|viewers|them|everyone)|tell (?:people|viewers)|i want|i'd like|i would like|we want|we need|it should|make sure|make it"
    r"|the vibe|the mood|the music|the colou?rs?|for the music|for music|music should|the audience|the target"
    r"|open with|opening with|start with|starting with|end with|ending with|close with|closing with"
    r"|okay|alright|anyway|call to action|for the call)\b)",
    re.IGNORECASE,
)
# Sequence markers split a sentence into beats: "open on the beans then show the grinder".
_SEQUENCE = re.compile(
    r"(?:,\s*|\s+)(?=(?:and then|then|after that|afterwards|and finally|finally|lastly|next (?:we|you|i|show|cut|comes|is|up|scene|shot))\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unit:
    """One sentence or clause of the brief, cleaned of filler. `low` is the lowercase form the cues match."""

    text: str
    low: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None  # who said it, in a meeting ("Dana: ..." lines, or segments with a speaker)

    @property
    def words(self) -> list[str]:
        return tokens(self.low)


def clean(text: str) -> str:
    """Drop ASR noise marks, fillers, stutters; normalise quotes and spaces."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _NOISE.sub(" ", text)
    text = _FILLERS.sub(" ", text)
    text = _LIKE_FILLER.sub(r"\1 ", text)
    text = _STUTTER.sub(r"\1", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    text = _EDGE_WORDS.sub("", text).strip(" ,;:")
    return text


def _has_punctuation(text: str) -> bool:
    return len(re.findall(r"[.!?](?:\s|$)", text)) >= 1 and len(tokens(text)) > 0


def _from_segments(segments: list[Segment]) -> list[tuple[str, float, float]]:
    """Group timed segments into sentences. Word-level segments (1-3 words each) are joined until a pause;
    utterance-level segments (the decoder already cut at silences) are sentences themselves."""
    segs = [s for s in segments if s.text.strip()]
    if not segs:
        return []
    sizes = sorted(len(s.text.split()) for s in segs)
    utterances = sizes[len(sizes) // 2] >= 4
    out: list[tuple[str, float, float]] = []
    cur: list[str] = []
    start = segs[0].start
    end = segs[0].end
    for seg in segs:
        first = seg.text.split()[0].lower()
        continues = first in _CONTINUATION and seg.start - end < 2 * PAUSE_S
        if cur and not continues and (utterances or seg.start - end >= PAUSE_S):
            out.append((" ".join(cur), start, end))
            cur, start = [], seg.start
        cur.append(seg.text.strip())
        end = seg.end
    if cur:
        out.append((" ".join(cur), start, end))
    return out


def _split_long(text: str) -> list[str]:
    if len(text.split()) <= MAX_UNIT_WORDS:
        return [text]
    parts = [p.strip() for p in _DISCOURSE.split(text) if p.strip()]
    out: list[str] = []
    for part in parts:
        words = part.split()
        # still too long: cut into even chunks (no marker to cut at)
        n = max(1, math.ceil(len(words) / MAX_UNIT_WORDS))
        size = math.ceil(len(words) / n)
        out.extend(" ".join(words[i : i + size]) for i in range(0, len(words), size))
    return out


def _merge_short(units: list[Unit], min_words: int = 3) -> list[Unit]:
    """A fragment of one or two words joins the unit after it (or before it, at the end)."""
    out: list[Unit] = []
    carry: Unit | None = None
    for u in units:
        if carry is not None and carry.speaker == u.speaker:
            u = Unit(f"{carry.text} {u.text}", f"{carry.low} {u.low}", carry.start, u.end, u.speaker)
            carry = None
        elif carry is not None:
            out.append(carry)  # a short turn ("Sure.") stays its own: it is another speaker's
            carry = None
        if len(u.words) < min_words and not u.text.rstrip().endswith((".", "!", "?")):
            carry = u  # a fragment (ASR); a short full sentence ("Nothing fancy.") stays its own
            continue
        out.append(u)
    if carry is not None:
        if out:
            last = out.pop()
            if last.speaker == carry.speaker:
                last = Unit(
                    f"{last.text} {carry.text}",
                    f"{last.low} {carry.low}",
                    last.start,
                    carry.end,
                    last.speaker,
                )
                out.append(last)
            else:
                out.extend([last, carry])
        else:
            out.append(carry)
    return out


# "Dana: Hi Sam ..." -- a turn in a meeting transcript: a name of one to three capitalised words, a colon.
_SPEAKER_LINE = re.compile(r"^\s*([A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2}):\s+(\S.*)$")
_NOT_A_NAME = words("scene shot frame step part note notes title cta hook shots scenes music colours colors")
# A numbered or bulleted list item at the start of a line: "1. Overhead shot ..." / "- a hand stirring".
_LIST_ITEM = re.compile(r"^\s*(?:(\d{1,2})[.)]|[-*\u2022])\s+(?=\S)")


def speaker_turns(text: str) -> list[tuple[str | None, str]]:
    """The text as (speaker, words) turns when at least two lines start with two different speakers' names
    ("Dana: ...", "Sam: ..."); a line without a name continues the turn before it. Otherwise one turn with no
    speaker."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    named = [m for ln in lines if (m := _SPEAKER_LINE.match(ln))]
    names = {m.group(1) for m in named if m.group(1).split()[0].lower() not in _NOT_A_NAME}
    if len(names) < 2:
        return [(None, text)]
    turns: list[tuple[str | None, str]] = []
    for ln in lines:
        m = _SPEAKER_LINE.match(ln)
        if m and m.group(1) in names:
            turns.append((m.group(1), m.group(2).strip()))
        elif turns:
            turns[-1] = (turns[-1][0], f"{turns[-1][1]} {ln.strip()}")
        else:
            turns.append((None, ln.strip()))
    return turns


def _list_items(text: str) -> str:
    """Numbered and bulleted list lines become sentences that say which scene they are ("Scene 2: ..."), so
    the list's order survives sentence splitting."""
    out: list[str] = []
    n = 0
    for ln in text.splitlines():
        m = _LIST_ITEM.match(ln)
        if m:
            n = int(m.group(1)) if m.group(1) else n + 1
            ln = f"\nScene {n}: " + ln[m.end() :].strip().rstrip(".") + ".\n"
            if out and out[-1].rstrip().endswith(":"):
                out[-1] = (
                    out[-1].rstrip()[:-1] + "."
                )  # the list's heading ("Shots:") is a sentence of its own
        out.append(ln)
    return "\n".join(out)


def _unwrap(text: str) -> str:
    """A typed brief's wrapped lines joined again: a line break after a line that does not end a sentence is a
    space, unless the next line is a list item or a speaker's turn."""
    return re.sub(
        r"(?<![.!?:])[ \t]*\n[ \t]*(?!\s|(?:\d{1,2}[.)]|[-*\u2022])\s|[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2}:\s)",
        " ",
        text,
    )


def _segment_turns(segments: list[Segment]) -> list[tuple[str | None, str, float, float]]:
    """Consecutive segments of one speaker joined into a turn (segments carry `speaker` in meeting
    transcripts)."""
    out: list[tuple[str | None, str, float, float]] = []
    for seg in segments:
        who = getattr(seg, "speaker", None)
        if out and out[-1][0] == who:
            prev = out[-1]
            out[-1] = (who, f"{prev[1]} {seg.text.strip()}", prev[2], seg.end)
        else:
            out.append((who, seg.text.strip(), seg.start, seg.end))
    return out


def _units_of(
    raw: list[tuple[str, float | None, float | None]], speaker: str | None, punctuated: bool = False
) -> list[Unit]:
    """Cleaned units; a punctuated sentence stays whole up to MAX_SENTENCE_WORDS (its punctuation already
    said where it ends), an unpunctuated stretch is cut at MAX_UNIT_WORDS."""
    units: list[Unit] = []
    for chunk, s, e in raw:
        whole = punctuated and len(chunk.split()) <= MAX_SENTENCE_WORDS
        for part in [chunk] if whole else _split_long(chunk):
            c = clean(part)
            if tokens(c):
                units.append(Unit(c, c.lower(), s, e, speaker))
    return units


def sentences(transcript: Transcript) -> list[Unit]:
    """The brief as sentences: by punctuation when it has any, else by the segments' pauses, else by
    discourse markers. Fillers are gone; empty sentences are dropped. In a meeting transcript ("Name: ..."
    lines, or segments with a speaker) each sentence keeps its speaker and the names are not words of it."""
    text = _list_items(_unwrap(transcript.text or ""))
    segments = transcript.segments
    if any(getattr(s, "speaker", None) for s in segments):
        units: list[Unit] = []
        for who, said, s0, s1 in _segment_turns(segments):
            punct = _has_punctuation(said)
            parts = _SENT_END.split(said) if punct else [said]
            units.extend(_units_of([(p, s0, s1) for p in parts if p.strip()], who, punct))
        return _merge_short(units)
    turns = speaker_turns(text)
    if turns[0][0] is not None or len(turns) > 1:
        units = []
        for who, said in turns:
            units.extend(_units_of([(p, None, None) for p in _SENT_END.split(said) if p.strip()], who, True))
        return _merge_short(units)
    raw: list[tuple[str, float | None, float | None]]
    punctuated = _has_punctuation(text)
    if punctuated:
        raw = [(p, None, None) for p in _SENT_END.split(text) if p.strip()]
    elif len(segments) >= 2:
        raw = [(t, s, e) for t, s, e in _from_segments(segments)]
    else:
        raw = [(text, None, None)]
    return _merge_short(_units_of(raw, None, punctuated))


def clauses(units: list[Unit]) -> list[Unit]:
    """Sentences split at sequence markers (then / after that / finally ...): one beat each."""
    out: list[Unit] = []
    for u in units:
        parts = [p.strip(" ,") for p in _SEQUENCE.split(u.text) if p.strip(" ,")]
        pieces = [Unit(p, p.lower(), u.start, u.end, u.speaker) for p in parts if tokens(p)]
        out.extend(_merge_short(pieces) if len(pieces) > 1 else pieces)
    return out


# --------------------------------------------------------------------------- keywords (RAKE)
def _candidates(units: list[Unit], extra_stop: tuple[str, ...] = ()) -> list[list[str]]:
    stop = STOPWORDS.union(extra_stop)
    phrases: list[list[str]] = []
    for u in units:
        for piece in re.split(r"[,.!?;:()\"]", u.low):
            cur: list[str] = []
            for w in tokens(piece):
                if w in stop or w.isdigit() or len(w) < 2:
                    if cur:
                        phrases.append(cur)
                    cur = []
                else:
                    cur.append(w)
            if cur:
                phrases.append(cur)
    out: list[list[str]] = []
    for p in phrases:  # long runs (unpunctuated speech) become 3-word windows
        out.extend([p] if len(p) <= 4 else [p[i : i + 3] for i in range(0, len(p), 3)])
    return out


def keyphrases(units: list[Unit], top: int = 10, extra_stop: tuple[str, ...] = ()) -> list[str]:
    """RAKE: word score = degree / frequency over candidate phrases split at stopwords; a phrase scores the
    sum of its words, boosted when it recurs. Ties break by first mention."""
    cands = _candidates(units, extra_stop)
    freq: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for p in cands:
        for w in p:
            freq[w] += 1
            degree[w] += len(p)
    first: dict[str, int] = {}
    count: Counter[str] = Counter()
    for i, p in enumerate(cands):
        key = " ".join(p)
        first.setdefault(key, i)
        count[key] += 1
    scored = []
    for key, pos in first.items():
        words = key.split()
        base = sum(degree[w] / freq[w] for w in words)
        scored.append((-(base * (1 + 0.5 * (count[key] - 1))), pos, key))
    scored.sort()
    out: list[str] = []
    for _, _, key in scored:
        if any(f" {key} " in f" {kept} " for kept in out):
            continue
        out.append(key)
        if len(out) == top:
            break
    return out


# --------------------------------------------------------------------------- sentiment
def _lexicon_form(word: str) -> str:
    """The form of `word` the sentiment lexicon lists: the word itself, else without its inflection
    ("smiles", "smiling", "smiled" -> "smile")."""
    if word in POSITIVE or word in NEGATIVE:
        return word
    for cut, add in (("ies", "y"), ("es", ""), ("s", ""), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e")):
        if word.endswith(cut) and len(word) > len(cut) + 2:
            base = word[: -len(cut)] + add
            if base in POSITIVE or base in NEGATIVE:
                return base
    return word


def sentiment(text: str) -> float:
    """Lexicon polarity with negation (3 words back) and intensifiers, squashed to -1..1 (VADER's x/sqrt(x²+15))."""
    words = tokens(text)
    total = 0.0
    for i, w in enumerate(words):
        w = _lexicon_form(w)
        pol = 1.0 if w in POSITIVE else -1.0 if w in NEGATIVE else 0.0
        if not pol:
            continue
        if i and words[i - 1] in INTENSIFIERS:
            pol *= 1.5
        if any(x in NEGATIONS for x in words[max(0, i - 3) : i]):
            pol *= -0.75
        total += pol
    return round(total / math.sqrt(total * total + 15), 3)


# --------------------------------------------------------------------------- spoken durations
_NUM = (
    r"\d+(?:\.\d+)?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?: (?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|(?:a|one) hundred(?: and (?:twenty|thirty|ten|fifty))?|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven"
    r"|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|half an?|an?"
)
_DURATION = re.compile(
    rf"\b(?P<num>{_NUM})(?P<half1> and a half)? (?P<unit>seconds?|secs?|minutes?|mins?)\b(?P<half2> and a half)?"
)
_EXCLUDE_BEFORE = ("first", "last", "opening", "final", "every", "each", "per", "few", "couple")
_STRONG_AFTER = (
    "long",
    "video",
    "short",
    "clip",
    "reel",
    "ad",
    "spot",
    "tiktok",
    "max",
    "maximum",
    "total",
    "or less",
    "tops",
)
_STRONG_BEFORE = (
    "about",
    "around",
    "under",
    "roughly",
    "max",
    "maximum",
    "total",
    "than",
    "it",
    "be",
    "within",
)


def words_to_number(phrase: str) -> float | None:
    phrase = phrase.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", phrase):
        return float(phrase)
    if phrase.startswith("half"):
        return 0.5
    total = 0.0
    words = phrase.split()
    for i, w in enumerate(words):
        if w in TENS:
            total += TENS[w]
        elif w == "hundred":
            total = max(total, 1) * 100
        elif w == "and":
            continue
        elif w in SMALL_NUMBERS:
            # "a"/"an" only count as one in front of a unit or "hundred"
            if w in ("a", "an") and i + 1 < len(words):
                continue
            total += SMALL_NUMBERS[w]
        else:
            return None
    return total or None


# A spoken length with the words around it that make it one: "about thirty seconds long", "under a minute".
_DURATION_PHRASE = re.compile(
    r"(?:\b(?:about|around|roughly|approximately|under|over|at most|at least|max(?:imum)?|less than|more than"
    r"|no more than|no longer than|up to|within|just|only|like)\s+)*"
    + _DURATION.pattern
    + r"(?:\s+(?:long|max(?:imum)?|total|or less|or so|tops|in length))?"
)


def _normalise_lengths(text: str) -> str:
    """Hyphens to spaces and runs of spaces to one, so "2 - min", "2-min" and "thirty-second" read as lengths."""
    return re.sub(r"\s+", " ", text.replace("-", " "))


def strip_durations(text: str) -> str:
    """`text` without its spoken lengths ("should be about thirty seconds long" -> "should be"), so a pattern
    that reads what a video is "about" never takes a duration for its subject. Lowercase text in, out."""
    low = _normalise_lengths(text)
    return re.sub(r"\s+", " ", _DURATION_PHRASE.sub(" ", low)).strip()


def is_duration_or_number(words: list[str]) -> bool:
    """True when a phrase is only numbers, time units and length words ("thirty seconds long", "a minute")."""
    units = ("second", "seconds", "sec", "secs", "minute", "minutes", "min", "mins", "hour", "hours")
    filler = ("a", "an", "and", "half", "long", "hundred", "or", "so", "about", "around", "roughly")
    return bool(words) and all(
        w in SMALL_NUMBERS or w in TENS or w in units or w in filler or w.replace(".", "").isdigit()
        for w in words
    )


def spoken_durations(text: str) -> list[tuple[float, bool]]:
    """Every duration in the text as (seconds, is_the_video_length_hint), in order; "the first three seconds"
    is not a video length and is left out."""
    low = _normalise_lengths(text.lower())
    out: list[tuple[float, bool]] = []
    for m in _DURATION.finditer(low):
        value = words_to_number(m.group("num"))
        if value is None:
            continue
        if m.group("half1") or m.group("half2"):
            value += 0.5
        if m.group("unit").startswith("min"):
            value *= 60
        before = low[: m.start()].split()[-3:]
        after = " ".join(low[m.end() :].split()[:2])
        if any(b in _EXCLUDE_BEFORE for b in before):
            continue
        strong = any(after.startswith(a) for a in _STRONG_AFTER) or (
            bool(before) and before[-1] in _STRONG_BEFORE
        )
        out.append((value, strong))
    return out


def target_duration(text: str) -> float | None:
    """The video length the speaker asked for: the first strongly marked duration ("a 60 second short",
    "keep it under a minute"), else the longest duration of at least 5 s; None if they said none."""
    found = spoken_durations(text)
    for value, strong in found:
        if strong and value >= 3:
            return value
    longest = max((v for v, _ in found), default=0.0)
    return longest if longest >= 5 else None
