"""A JSON GET over httpx with explicit timeouts and the errors mapped to ours (used by the public-API fallbacks)."""

from __future__ import annotations

from typing import Any

import httpx

from services.virality.providers.base import Deadline, RateLimited, retry_after_seconds
from shared.errors import ProviderError


def get_json(
    url: str,
    params: dict[str, Any],
    *,
    provider: str,
    deadline: Deadline,
    request_timeout_s: float,
    user_agent: str,
) -> Any:
    timeout = deadline.timeout(request_timeout_s)
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), headers={"User-Agent": user_agent}) as client:
            resp = client.get(url, params=params)
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
