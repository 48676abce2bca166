"""Hacker News through its public search API (hn.algolia.com/api/v1/search): the fallback for HN threads."""

from __future__ import annotations

import threading
import time

from storyreel.services.virality.providers.base import Deadline, Forum
from storyreel.services.virality.providers.http_json import PublicJSONSearch, age_days, as_int
from storyreel.shared.contracts import Evidence
from storyreel.shared.errors import ProviderError

HN_ITEM = "https://news.ycombinator.com/item?id={}"


class HackerNewsSearch(PublicJSONSearch):
    name = "hn-algolia"
    kind = "hackernews"

    def fetch(
        self, forum: Forum, keywords: list[str], limit: int, deadline: Deadline, limiter: threading.Semaphore
    ) -> tuple[list[Evidence], list[str]]:
        body = self.search(
            forum,
            f"{self.config.hn_api_url.rstrip('/')}/search",
            {"query": " ".join(keywords), "tags": "story", "hitsPerPage": limit},
            deadline,
            limiter,
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
                    score=as_int(hit.get("points")),
                    comments=as_int(hit.get("num_comments")),
                    age_days=age_days(created, now),
                    snippet=str(hit.get("url") or ""),
                )
            )
        return out, []
