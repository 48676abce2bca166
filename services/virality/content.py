"""Content-only virality components: computed from the transcript, the creative context and the variant.

Milliseconds, no network, no randomness: every point is counted from the text and explained in one line.
The variant matters: the scenes stage writes the hook in the chosen `hook_style`, cuts at the chosen
`pacing` and grades in the chosen `color_treatment`, so the same brief scores differently per variant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.contracts import CreativeContext, Transcript, ViralityComponent
from shared.creative import resolve_variant

WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*|\d+(?:[.,]\d+)?%?")
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
NUMBER = re.compile(
    r"\b\d+(?:[.,]\d+)?%?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million)\b",
    re.I,
)

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
NARRATIVE = frozenset(
    ["i", "we", "my", "our", "me", "us", "when", "once", "remember", "started", "was", "were"]
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
INTENSIFIERS = frozenset(
    ["really", "very", "so", "totally", "absolutely", "extremely", "super", "incredibly", "literally"]
)
FILLERS = ("um", "uh", "erm", "basically", "actually", "sort of", "kind of", "i mean")

HOOK_WEIGHT, EMOTION_WEIGHT, CLARITY_WEIGHT, LENGTH_WEIGHT, FORMAT_WEIGHT = 0.20, 0.15, 0.10, 0.10, 0.10
CONTENT_WEIGHTS = {
    "hook": HOOK_WEIGHT,
    "emotion": EMOTION_WEIGHT,
    "clarity": CLARITY_WEIGHT,
    "length_fit": LENGTH_WEIGHT,
    "format_fit": FORMAT_WEIGHT,
}

# Seconds per scene at each pacing (the scenes stage uses the same cut lengths).
SCENE_SECONDS = {"fast": 3.0, "balanced": 5.0, "slow": 8.0}
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

# Which arms suit which format (points added to a base of 40; documented in docs/virality.md).
FORMAT_AFFINITY: dict[str, dict[str, dict[str, int]]] = {
    "tutorial": {
        "visual_style": {"minimalist": 20, "documentary": 15},
        "pacing": {"balanced": 20, "slow": 15},
        "color_treatment": {"cool": 10, "muted": 10},
        "hook_style": {"question": 10, "statistic": 10},
    },
    "vlog": {
        "visual_style": {"documentary": 20, "cinematic": 10},
        "pacing": {"balanced": 20, "fast": 10},
        "color_treatment": {"warm": 10, "vibrant": 10},
        "hook_style": {"story": 10, "question": 5},
    },
    "product": {
        "visual_style": {"minimalist": 20, "cinematic": 15},
        "pacing": {"fast": 20, "balanced": 10},
        "color_treatment": {"vibrant": 10, "cool": 10},
        "hook_style": {"bold_claim": 10, "statistic": 10},
    },
    "story": {
        "visual_style": {"cinematic": 20, "animated": 10},
        "pacing": {"fast": 15, "balanced": 15},
        "color_treatment": {"warm": 10, "muted": 5},
        "hook_style": {"story": 10, "bold_claim": 5},
    },
    "entertainment": {
        "visual_style": {"animated": 20, "cinematic": 10},
        "pacing": {"fast": 20},
        "color_treatment": {"vibrant": 10},
        "hook_style": {"bold_claim": 10, "question": 5},
    },
    "other": {
        "visual_style": {"cinematic": 10, "documentary": 10},
        "pacing": {"balanced": 15, "fast": 10},
        "color_treatment": {"warm": 5, "vibrant": 5},
        "hook_style": {"question": 5},
    },
}
FORMAT_WORDS = {
    "tutorial": (
        "tutorial",
        "how-to",
        "how to",
        "guide",
        "explainer",
        "lesson",
        "educat",
        "walkthrough",
        "tips",
    ),
    "vlog": ("vlog", "day in", "behind the scenes", "diary", "travel"),
    "product": ("product", "demo", "launch", "review", "unboxing", "ad", "commercial", "promo"),
    "story": ("story", "narrative", "documentary", "short film", "film"),
    "entertainment": ("comedy", "sketch", "entertain", "funny", "meme", "prank", "challenge"),
}


def format_family(context: CreativeContext) -> str:
    """The content style folded to one of FORMAT_AFFINITY's families (also the optimizer's context feature)."""
    text = f"{context.content_style} {context.intent}".lower()
    for family, words in FORMAT_WORDS.items():
        if any(w in text for w in words):
            return family
    return "other"


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text) if s.strip()]


@dataclass(frozen=True)
class Opening:
    text: str
    words: list[str]


def opening(transcript: Transcript) -> Opening:
    """The brief's first sentence (or its first 8 seconds of segments when there is no punctuation)."""
    first = sentences(transcript.text)[:1]
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
    all_words = words(transcript.text)
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
    # 4) how well the chosen hook style fits what the brief can back up (the planner writes the hook in it).
    style = v["hook_style"]
    has_number = bool(NUMBER.search(transcript.text))
    narrative = sum(1 for w in all_words if w in NARRATIVE)
    superlatives = sum(1 for w in all_words if w in POWER_WORDS)
    if style == "question":
        fit, why = 30.0, "a question hook always has material"
    elif style == "statistic":
        fit, why = (
            (40.0, "statistic hook with a number in the brief")
            if has_number
            else (
                10.0,
                "statistic hook but the brief has no number to quote",
            )
        )
    elif style == "story":
        fit, why = (
            (35.0, f"story hook backed by {narrative} narrative words")
            if narrative >= 3
            else (
                15.0,
                f"story hook with only {narrative} narrative words",
            )
        )
    else:  # bold_claim
        fit, why = (
            (35.0, f"bold claim backed by {superlatives} power words")
            if superlatives >= 2
            else (
                20.0,
                f"bold claim with {superlatives} power words to back it",
            )
        )
    numbers.update({"style_fit": fit, "brief_has_number": float(has_number), "narrative_words": narrative})
    parts.append(f"{why} +{fit:.0f}")
    score = _clip(brevity + kw_pts + dp + fit)
    numbers["score"] = score
    return ViralityComponent(
        name="hook",
        score=score,
        weight=HOOK_WEIGHT,
        explanation=f'hook_style={style}, opening "{_quote(op.text)}": ' + "; ".join(parts),
        numbers=numbers,
    )


# --------------------------------------------------------------------------- emotion
def emotion(transcript: Transcript, context: CreativeContext, variant: dict[str, str]) -> ViralityComponent:
    v = resolve_variant(variant)
    ws = words(transcript.text)
    n = max(1, len(ws))
    emo = sum(1 for w in ws if w in EMOTION_WORDS)
    inten = sum(1 for w in ws if w in INTENSIFIERS)
    excl = transcript.text.count("!")
    density = 100.0 * (emo + 0.5 * inten) / n  # emotion words per 100 words
    lexical = min(50.0, density * 10.0)  # 5 per 100 words saturates
    polarity = 30.0 * abs(context.sentiment)
    punct = min(10.0, 5.0 * excl)
    treatment = {"vibrant": 10.0, "warm": 5.0, "cool": 0.0, "muted": 0.0}[v["color_treatment"]]
    pace = {"fast": 5.0, "balanced": 0.0, "slow": 0.0}[v["pacing"]]
    score = _clip(lexical + polarity + punct + treatment + pace)
    return ViralityComponent(
        name="emotion",
        score=score,
        weight=EMOTION_WEIGHT,
        explanation=(
            f"{emo} emotion + {inten} intensifier words in {len(ws)} ({density:.1f}/100 words) +{lexical:.0f}; "
            f"sentiment {context.sentiment:+.2f} +{polarity:.0f}; {excl} exclamations +{punct:.0f}; "
            f"{v['color_treatment']} grade +{treatment:.0f}; {v['pacing']} pacing +{pace:.0f}"
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
    sents = sentences(text)
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
    return ViralityComponent(
        name="clarity",
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
    if context.target_duration_s:
        return float(context.target_duration_s)
    return n_scenes * SCENE_SECONDS[resolve_variant(variant)["pacing"]]


def platform_range(context: CreativeContext) -> tuple[str, tuple[float, float]]:
    name = (context.platform or "").lower()
    for key, rng in PLATFORM_RANGE.items():
        if key and re.search(rf"\b{re.escape(key)}\b", name):
            return key, rng
    return "short-form (no platform named)", SHORT_FORM


def length_fit(
    transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int = 5
) -> ViralityComponent:
    seconds = planned_seconds(context, variant, n_scenes)
    platform, (lo, hi) = platform_range(context)
    if lo <= seconds <= hi:
        score, where = 100.0, "inside"
    elif seconds < lo:
        score, where = 100.0 * seconds / lo, "shorter than"
    else:
        score, where = 100.0 * hi / seconds, "longer than"
    score = _clip(score)
    source = (
        "the length the speaker asked for"
        if context.target_duration_s
        else (
            f"{n_scenes} scenes x {SCENE_SECONDS[resolve_variant(variant)['pacing']]:.0f} s "
            f"({resolve_variant(variant)['pacing']} pacing)"
        )
    )
    return ViralityComponent(
        name="length_fit",
        score=score,
        weight=LENGTH_WEIGHT,
        explanation=f"planned {seconds:.0f} s from {source}, {where} the {lo:.0f}-{hi:.0f} s sweet spot of {platform}",
        numbers={"planned_seconds": seconds, "range_low": lo, "range_high": hi, "score": score},
    )


# --------------------------------------------------------------------------- format fit
def format_fit(
    transcript: Transcript, context: CreativeContext, variant: dict[str, str]
) -> ViralityComponent:
    v = resolve_variant(variant)
    family = format_family(context)
    table = FORMAT_AFFINITY[family]
    gained = {lever: table.get(lever, {}).get(arm, 0) for lever, arm in v.items()}
    score = _clip(40.0 + sum(gained.values()))
    detail = ", ".join(f"{lever}={v[lever]} +{pts}" for lever, pts in gained.items())
    return ViralityComponent(
        name="format_fit",
        score=score,
        weight=FORMAT_WEIGHT,
        explanation=f"'{context.content_style}' read as {family}: base 40; {detail}",
        numbers={"base": 40.0, **{f"{k}_points": float(p) for k, p in gained.items()}, "score": score},
    )


def content_components(
    transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int = 5
) -> list[ViralityComponent]:
    return [
        hook(transcript, context, variant),
        emotion(transcript, context, variant),
        clarity(transcript, context, variant),
        length_fit(transcript, context, variant, n_scenes),
        format_fit(transcript, context, variant),
    ]
