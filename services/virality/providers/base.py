"""What every forum provider shares: the forum spec, the refusal signal, deadlines and polite retries."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from storyreel.shared.contracts import Evidence, SourceStatus
from storyreel.shared.errors import ConfigError, ProviderError
from storyreel.shared.retry import retry_after_seconds  # noqa: F401 - the forum fetchers import it from here
from storyreel.shared.settings import ViralityConfig

T = TypeVar("T")

FORUM_SPEC = re.compile(r"^(?:reddit:)?r/([A-Za-z0-9_]{2,21})$|^(hackernews|hn)$", re.I)


class EvidenceSource(Protocol):
    name: str

    def gather(
        self, keywords: list[str], config: ViralityConfig
    ) -> tuple[list[Evidence], list[SourceStatus]]: ...


@dataclass(frozen=True)
class Forum:
    """One place to look: `reddit:r/videos` or `hackernews`."""

    kind: Literal["reddit", "hackernews"]
    name: str  # subreddit name, or "hackernews"

    @property
    def id(self) -> str:
        return f"reddit:r/{self.name}" if self.kind == "reddit" else "hackernews"

    @property
    def site(self) -> str:
        """What a web search restricts itself to (`site:` operator)."""
        return f"reddit.com/r/{self.name}" if self.kind == "reddit" else "news.ycombinator.com"


def parse_forum(spec: str) -> Forum:
    m = FORUM_SPEC.match(spec.strip())
    if not m:
        raise ConfigError(
            f"virality.forums: cannot read forum {spec!r} (use 'reddit:r/NAME' or 'hackernews')"
        )
    if m.group(1):
        return Forum("reddit", m.group(1))
    return Forum("hackernews", "hackernews")


class SourceRefused(ProviderError):
    """The provider will not serve this site (Firecrawl's 403 'website not supported'): try a fallback."""


@dataclass
class Deadline:
    """A per-source time budget; every request's timeout is cut to what is left of it."""

    budget_s: float
    started: float = field(default_factory=time.monotonic)

    @property
    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.started)

    def timeout(self, request_timeout_s: float) -> float:
        left = self.left
        if left <= 0:
            raise ProviderError(f"time budget of {self.budget_s:g} s used up", retryable=False)
        return min(request_timeout_s, left)


class RateLimited(ProviderError):
    def __init__(self, message: str, *, provider: str, retry_after: float | None) -> None:
        super().__init__(message, provider=provider, retryable=True)
        self.retry_after = retry_after


def with_retries(
    call: Callable[[], T],
    *,
    provider: str,
    deadline: Deadline,
    max_retries: int,
    limiter: threading.Semaphore,
) -> T:
    """Run `call` under the shared concurrency limiter; after a 429 wait Retry-After (or 1 s, 2 s, ...)
    if that still fits in the time budget, at most `max_retries` times. Anything else propagates."""
    attempt = 0
    while True:
        try:
            with limiter:
                return call()
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else float(2**attempt)
            if attempt >= max_retries:
                raise ProviderError(
                    f"{provider}: rate limited (429) after {attempt + 1} tries",
                    provider=provider,
                    retryable=True,
                ) from exc
            if wait >= deadline.left:
                raise ProviderError(
                    f"{provider}: rate limited (429); Retry-After {wait:g} s does not fit the time budget",
                    provider=provider,
                    retryable=True,
                ) from exc
            time.sleep(wait)
            attempt += 1


class ForumFetcher(Protocol):
    name: str

    def fetch(
        self, forum: Forum, keywords: list[str], limit: int, deadline: Deadline, limiter: threading.Semaphore
    ) -> tuple[list[Evidence], list[str]]:
        """Posts found (as evidence) and warnings about parts that failed (named in the report)."""
        ...


FIRECRAWL_URL_ENV = "FIRECRAWL_API_URL"  # the vendor's own variable for a self-hosted Firecrawl


def firecrawl_url_setting(
    config: ViralityConfig, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """The Firecrawl URL asked for and where it was set: `virality.firecrawl_api_url` wins over FIRECRAWL_API_URL
    (which firecrawl-py's v2 client does not read itself); (None, "default") means the hosted API."""
    environ = os.environ if environ is None else environ
    if config.firecrawl_api_url:
        return config.firecrawl_api_url, "virality.firecrawl_api_url"
    if environ.get(FIRECRAWL_URL_ENV):
        return environ[FIRECRAWL_URL_ENV], FIRECRAWL_URL_ENV
    return None, "default"


def firecrawl_configured(config: ViralityConfig, environ: Mapping[str, str] | None = None) -> bool:
    """Firecrawl is used when a URL (self-hosted / test server, config key or FIRECRAWL_API_URL) or a key is set."""
    environ = os.environ if environ is None else environ
    return bool(firecrawl_url_setting(config, environ)[0] or environ.get("FIRECRAWL_API_KEY"))
