"""What the brief itself holds, as context features for the creative optimizer (services/optimizer).

A hook style can fail only for briefs that lack what it needs (a `statistic` hook with no number to quote, a
`question` hook for a brief that asks nothing): with these features in the context the optimizer learns that per
kind of brief instead of learning that the hook is bad in general.

    has_statistic  the brief holds a statistic a hook may quote (vocab.STATISTIC: "40 percent", "three in ten")
    has_question   the brief asks a question (a "?" or a sentence opening with a question word)
    names_product  the brief is about a product: the format is a product video, the intent is to sell, or it
                   names one ("our new app", "my brand", "the X product")
    states_style   the brief names a look, a grade or a pace itself (a visual_style / color_treatment / pacing
                   arm of LEVERS, or a close synonym)

Pure functions of the text and the context: no randomness, no network. Values are "yes" / "no" (the
optimizer's features are strings).
"""

from __future__ import annotations

import re

from storyreel.services.brief.levers import LEVERS
from storyreel.services.brief.vocab import STATISTIC, format_family
from storyreel.shared.contracts import CreativeContext

FEATURES = ("has_statistic", "has_question", "names_product", "states_style")

_QUESTION_OPENING = re.compile(
    r"(?:^|[.!?]\s+)(?:who|what|why|how|when|where|which|did you know|have you ever|ever wondered|"
    r"do you|are you|can you|is it|would you)\b",
    re.IGNORECASE,
)
_PRODUCT = re.compile(
    r"\b(?:our|my|the|this|new)\s+(?:new\s+)?(?:app|product|brand|gadget|device|tool|service|kit|course|"
    r"collection|launch|line)\b",
    re.IGNORECASE,
)
_SELL_INTENT = re.compile(r"\b(?:sell|promot|launch|advertis|market)", re.IGNORECASE)
_STYLE_WORDS = tuple(
    sorted(
        {
            *LEVERS["visual_style"],
            *LEVERS["color_treatment"],
            "slow paced",
            "fast paced",
            "fast-paced",
            "slow-paced",
            "black and white",
            "pastel",
            "moody",
            "retro",
            "cartoon",
            "film look",
        }
    )
)
_STYLE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in _STYLE_WORDS) + r")\b", re.IGNORECASE)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def brief_features(text: str, context: CreativeContext | None = None) -> dict[str, str]:
    """The four brief features of a brief's text (and, for names_product, its context's format and intent)."""
    lowered = text.lower()
    product = bool(_PRODUCT.search(text))
    if context is not None:
        family = format_family(context.content_style, context.intent)
        product = product or family == "product" or bool(_SELL_INTENT.search(context.intent))
    return {
        "has_statistic": _yes(bool(STATISTIC.search(lowered))),
        "has_question": _yes("?" in text or bool(_QUESTION_OPENING.search(text.strip()))),
        "names_product": _yes(product),
        "states_style": _yes(bool(_STYLE.search(text))),
    }
