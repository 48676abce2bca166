"""Forum evidence: which forums to ask, in parallel under a concurrency limit and a per-source time budget,
with a fallback per site and a cache per (forum, normalized keyword set) with a TTL.

One slow forum cannot hold the run: every forum has `time_budget_s`; a forum that has not answered by then is
reported as failed ("time budget exceeded") and the others are used. A forum Firecrawl refuses is asked through
its public JSON API (HN Algolia, Reddit .json) and the report says so (`via`, `fallback_from`).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from storyreel.services.virality.providers.base import (
    Deadline,
    Forum,
    ForumFetcher,
    SourceRefused,
    parse_forum,
)
from storyreel.shared.contracts import Evidence, SourceStatus, Usage
from storyreel.shared.errors import ProviderError
from storyreel.shared.settings import ViralityConfig

CACHE_VERSION = "v1"
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "for",
        "on",
        "with",
        "my",
        "our",
        "your",
        "this",
        "that",
        "video",
        "videos",
    ]
)

# Topic subreddits chosen from the keywords (first match wins per keyword; at most max_topic_subreddits).
TOPIC_SUBREDDITS: dict[str, str] = {
    "cooking": "Cooking",
    "recipe": "recipes",
    "recipes": "recipes",
    "food": "food",
    "baking": "Baking",
    "coffee": "Coffee",
    "fitness": "fitness",
    "workout": "fitness",
    "running": "running",
    "yoga": "yoga",
    "travel": "travel",
    "hiking": "hiking",
    "camping": "camping",
    "gaming": "gaming",
    "game": "gaming",
    "music": "WeAreTheMusicMakers",
    "photography": "photography",
    "camera": "cameras",
    "drone": "drones",
    "film": "Filmmakers",
    "filmmaking": "Filmmakers",
    "animation": "animation",
    "design": "Design",
    "art": "Art",
    "tech": "technology",
    "technology": "technology",
    "programming": "programming",
    "software": "programming",
    "ai": "artificial",
    "startup": "startups",
    "startups": "startups",
    "marketing": "marketing",
    "business": "smallbusiness",
    "finance": "personalfinance",
    "money": "personalfinance",
    "crypto": "CryptoCurrency",
    "fashion": "fashion",
    "skincare": "SkincareAddiction",
    "makeup": "MakeupAddiction",
    "garden": "gardening",
    "gardening": "gardening",
    "diy": "DIY",
    "car": "cars",
    "cars": "cars",
    "bike": "bicycling",
    "cycling": "bicycling",
    "dog": "dogs",
    "dogs": "dogs",
    "cat": "cats",
    "cats": "cats",
    "science": "science",
    "space": "space",
    "education": "education",
    "parenting": "Parenting",
    "wedding": "weddingplanning",
}


def normalize_keywords(keywords: list[str], max_terms: int = 4) -> list[str]:
    """Lowercase, strip punctuation and stop words, dedupe, keep the order the planner ranked them in."""
    out: list[str] = []
    for kw in keywords:
        term = re.sub(r"[^\w\s-]", " ", kw.lower()).strip()
        term = re.sub(r"\s+", " ", term)
        if term and term not in STOPWORDS and term not in out:
            out.append(term)
    return out[:max_terms]


def choose_forums(config: ViralityConfig, keywords: list[str]) -> list[Forum]:
    forums = [parse_forum(spec) for spec in config.forums]
    if config.topic_subreddits:
        added = 0
        for kw in keywords:
            for token in [kw, *kw.split()]:
                sub = TOPIC_SUBREDDITS.get(token)
                if sub and added < config.max_topic_subreddits:
                    forum = Forum("reddit", sub)
                    if all(f.id.lower() != forum.id.lower() for f in forums):
                        forums.append(forum)
                        added += 1
                    break
    unique: list[Forum] = []
    for f in forums:
        if all(u.id.lower() != f.id.lower() for u in unique):
            unique.append(f)
    return unique[: config.limit_forums] if config.limit_forums else unique


def cache_key(forum: Forum, keywords: list[str], limit: int) -> str:
    body = json.dumps(
        {"forum": forum.id.lower(), "keywords": sorted(keywords), "limit": limit}, sort_keys=True
    )
    return f"virality:{CACHE_VERSION}:{hashlib.sha256(body.encode()).hexdigest()[:32]}"


class ForumEvidence:
    """The EvidenceSource used by the virality stage (see services/virality/score.py)."""

    name = "forums"

    def __init__(
        self,
        cache: Any | None,
        primary: ForumFetcher | None,
        fallbacks: dict[str, ForumFetcher] | None = None,
    ) -> None:
        self.cache = cache
        self.primary = primary
        self.fallbacks = fallbacks or {}

    # ---- one forum
    def _fetch_one(
        self, forum: Forum, keywords: list[str], config: ViralityConfig, limiter: threading.Semaphore
    ) -> tuple[list[Evidence], SourceStatus]:
        t0 = time.monotonic()
        key = cache_key(forum, keywords, config.posts_per_forum)
        if self.cache is not None and config.cache_ttl_hours > 0:
            hit = self.cache.cache_get(key)
            if hit is not None:
                evidence = [Evidence.model_validate(e) for e in hit["evidence"]]
                return evidence, SourceStatus(
                    source=forum.id,
                    ok=True,
                    items=len(evidence),
                    seconds=round(time.monotonic() - t0, 4),
                    cached=True,
                    via=hit.get("via"),
                    fallback_from=hit.get("fallback_from"),
                    error=hit.get("warning"),
                )
        deadline = Deadline(config.time_budget_s)
        if self.primary is None:  # public APIs only
            fetcher = self.fallbacks.get(forum.kind)
            if fetcher is None:
                raise ProviderError(f"no provider for {forum.id}")
            evidence, warnings = fetcher.fetch(forum, keywords, config.posts_per_forum, deadline, limiter)
            return self._done(forum, keywords, config, t0, key, evidence, warnings, fetcher.name, None)
        via, fallback_from = self.primary.name, None
        try:
            evidence, warnings = self.primary.fetch(
                forum, keywords, config.posts_per_forum, deadline, limiter
            )
        except SourceRefused as refused:
            fallback = self.fallbacks.get(forum.kind)
            if fallback is None:
                raise
            via, fallback_from = fallback.name, str(refused)
            try:
                evidence, warnings = fallback.fetch(
                    forum, keywords, config.posts_per_forum, deadline, limiter
                )
            except ProviderError as exc:
                raise ProviderError(
                    f"{refused}; fallback {fallback.name}: {exc}", provider=fallback.name
                ) from exc
        return self._done(forum, keywords, config, t0, key, evidence, warnings, via, fallback_from)

    def _done(
        self,
        forum: Forum,
        keywords: list[str],
        config: ViralityConfig,
        t0: float,
        key: str,
        evidence: list[Evidence],
        warnings: list[str],
        via: str,
        fallback_from: str | None,
    ) -> tuple[list[Evidence], SourceStatus]:
        warning = "; ".join(warnings) or None
        if self.cache is not None and config.cache_ttl_hours > 0:
            self.cache.cache_put(
                key,
                {
                    "evidence": [e.model_dump(mode="json") for e in evidence],
                    "via": via,
                    "fallback_from": fallback_from,
                    "warning": warning,
                    "fetched_at": time.time(),
                },
                config.cache_ttl_hours * 3600.0,
            )
        return evidence, SourceStatus(
            source=forum.id,
            ok=True,
            items=len(evidence),
            seconds=round(time.monotonic() - t0, 4),
            via=via,
            fallback_from=fallback_from,
            error=warning,
        )

    def usage(self) -> list[Usage]:
        """Requests this source sent (cache hits send none), as Usage rows for the run record."""
        rows = []
        for fetcher in [self.primary, *self.fallbacks.values()]:
            calls = getattr(fetcher, "calls", None)
            if fetcher is not None and calls and sum(calls.values()):
                model = "+".join(f"{k}" for k, n in calls.items() if n)
                rows.append(
                    Usage(provider=fetcher.name, model=model, stage="virality", requests=sum(calls.values()))
                )
        return rows

    def _via_name(self, forum: Forum) -> str:
        if self.primary is not None:
            return self.primary.name
        fetcher = self.fallbacks.get(forum.kind)
        return fetcher.name if fetcher else "none"

    # ---- all forums
    def gather(
        self, keywords: list[str], config: ViralityConfig
    ) -> tuple[list[Evidence], list[SourceStatus]]:
        terms = normalize_keywords(keywords)
        if not terms:
            return [], []
        forums = choose_forums(config, terms)
        limiter = threading.BoundedSemaphore(config.concurrency)
        pool = ThreadPoolExecutor(max_workers=max(1, len(forums)), thread_name_prefix="forum")
        t0 = time.monotonic()
        futures = {pool.submit(self._fetch_one, f, terms, config, limiter): f for f in forums}
        # Each forum's own Deadline stops its requests; this wait is the backstop for one that hangs anyway.
        done, _ = wait(futures, timeout=config.time_budget_s + 0.5)
        pool.shutdown(wait=False, cancel_futures=True)
        evidence: list[Evidence] = []
        statuses: list[SourceStatus] = []
        for fut, forum in futures.items():
            if fut not in done:
                statuses.append(
                    SourceStatus(
                        source=forum.id,
                        ok=False,
                        seconds=round(time.monotonic() - t0, 3),
                        error=f"time budget of {config.time_budget_s:g} s exceeded",
                        via=self._via_name(forum),
                    )
                )
                continue
            try:
                found, status = fut.result()
            except ProviderError as exc:
                statuses.append(
                    SourceStatus(
                        source=forum.id,
                        ok=False,
                        seconds=round(time.monotonic() - t0, 3),
                        error=str(exc),
                        via=exc.provider or self._via_name(forum),
                    )
                )
                continue
            evidence.extend(found)
            statuses.append(status)
        return evidence, statuses


class Unconfigured:
    """No forum provider is set up (provider=auto with no Firecrawl key or URL): every forum is reported
    as not asked, with what to set. Keeps the local default offline."""

    name = "none"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def gather(
        self, keywords: list[str], config: ViralityConfig
    ) -> tuple[list[Evidence], list[SourceStatus]]:
        terms = normalize_keywords(keywords)
        if not terms:
            return [], []
        return [], [
            SourceStatus(source=f.id, ok=False, error=self.reason) for f in choose_forums(config, terms)
        ]
