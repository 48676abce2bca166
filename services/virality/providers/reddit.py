"""Reddit's public JSON (/r/NAME/search.json): the fallback when Firecrawl refuses reddit.com."""

from __future__ import annotations

import threading
import time

from storyreel.services.virality.providers.base import Deadline, Forum
from storyreel.services.virality.providers.http_json import PublicJSONSearch, age_days, as_int
from storyreel.shared.contracts import Evidence
from storyreel.shared.errors import ProviderError

PUBLIC = "https://www.reddit.com"


class RedditJSON(PublicJSONSearch):
    name = "reddit-json"
    kind = "reddit"

    def fetch(
        self, forum: Forum, keywords: list[str], limit: int, deadline: Deadline, limiter: threading.Semaphore
    ) -> tuple[list[Evidence], list[str]]:
        body = self.search(
            forum,
            f"{self.config.reddit_base_url.rstrip('/')}/r/{forum.name}/search.json",
            {"q": " ".join(keywords), "restrict_sr": "1", "sort": "relevance", "t": "year", "limit": limit},
            deadline,
            limiter,
        )
        try:
            children = body["data"]["children"]
            if not isinstance(children, list):
                raise TypeError("children is not a list")
        except (KeyError, TypeError) as exc:
            raise ProviderError(
                f"{self.name}: malformed body (no data.children listing)", provider=self.name
            ) from exc
        now = time.time()
        out: list[Evidence] = []
        for child in children[:limit]:
            post = child.get("data") if isinstance(child, dict) else None
            if not isinstance(post, dict) or child.get("kind") != "t3" or not post.get("permalink"):
                continue
            created = post.get("created_utc")
            out.append(
                Evidence(
                    source=forum.id,
                    title=str(post.get("title", "")),
                    url=PUBLIC + str(post["permalink"]),
                    score=as_int(post.get("score")),
                    comments=as_int(post.get("num_comments")),
                    age_days=age_days(created, now),
                    snippet=str(post.get("selftext", ""))[:200],
                )
            )
        return out, []
