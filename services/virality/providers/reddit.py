"""Reddit's public JSON (/r/NAME/search.json): the fallback when Firecrawl refuses reddit.com."""

from __future__ import annotations

import threading
import time
from typing import Any

from services.virality.providers.base import Deadline, Forum, with_retries
from services.virality.providers.hackernews import _int
from services.virality.providers.http_json import get_json
from shared.contracts import Evidence
from shared.errors import ProviderError
from shared.settings import ViralityConfig

PUBLIC = "https://www.reddit.com"


class RedditJSON:
    name = "reddit-json"

    def __init__(self, config: ViralityConfig) -> None:
        self.config = config
        self.calls: dict[str, int] = {"search": 0}
        self._lock = threading.Lock()

    def fetch(
        self, forum: Forum, keywords: list[str], limit: int, deadline: Deadline, limiter: threading.Semaphore
    ) -> tuple[list[Evidence], list[str]]:
        if forum.kind != "reddit":
            raise ProviderError(f"{self.name} cannot search {forum.id}", provider=self.name)

        def call() -> Any:
            with self._lock:
                self.calls["search"] += 1
            return get_json(
                f"{self.config.reddit_base_url.rstrip('/')}/r/{forum.name}/search.json",
                {
                    "q": " ".join(keywords),
                    "restrict_sr": "1",
                    "sort": "relevance",
                    "t": "year",
                    "limit": limit,
                },
                provider=self.name,
                deadline=deadline,
                request_timeout_s=self.config.request_timeout_s,
                user_agent=self.config.user_agent,
            )

        body = with_retries(
            call, provider=self.name, deadline=deadline, max_retries=self.config.max_retries, limiter=limiter
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
                    score=_int(post.get("score")),
                    comments=_int(post.get("num_comments")),
                    age_days=round((now - float(created)) / 86400, 3)
                    if isinstance(created, int | float)
                    else None,
                    snippet=str(post.get("selftext", ""))[:200],
                )
            )
        return out, []
