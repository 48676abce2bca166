"""The vocabulary the scenes planner and the virality score share, defined once so the two never disagree:

- `tokens`: how a brief is cut into words;
- `CTA_PHRASE` / `CTA_CUE`: the call-to-action words ("link in bio") and the cues that mark a closing beat;
- `statistic_in` / `STATISTIC`: what counts as a statistic a hook may quote ("three in ten", "40 percent"; never
  a bare "three" or "thirty seconds");
- `planned_duration`: the video length a plan has, from the pacing, the number of scenes and the asked length
  (the planner splits exactly this total over its scenes; the virality length fit scores exactly this);
- `format_family`: the planner's content styles folded to the families the virality format reading and the
  optimizer's context features use.

Plain data and pure functions: no randomness, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# --------------------------------------------------------------------------- words
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def tokens(text: str) -> list[str]:
    """The lowercase words of `text` ("don't" and "lo-fi" stay one word; punctuation and % are dropped)."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


# --------------------------------------------------------------------------- call to action
# The call-to-action words themselves ("follow for more", "link in bio"): what an end card says.
CTA_PHRASE = re.compile(
    r"\b(?:link in (?:the |my |our )?bio|follow (?:us|for|me|along)|subscribe|sign up|buy (?:now|it|one)"
    r"|shop (?:now|the)|order (?:now|yours|online)|visit (?:our|the|us)|download|book (?:now|a|your)|swipe up"
    r"|learn more|try it|get yours|comment (?:below|with)|tag a friend|check out (?:our|the)|head to"
    r"|available (?:now|at|in))\b"
)
# A sentence that closes the video: an explicit closing cue or the call-to-action words.
CTA_CUE = re.compile(
    r"\b(?:call to action|end(?:s|ing)? (?:with|on)|clos(?:e|es|ing) (?:with|on|out)|finish(?:es|ing)? (?:with|on)"
    r"|wrap(?:s|ping)? up|last (?:shot|scene|frame))\b"
    r"|" + CTA_PHRASE.pattern
)

# --------------------------------------------------------------------------- statistics
_TENS_WORDS = r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_SMALL_WORDS = r"one|two|three|four|five|six|seven|eight|nine"
# A figure a hook can quote: a percentage, a multiple, a count in thousands/millions, "three in ten",
# "half of". A bare number ("three bottles") or a duration ("thirty seconds") is not a statistic.
STATISTIC = re.compile(
    r"\b(?:\d+(?:\.\d+)?\s*(?:%|percent|per cent|x\b|times\b|million|thousand|billion|k\b)"
    rf"|(?:(?:{_TENS_WORDS})(?: (?:{_SMALL_WORDS}))?|ten|a hundred|one hundred) (?:percent|per cent)"
    rf"|(?:{_SMALL_WORDS}) (?:in|out of) (?:ten|a hundred|\d+)"
    r"|(?:half|a third|a quarter|two thirds|three quarters) of (?:all |the |us|them|people|americans|adults)"
    rf"|(?:\d+|{_TENS_WORDS}|{_SMALL_WORDS}|ten|a hundred|hundreds of|thousands of|millions of) (?:million|thousand|billion)"
    r"|(?:hundreds|thousands|millions|billions) of)"
)


def statistic_in(sentences: Iterable[str]) -> str | None:
    """The first sentence that holds a statistic (the planner quotes it as the hook), or None."""
    for s in sentences:
        if STATISTIC.search(s.lower()):
            return s
    return None


# --------------------------------------------------------------------------- durations
# Seconds per scene when the speaker asked for no length.
BASE_SECONDS = {"fast": 2.5, "balanced": 4.0, "slow": 6.0}


def planned_duration(pacing: str, n_scenes: int, target_s: float | None) -> float:
    """The whole video's length in seconds: the length the speaker asked for, else n_scenes x the pacing's
    seconds per scene. The planner divides this total over its scenes; the virality length fit scores it."""
    if target_s:
        return float(target_s)
    return round(BASE_SECONDS[pacing] * n_scenes, 1)


def duration_source(pacing: str, n_scenes: int, target_s: float | None) -> str:
    """Where `planned_duration` came from, in words (for explanations)."""
    if target_s:
        return "the length the speaker asked for"
    return f"{n_scenes} scenes x {BASE_SECONDS[pacing]:g} s ({pacing} pacing)"


# --------------------------------------------------------------------------- format families
FORMAT_FAMILIES = ("tutorial", "vlog", "product", "story", "entertainment", "other")
# Every content_style the local planner writes (services/brief/lexicon.py STYLE_CUES and STYLE_FOR_INTENT),
# with or without its "short-form " prefix.
STYLE_FAMILY: dict[str, str] = {
    "behind-the-scenes": "vlog",
    "day-in-the-life": "vlog",
    "vlog": "vlog",
    "product demo": "product",
    "unboxing": "product",
    "review": "product",
    "testimonial": "product",
    "commercial": "product",
    "ad": "product",
    "teaser": "product",
    "lookbook": "product",
    "announcement": "product",
    "tutorial": "tutorial",
    "how-to": "tutorial",
    "recipe": "tutorial",
    "explainer": "tutorial",
    "walkthrough": "tutorial",
    "case study": "tutorial",
    "documentary": "story",
    "interview": "story",
    "montage": "story",
    "trailer": "story",
    "story": "story",
    "music video": "entertainment",
}
# A style the planner could not name ("short-form video") is read through the brief's intent.
INTENT_FAMILY: dict[str, str] = {
    "sell": "product",
    "educate": "tutorial",
    "inform": "tutorial",
    "entertain": "entertainment",
    "inspire": "story",
    "raise awareness": "story",
    "document": "vlog",
}
# Free-text styles (the OpenAI planner's, a user's): substrings, checked in this order.
FORMAT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vlog", ("vlog", "day in", "day-in", "behind the scenes", "behind-the-scenes", "diary", "travel")),
    (
        "tutorial",
        (
            "tutorial",
            "how-to",
            "how to",
            "guide",
            "explainer",
            "lesson",
            "educat",
            "walkthrough",
            "tips",
            "recipe",
        ),
    ),
    (
        "product",
        ("product", "demo", "launch", "review", "unboxing", "commercial", "promo", "testimonial", "advert"),
    ),
    (
        "entertainment",
        ("comedy", "sketch", "entertain", "funny", "meme", "prank", "challenge", "music video"),
    ),
    ("story", ("story", "narrative", "documentary", "short film", "film", "interview", "trailer")),
)


def format_family(content_style: str | None, intent: str | None) -> str:
    """The content style folded to one of FORMAT_FAMILIES: the planner's own styles by table, free text by its
    words, and a style that names no format ("short-form video") by the intent."""
    style = (content_style or "").strip().lower()
    bare = style.removeprefix("short-form ").strip()
    if bare in STYLE_FAMILY:
        return STYLE_FAMILY[bare]
    for family, cues in FORMAT_WORDS:
        if any(c in style for c in cues):
            return family
    if re.search(r"\bad\b", style):
        return "product"
    return INTENT_FAMILY.get((intent or "").strip().lower(), "other")
