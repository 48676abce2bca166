"""Hacker News through its public search API (hn.algolia.com/api/v1/search): the fallback for HN threads."""

from __future__ import annotations

import threading
import time
from typing import Any

from services.virality.providers.base import Deadline, Forum, with_retries
from services.virality.providers.http_json import get_json
from shared.contracts import Evidence
from shared.errors import ProviderError
from shared.settings import ViralityConfig

HN_ITEM = "https://news.ycombinator.com/item?id={}"


class HackerNewsSearch:
    name = "hn-algolia"

    def __init__(self, config: ViralityConfig) -> None:
        self.config = config
        self.calls: dict[str, int] = {"search": 0}
        self._lock = threading.Lock()

    def fetch(
        self, forum: Forum, keywords: list[str], limit: int, deadline: Deadline, limiter: threading.Semaphore
    ) -> tuple[list[Evidence], list[str]]:
        if forum.kind != "hackernews":
            raise ProviderError(f"{self.name} cannot search {forum.id}", provider=self.name)

        def call() -> Any:
            with self._lock:
                self.calls["search"] += 1
            return get_json(
                f"{self.config.hn_api_url.rstrip('/')}/search",
                {"query": " ".join(keywords), "tags": "story", "hitsPerPage": limit},
                provider=self.name,
                deadline=deadline,
                request_timeout_s=self.config.request_timeout_s,
                user_agent=self.config.user_agent,
            )

        body = with_retries(
            call, provider=self.name, deadline=deadline, max_retries=self.config.max_retries, limiter=limiter
        )
        hits = body.get("hits") if isinstance(body, dict) else None
        if not isinstance(hits, list):
            raise ProviderError(f"{self.name}: malformed body (no 'hits' list)", provider=self.name)
        now = time.time()
        out: list[Evidence] = []
        for hit in hits[:limit]:
            if (
                not isinstance(hit, dict)
                or not hit.get("objectID")
                or not (hit.get("title") or hit.get("story_title"))
            ):
                continue
            created = hit.get("created_at_i")
            out.append(
                Evidence(
                    source=forum.id,
                    title=str(hit.get("title") or hit.get("story_title")),
                    url=HN_ITEM.format(hit["objectID"]),
                    score=_int(hit.get("points")),
                    comments=_int(hit.get("num_comments")),
                    age_days=round((now - float(created)) / 86400, 3)
                    if isinstance(created, int | float)
                    else None,
                    snippet=str(hit.get("url") or ""),
                )
            )
        return out, []


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
