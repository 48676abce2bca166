"""Virality stage: a 0-100 score from named components, each with its numbers, a one-line explanation and the
evidence links it rests on. No random numbers: what cannot be measured is listed in `not_evaluated`.

Components and weights (sum 0.90: the weights are relative, the score divides by their sum):
  content (services/virality/content.py): hook .20, emotion .15, clarity .10, length_fit .10
  (format_fit is listed in not_evaluated: the score is the optimizer's predicted reward, and hand-set points
  per creative arm would be learned back by it)
  forums (evidence from services/virality/evidence.py): demand .15, engagement .12, saturation .08

score      = sum(w_i * s_i) / sum(w_i) over the evaluated components
confidence = sum(w_i * c_i) / sum(all w_i), c_i = 1 for content components and, for forum components,
             (forums that answered / forums asked) * min(1, posts found / 10)
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

from storyreel.services.brief.levers import resolve_variant
from storyreel.services.virality.content import (
    CONTENT_WEIGHTS,
    FORMAT_FIT_REASON,
    content_components,
    format_family,
)
from storyreel.services.virality.providers.base import EvidenceSource
from storyreel.services.virality.sources import EVIDENCE_SOURCES, ForumSetup
from storyreel.shared.contracts import (
    CreativeContext,
    Evidence,
    NotEvaluated,
    SourceStatus,
    Transcript,
    ViralityComponent,
    ViralityReport,
)
from storyreel.shared.settings import ViralityConfig

if TYPE_CHECKING:
    from storyreel.shared.stores import CacheStore

FORUM_WEIGHTS = {"demand": 0.15, "engagement": 0.12, "saturation": 0.08}
EVIDENCE_PER_COMPONENT = 5
RECENCY_SCALE_DAYS = 180.0  # exp(-age/180): a post from this month ~0.85, from last year ~0.13
SUFFICIENT_POSTS = 10


def get_evidence_source(config: ViralityConfig, cache: CacheStore | None) -> EvidenceSource:
    """The forum evidence source `virality.provider` names (cache: where forum answers are kept, None for no
    caching); "auto" resolves in the registry (services/virality/providers)."""
    return EVIDENCE_SOURCES.build(ForumSetup(config, cache))


# --------------------------------------------------------------------------- forum components
def _links(posts: list[Evidence]) -> list[Evidence]:
    return posts[:EVIDENCE_PER_COMPONENT]


def demand(posts: list[Evidence], forums_ok: int, config: ViralityConfig) -> ViralityComponent:
    expected = max(1, forums_ok * config.posts_per_forum)
    volume = 60.0 * min(1.0, len(posts) / expected)
    aged = [p.age_days for p in posts if p.age_days is not None]
    recency = 40.0 * statistics.fmean(math.exp(-a / RECENCY_SCALE_DAYS) for a in aged) if aged else 0.0
    last30 = sum(1 for a in aged if a <= 30)
    median_age = statistics.median(aged) if aged else None
    score = round(min(100.0, volume + recency), 1)
    age_txt = (
        f"median age {median_age:.0f} days, {last30} in the last 30 days"
        if aged
        else "no post showed its age"
    )
    newest = sorted(posts, key=lambda p: p.age_days if p.age_days is not None else math.inf)
    numbers: dict[str, float] = {
        "posts": len(posts),
        "forums_answered": forums_ok,
        "expected_posts": expected,
        "posts_last_30d": last30,
    }
    if median_age is not None:
        numbers["median_age_days"] = round(median_age, 1)
    return ViralityComponent(
        name="demand",
        score=score,
        weight=FORUM_WEIGHTS["demand"],
        explanation=(
            f"{len(posts)} matching threads in {forums_ok} forums (of {expected} looked for) +{volume:.0f}; "
            f"{age_txt} +{recency:.0f}"
        ),
        numbers=numbers,
        evidence=_links(newest),
    )


def engagement(posts: list[Evidence]) -> ViralityComponent | None:
    scores = [p.score for p in posts if p.score is not None]
    comments = [p.comments for p in posts if p.comments is not None]
    if not scores and not comments:
        return None
    med_s = statistics.median(scores) if scores else 0.0
    med_c = statistics.median(comments) if comments else 0.0
    s_pts = 70.0 * min(1.0, math.log10(1 + med_s) / math.log10(1 + 1000)) if scores else 0.0
    c_pts = 30.0 * min(1.0, math.log10(1 + med_c) / math.log10(1 + 200)) if comments else 0.0
    top = sorted(posts, key=lambda p: (p.score or 0, p.comments or 0), reverse=True)
    return ViralityComponent(
        name="engagement",
        score=round(s_pts + c_pts, 1),
        weight=FORUM_WEIGHTS["engagement"],
        explanation=(
            f"similar threads: median {med_s:.0f} upvotes over {len(scores)} posts (1000 = full) +{s_pts:.0f}; "
            f"median {med_c:.0f} comments over {len(comments)} posts (200 = full) +{c_pts:.0f}"
        ),
        numbers={
            "median_upvotes": float(med_s),
            "median_comments": float(med_c),
            "posts_with_score": len(scores),
            "posts_with_comments": len(comments),
            "top_upvotes": float(max(scores)) if scores else 0.0,
        },
        evidence=_links(top),
    )


def saturation(posts: list[Evidence]) -> ViralityComponent | None:
    """Higher is better: a topic is crowded when many threads are recent and most of them got little attention."""
    if not posts:
        return ViralityComponent(
            name="saturation",
            score=100.0,
            weight=FORUM_WEIGHTS["saturation"],
            explanation="no matching threads in the forums that answered: nothing competing",
            numbers={"posts": 0},
        )
    aged = [p for p in posts if p.age_days is not None]
    scored = [p for p in posts if p.score is not None]
    if not aged and not scored:
        return None
    recent = [p for p in aged if p.age_days is not None and p.age_days <= 30]
    low = [p for p in scored if (p.score or 0) < 10]
    recent_share = len(recent) / len(aged) if aged else 0.0
    low_share = len(low) / len(scored) if scored else 0.0
    score = round(100.0 * (1 - 0.5 * recent_share - 0.5 * low_share), 1)
    crowd = [p for p in recent if p in low] or recent or low
    return ViralityComponent(
        name="saturation",
        score=score,
        weight=FORUM_WEIGHTS["saturation"],
        explanation=(
            f"{len(recent)} of {len(aged)} dated threads are from the last 30 days (-{50 * recent_share:.0f}); "
            f"{len(low)} of {len(scored)} scored threads got under 10 upvotes (-{50 * low_share:.0f})"
        ),
        numbers={
            "recent_share": round(recent_share, 3),
            "low_engagement_share": round(low_share, 3),
            "posts_dated": len(aged),
            "posts_scored": len(scored),
        },
        evidence=_links(crowd),
    )


# --------------------------------------------------------------------------- the report
def _failures(statuses: list[SourceStatus]) -> str:
    """'reddit:r/videos, hackernews: <error>; reddit:r/youtube: <other error>' (forums grouped by error)."""
    by_error: dict[str, list[str]] = {}
    for s in statuses:
        if not s.ok:
            by_error.setdefault(s.error or "failed", []).append(s.source)
    return "; ".join(f"{', '.join(srcs)}: {err}" for err, srcs in by_error.items())


def gather_evidence(
    source: EvidenceSource | None, context: CreativeContext, config: ViralityConfig
) -> tuple[list[Evidence], list[SourceStatus]] | None:
    if source is None:
        return None
    return source.gather(list(context.keywords), config)


def score_variant(
    transcript: Transcript,
    context: CreativeContext,
    variant: dict[str, str],
    gathered: tuple[list[Evidence], list[SourceStatus]] | None,
    config: ViralityConfig,
    *,
    n_scenes: int = 5,
) -> ViralityReport:
    """The report for one variant given already gathered evidence (None: forum evidence turned off)."""
    from storyreel.services.virality.evidence import normalize_keywords

    variant = resolve_variant(variant)
    components = content_components(transcript, context, variant, n_scenes)
    not_evaluated: list[NotEvaluated] = []
    statuses: list[SourceStatus] = []
    forum_factor = 0.0
    # format fit is named, never scored: the score is the optimizer's predicted reward (docs/virality.md)
    format_fit = NotEvaluated(
        component="format_fit", reason=FORMAT_FIT_REASON.format(family=format_family(context))
    )
    if gathered is None:
        reason = "forum evidence is off (pipeline.virality_evaluation: false)"
        not_evaluated = [NotEvaluated(component=name, reason=reason) for name in FORUM_WEIGHTS]
    else:
        posts, statuses = gathered
        ok = [s for s in statuses if s.ok]
        if not statuses:
            reason = "the brief has no keywords to search the forums for"
            not_evaluated = [NotEvaluated(component=name, reason=reason) for name in FORUM_WEIGHTS]
        elif not ok:
            failures = _failures(statuses)
            not_evaluated = [
                NotEvaluated(component=n, reason=f"no forum answered ({failures})") for n in FORUM_WEIGHTS
            ]
        else:
            forum_factor = (len(ok) / len(statuses)) * min(1.0, len(posts) / SUFFICIENT_POSTS)
            components.append(demand(posts, len(ok), config))
            eng = engagement(posts)
            if eng is None:
                not_evaluated.append(
                    NotEvaluated(component="engagement", reason="no thread showed its upvotes or comments")
                )
            else:
                components.append(eng)
            sat = saturation(posts)
            if sat is None:
                not_evaluated.append(
                    NotEvaluated(component="saturation", reason="no thread showed its age or upvotes")
                )
            else:
                components.append(sat)
            failed = [s for s in statuses if not s.ok]
            if failed:
                not_evaluated.append(
                    NotEvaluated(
                        component="forums",
                        reason="left out: " + _failures(failed),
                    )
                )
    not_evaluated.append(format_fit)
    total_w = sum(c.weight for c in components)
    score = round(sum(c.weight * c.score for c in components) / total_w, 1) if total_w else None
    all_w = sum(CONTENT_WEIGHTS.values()) + sum(FORUM_WEIGHTS.values())
    conf = sum(c.weight * (forum_factor if c.name in FORUM_WEIGHTS else 1.0) for c in components) / all_w
    forum_used = any(c.name in FORUM_WEIGHTS for c in components)
    return ViralityReport(
        score=score,
        confidence=round(conf, 3),
        components=components,
        not_evaluated=not_evaluated,
        sources=statuses,
        variant=variant,
        method="content+forums" if forum_used else "content-only",
        keywords=normalize_keywords(list(context.keywords)),
    )


def evaluate(
    transcript: Transcript,
    context: CreativeContext,
    variant: dict[str, str],
    source: EvidenceSource | None,
    config: ViralityConfig,
    *,
    n_scenes: int = 5,
) -> ViralityReport:
    return score_variant(
        transcript, context, variant, gather_evidence(source, context, config), config, n_scenes=n_scenes
    )


def evaluate_variants(
    transcript: Transcript,
    context: CreativeContext,
    variants: list[dict[str, str]],
    source: EvidenceSource | None,
    config: ViralityConfig,
    *,
    n_scenes: int = 5,
) -> list[ViralityReport]:
    """Score several variants against one gathering of evidence (forum components do not depend on the variant)."""
    gathered = gather_evidence(source, context, config)
    return [score_variant(transcript, context, v, gathered, config, n_scenes=n_scenes) for v in variants]


def rescore_content(
    report: ViralityReport,
    transcript: Transcript,
    context: CreativeContext,
    variant: dict[str, str],
    *,
    n_scenes: int,
    edited_s: float | None,
) -> ViralityReport:
    """`report` with its content components scored again for an edited storyboard (transcript, context, scene
    count and length); the forum components, their evidence and the sources are kept as they are (not fetched
    again). The confidence stays: content components always count fully (the module docstring)."""
    variant = resolve_variant(variant)
    content = content_components(transcript, context, variant, n_scenes, edited_s)
    forums = [c for c in report.components if c.name in FORUM_WEIGHTS]
    components = content + forums
    total_w = sum(c.weight for c in components)
    score = round(sum(c.weight * c.score for c in components) / total_w, 1) if total_w else None
    return report.model_copy(update={"score": score, "components": components, "variant": variant})
