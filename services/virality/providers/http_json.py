"""The public JSON search APIs (HN Algolia, Reddit): one HTTP client per fetcher, explicit timeouts, the errors
mapped to ours, and the numbers every post parser needs."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from storyreel.services.virality.providers.base import (
    Deadline,
    Forum,
    RateLimited,
    retry_after_seconds,
    with_retries,
)
from storyreel.shared.errors import ProviderError
from storyreel.shared.settings import ViralityConfig


def get_json(
    client: httpx.Client,
    url: str,
    params: dict[str, Any],
    *,
    provider: str,
    deadline: Deadline,
    request_timeout_s: float,
) -> Any:
    timeout = deadline.timeout(request_timeout_s)
    try:
        resp = client.get(url, params=params, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise ProviderError(
            f"{provider}: timed out after {timeout:.1f} s", provider=provider, retryable=True
        ) from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"{provider}: request failed ({type(exc).__name__})", provider=provider) from exc
    if resp.status_code == 429:
        raise RateLimited(
            f"{provider}: rate limited (429)",
            provider=provider,
            retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
        )
    if resp.status_code >= 400:
        raise ProviderError(
            f"{provider}: HTTP {resp.status_code}", provider=provider, retryable=resp.status_code >= 500
        )
    try:
        return resp.json()
    except ValueError as exc:
        raise ProviderError(f"{provider}: malformed JSON body", provider=provider) from exc


class PublicJSONSearch:
    """What the HN and Reddit fetchers share: the forum kind they serve, one client (opened once: building one
    costs ~20 ms of CA-bundle loading), a count of the calls, and the shared retry policy."""

    name = "public-json"
    kind = ""

    def __init__(self, config: ViralityConfig) -> None:
        self.config = config
        self.calls: dict[str, int] = {"search": 0}
        self._lock = threading.Lock()
        self._client = httpx.Client(headers={"User-Agent": config.user_agent})

    def search(
        self, forum: Forum, url: str, params: dict[str, Any], deadline: Deadline, limiter: threading.Semaphore
    ) -> Any:
        if forum.kind != self.kind:
            raise ProviderError(f"{self.name} cannot search {forum.id}", provider=self.name)

        def call() -> Any:
            with self._lock:
                self.calls["search"] += 1
            return get_json(
                self._client,
                url,
                params,
                provider=self.name,
                deadline=deadline,
                request_timeout_s=self.config.request_timeout_s,
            )

        return with_retries(
            call, provider=self.name, deadline=deadline, max_retries=self.config.max_retries, limiter=limiter
        )


def as_int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def age_days(created_epoch: object, now: float | None = None) -> float | None:
    if not isinstance(created_epoch, int | float) or isinstance(created_epoch, bool):
        return None
    return round(((time.time() if now is None else now) - float(created_epoch)) / 86400, 3)
