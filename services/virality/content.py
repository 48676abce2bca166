"""Content-only virality components: computed from the transcript, the creative context and the variant.

Milliseconds, no network, no randomness: every point is counted from the text and explained in one line.

The score is also the optimizer's predicted reward (services/optimizer/step.py learn: score / 100), so no
component gives hand-set points to an arm: the bandit would learn the table back. The variant changes a
score only through what it measurably does to the storyboard (docs/virality.md, "What the variant changes"):
- length_fit scores the length the planner writes (creative_vocab.planned_duration: pacing x scenes when no
  length was asked);
- hook: a statistic hook on a brief with no statistic is written as a placeholder, and scores as one.

Words, sentences, statistics and the length come from the planner's own vocabulary (services/brief/vocab.py,
services/brief/textkit.py), so this report never quotes a length or a statistic the storyboard does not have.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from storyreel.services.brief import lexicon
from storyreel.services.brief.levers import resolve_variant
from storyreel.services.brief.textkit import Unit
from storyreel.services.brief.textkit import sentences as brief_sentences
from storyreel.services.brief.vocab import duration_source, planned_duration, statistic_in, tokens
from storyreel.services.brief.vocab import format_family as _format_family
from storyreel.shared.contracts import CreativeContext, Evidence, Segment, Transcript, ViralityComponent

POWER_WORDS = frozenset(
    [
        "secret",
        "secrets",
        "mistake",
        "mistakes",
        "never",
        "always",
        "best",
        "worst",
        "free",
        "new",
        "instantly",
        "stop",
        "nobody",
        "everyone",
        "proven",
        "shocking",
        "surprising",
        "truth",
        "hack",
        "hacks",
        "simple",
        "easy",
        "fastest",
        "ultimate",
        "biggest",
        "only",
        "why",
        "how",
    ]
)
SECOND_PERSON = frozenset(["you", "your", "you're", "yourself"])
EMOTION_WORDS = frozenset(
    [
        "love",
        "loved",
        "amazing",
        "awesome",
        "incredible",
        "beautiful",
        "happy",
        "joy",
        "excited",
        "exciting",
        "fun",
        "funny",
        "hilarious",
        "inspiring",
        "inspire",
        "proud",
        "wow",
        "thrilled",
        "delight",
        "delightful",
        "gorgeous",
        "stunning",
        "epic",
        "brilliant",
        "passion",
        "hate",
        "angry",
        "sad",
        "scared",
        "fear",
        "afraid",
        "terrible",
        "awful",
        "horrible",
        "shocking",
        "frustrating",
        "frustrated",
        "worried",
        "painful",
        "heartbreaking",
        "lonely",
        "cry",
        "crying",
        "tears",
        "furious",
        "disgusting",
        "nightmare",
        "panic",
        "desperate",
    ]
)
# The planner's own lists (services/brief/lexicon.py): what it strips as filler is what clarity counts.
INTENSIFIERS = lexicon.INTENSIFIERS
FILLERS = lexicon.FILLER_PHRASES

HOOK_WEIGHT, EMOTION_WEIGHT, CLARITY_WEIGHT, LENGTH_WEIGHT = 0.20, 0.15, 0.10, 0.10
CONTENT_WEIGHTS = {
    "hook": HOOK_WEIGHT,
    "emotion": EMOTION_WEIGHT,
    "clarity": CLARITY_WEIGHT,
    "length_fit": LENGTH_WEIGHT,
}
# Listed in the report's not_evaluated, never scored: which arms suit which format is what the optimizer learns
# per format (its context feature) from real engagement, not something a table here should tell it.
FORMAT_FIT_REASON = (
    "not scored: no evidence on which creative choices suit the format '{family}'; the optimizer learns that "
    "per format from real engagement (a hand-set table here would be fed back to it as reward)"
)
# Sweet spots (seconds) per platform family; unknown platforms are treated as short-form.
PLATFORM_RANGE = {
    "tiktok": (15.0, 60.0),
    "reels": (15.0, 60.0),
    "instagram": (15.0, 60.0),
    "shorts": (15.0, 60.0),
    "youtube": (120.0, 600.0),
    "linkedin": (30.0, 90.0),
    "twitter": (15.0, 45.0),
    "x": (15.0, 45.0),
}
SHORT_FORM = (15.0, 60.0)


def format_family(context: CreativeContext) -> str:
    """The content style folded to a format family (tutorial, vlog, product, story, entertainment, other): the
    optimizer's context feature. The planner's own styles map by table (services/brief/vocab.py)."""
    return _format_family(context.content_style, context.intent)


def words(text: str) -> list[str]:
    return tokens(text)


def units(transcript: Transcript) -> list[Unit]:
    """The brief's sentences as the planner reads them (by punctuation, else by the ASR segments' pauses),
    with their times when the transcript has timed segments. Every component asks for them: computed once
    per brief (a thread-safe LRU; the virality stage runs on its own thread)."""
    return list(_units(transcript.text, tuple((s.start, s.end, s.text) for s in transcript.segments)))


@lru_cache(maxsize=32)
def _units(text: str, segments: tuple[tuple[float, float, str], ...]) -> tuple[Unit, ...]:
    timed = [Segment(start=a, end=b, text=t) for a, b, t in segments]
    return tuple(brief_sentences(Transcript(text=text, duration_s=0.0, segments=timed)))


def sentences(transcript: Transcript) -> list[str]:
    return [u.text for u in units(transcript)]


def cite(unit: Unit, title: str) -> Evidence:
    """Evidence from the brief itself: the sentence quoted, linked to the run's transcript (with its time span
    as a media fragment when the transcript is timed)."""
    span = f"#t={unit.start:.1f},{unit.end:.1f}" if unit.start is not None and unit.end is not None else ""
    return Evidence(source="brief", title=title, url=f"transcript.json{span}", snippet=_quote(unit.text, 200))


@dataclass(frozen=True)
class Opening:
    text: str
    words: list[str]


def opening(transcript: Transcript) -> Opening:
    """The brief's first sentence (or its first 8 seconds of segments when it is still over 30 words)."""
    first = sentences(transcript)[:1]
    text = first[0] if first else ""
    if len(words(text)) > 30 and transcript.segments:
        text = " ".join(s.text for s in transcript.segments if s.start < 8.0)
    return Opening(text=text, words=words(text))


def _quote(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _clip(x: float) -> float:
    return round(max(0.0, min(100.0, x)), 1)


# --------------------------------------------------------------------------- hook
def hook(transcript: Transcript, context: CreativeContext, variant: dict[str, str]) -> ViralityComponent:
    v = resolve_variant(variant)
    op = opening(transcript)
    kws = {k.lower() for k in context.keywords}
    n_open = len(op.words)
    parts: list[str] = []
    numbers: dict[str, float] = {"opening_words": n_open}

    # 1) brevity of the opening line: <= 12 words full 25, longer loses 2 per word, floor 0.
    brevity = 25.0 if n_open <= 12 else max(0.0, 25.0 - 2.0 * (n_open - 12))
    if n_open == 0:
        brevity = 0.0
    parts.append(f"opening of {n_open} words +{brevity:.0f}")
    # 2) the subject is named up front: a keyword in the opening, 20.
    # a keyword counts when the whole phrase, or one of its words (3+ letters), is in the opening
    open_text = f" {' '.join(op.words)} "
    kw_open = sorted(
        k
        for k in kws
        if f" {' '.join(words(k))} " in open_text or any(len(w) > 2 and w in op.words for w in words(k))
    )
    kw_pts = 20.0 if kw_open else 0.0
    numbers["keywords_in_opening"] = len(kw_open)
    parts.append(f"keyword in opening +{kw_pts:.0f}" if kw_open else "no keyword in opening +0")
    # 3) direct address and power words, 5 each, at most 15.
    direct = sum(1 for w in op.words if w in SECOND_PERSON)
    power = sum(1 for w in op.words if w in POWER_WORDS)
    dp = min(15.0, 5.0 * (direct + power))
    numbers["power_or_direct_words"] = direct + power
    parts.append(f"{direct + power} power/direct words +{dp:.0f}")
    # 4) the hook line the planner writes in the chosen style is complete: every style can be written from any
    #    brief except a statistic hook on a brief with no statistic, which the planner writes as a placeholder
    #    ("[add a sourced statistic; the brief gave none]"). Same detector as the planner (creative_vocab).
    style = v["hook_style"]
    stat = statistic_in(sentences(transcript))
    if style != "statistic":
        fit, why = 30.0, f"the {style.replace('_', ' ')} hook line is written from the brief"
    elif stat is not None:
        fit, why = 30.0, f'statistic hook quotes the brief: "{_quote(stat, 40)}"'
    else:
        fit, why = 0.0, "statistic hook but the brief has no statistic: the hook line is a placeholder"
    numbers.update({"hook_complete": float(fit > 0), "brief_has_statistic": float(stat is not None)})
    parts.append(f"{why} +{fit:.0f}")
    score = _clip(brevity + kw_pts + dp + fit)
    numbers["score"] = score
    us = units(transcript)
    evidence = [cite(us[0], "the opening line")] if us else []
    if style == "statistic" and stat is not None:
        evidence += [cite(u, "the statistic the hook quotes") for u in us if u.text == stat][:1]
    return ViralityComponent(
        name="hook",
        score=score,
        weight=HOOK_WEIGHT,
        explanation=f'hook_style={style}, opening "{_quote(op.text)}": ' + "; ".join(parts),
        numbers=numbers,
        evidence=evidence,
    )


# --------------------------------------------------------------------------- emotion
def emotion(transcript: Transcript, context: CreativeContext, variant: dict[str, str]) -> ViralityComponent:
    """From the brief only: the colour grade and pacing are not emotion evidence (no points per arm)."""
    ws = words(transcript.text)
    n = max(1, len(ws))
    emo = sum(1 for w in ws if w in EMOTION_WORDS)
    inten = sum(1 for w in ws if w in INTENSIFIERS)
    excl = transcript.text.count("!")
    density = 100.0 * (emo + 0.5 * inten) / n  # emotion words per 100 words
    lexical = min(50.0, density * 10.0)  # 5 per 100 words saturates
    polarity = 30.0 * abs(context.sentiment)
    punct = min(10.0, 5.0 * excl)
    score = _clip(lexical + polarity + punct)
    evidence = []
    for u in units(transcript):
        found = [w for w in words(u.text) if w in EMOTION_WORDS or w in INTENSIFIERS]
        if found:
            evidence.append(cite(u, "emotion words: " + ", ".join(dict.fromkeys(found))))
    return ViralityComponent(
        name="emotion",
        evidence=evidence[:5],
        score=score,
        weight=EMOTION_WEIGHT,
        explanation=(
            f"{emo} emotion + {inten} intensifier words in {len(ws)} ({density:.1f}/100 words) +{lexical:.0f}; "
            f"sentiment {context.sentiment:+.2f} +{polarity:.0f}; {excl} exclamations +{punct:.0f}"
        ),
        numbers={
            "emotion_words": emo,
            "intensifiers": inten,
            "words": len(ws),
            "per_100_words": round(density, 2),
            "sentiment": context.sentiment,
            "exclamations": excl,
            "score": score,
        },
    )


# --------------------------------------------------------------------------- clarity
def clarity(transcript: Transcript, context: CreativeContext, variant: dict[str, str]) -> ViralityComponent:
    text = transcript.text
    sents = sentences(transcript)
    ws = words(text)
    n = max(1, len(ws))
    avg = len(ws) / max(1, len(sents))
    # sentence length: 8-20 words is ideal; each word outside costs 2 points, at most 35.
    off = 0.0 if 8 <= avg <= 20 else (8 - avg if avg < 8 else avg - 20)
    len_pen = min(35.0, 2.0 * off)
    lowered = f" {' '.join(ws)} "
    fillers = sum(lowered.count(f" {f} ") for f in FILLERS)
    filler_rate = 100.0 * fillers / n
    fill_pen = min(30.0, 6.0 * filler_rate)  # 5 fillers per 100 words -> -30
    missing = len(context.missing)
    miss_pen = min(20.0, 4.0 * missing)
    focus = 0.0
    if context.keywords:
        top = context.keywords[0].lower()
        top_count = lowered.count(f" {top} ")
        focus = min(15.0, 5.0 * top_count)
    score = _clip(70.0 - len_pen - fill_pen - miss_pen + focus)
    whole = Evidence(
        source="brief",
        title=f"the whole brief: {len(sents)} sentences, {len(ws)} words",
        url="transcript.json",
        snippet=_quote(text, 200),
    )
    longest = max(units(transcript), key=lambda u: len(words(u.text)), default=None)
    evidence = [whole] + ([cite(longest, "its longest sentence")] if longest is not None and off else [])
    return ViralityComponent(
        name="clarity",
        evidence=evidence,
        score=score,
        weight=CLARITY_WEIGHT,
        explanation=(
            f"base 70; {avg:.1f} words/sentence -{len_pen:.0f}; {fillers} fillers ({filler_rate:.1f}/100 words) "
            f"-{fill_pen:.0f}; {missing} context fields unsaid -{miss_pen:.0f}; main keyword repeated +{focus:.0f}"
        ),
        numbers={
            "sentences": len(sents),
            "words_per_sentence": round(avg, 2),
            "fillers": fillers,
            "fillers_per_100_words": round(filler_rate, 2),
            "missing_fields": missing,
            "score": score,
        },
    )


# --------------------------------------------------------------------------- length fit
def planned_seconds(context: CreativeContext, variant: dict[str, str], n_scenes: int) -> float:
    """The length of the storyboard the planner writes for this variant (the same function it divides)."""
    return planned_duration(resolve_variant(variant)["pacing"], n_scenes, context.target_duration_s)


def platform_range(context: CreativeContext) -> tuple[str, tuple[float, float]]:
    name = (context.platform or "").lower()
    for key, rng in PLATFORM_RANGE.items():
        if key and re.search(rf"\b{re.escape(key)}\b", name):
            return key, rng
    return "short-form (no platform named)", SHORT_FORM


def length_fit(
    transcript: Transcript,
    context: CreativeContext,
    variant: dict[str, str],
    n_scenes: int = 5,
    edited_s: float | None = None,
) -> ViralityComponent:
    """`edited_s`: the length of a storyboard a person edited (its scenes' durations), instead of the plan's."""
    seconds = planned_seconds(context, variant, n_scenes) if edited_s is None else round(edited_s, 3)
    platform, (lo, hi) = platform_range(context)
    if lo <= seconds <= hi:
        score, where = 100.0, "inside"
    elif seconds < lo:
        score, where = 100.0 * seconds / lo, "shorter than"
    else:
        score, where = 100.0 * hi / seconds, "longer than"
    score = _clip(score)
    source = (
        duration_source(resolve_variant(variant)["pacing"], n_scenes, context.target_duration_s)
        if edited_s is None
        else "the edited scenes' durations"
    )
    planned = Evidence(
        source="storyboard",
        title=f"planned length: {seconds:g} s over {n_scenes} scenes",
        url="scenes.json",
        snippet=f"{platform}: {lo:.0f}-{hi:.0f} s",
    )
    return ViralityComponent(
        name="length_fit",
        evidence=[planned],
        score=score,
        weight=LENGTH_WEIGHT,
        explanation=f"planned {seconds:g} s from {source}, {where} the {lo:.0f}-{hi:.0f} s sweet spot of {platform}",
        numbers={"planned_seconds": seconds, "range_low": lo, "range_high": hi, "score": score},
    )


def content_components(
    transcript: Transcript,
    context: CreativeContext,
    variant: dict[str, str],
    n_scenes: int = 5,
    edited_s: float | None = None,
) -> list[ViralityComponent]:
    return [
        hook(transcript, context, variant),
        emotion(transcript, context, variant),
        clarity(transcript, context, variant),
        length_fit(transcript, context, variant, n_scenes, edited_s),
    ]
