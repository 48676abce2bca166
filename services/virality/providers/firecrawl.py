"""Forum evidence through Firecrawl (firecrawl-py, v2 API): search the forum for the keywords with the results
scraped to markdown in the same call, scrape any thread that came back without markdown, and parse each thread
page with the parser for its forum format (services/virality/parsers.py).

`api_url` comes from ViralityConfig.firecrawl_api_url, else FIRECRAWL_API_URL (self-hosted Firecrawl, or the test
server; read here, the SDK's v2 client does not), else the hosted API; the key from FIRECRAWL_API_KEY (the SDK
reads it). A 403 "website not supported" becomes SourceRefused, so the caller can use
the site's public JSON API instead.

Constructing the source sends nothing: it only checks the configuration (the hosted API needs a key; the URL must
be http(s)) and raises ConfigError, so a run fails on it before any audio is transcribed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import requests
from firecrawl import Firecrawl
from firecrawl.v2.types import Document, ScrapeOptions
from firecrawl.v2.utils.error_handler import (
    FirecrawlError,
    PaymentRequiredError,
    RateLimitError,
    UnauthorizedError,
    WebsiteNotSupportedError,
)
from storyreel.services.virality.parsers import is_thread_url, parse_thread
from storyreel.services.virality.providers.base import (
    Deadline,
    Forum,
    RateLimited,
    SourceRefused,
    firecrawl_url_setting,
    retry_after_seconds,
    with_retries,
)
from storyreel.shared.contracts import Evidence
from storyreel.shared.errors import ConfigError, ProviderError
from storyreel.shared.settings import ViralityConfig

DEFAULT_API_URL = "https://api.firecrawl.dev"
NAME = "firecrawl"


def check_config(
    config: ViralityConfig, api_key: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """The API URL to use (virality.firecrawl_api_url > FIRECRAWL_API_URL > the hosted API), or ConfigError (one
    line, what to set) when Firecrawl cannot work as configured."""
    url, source = firecrawl_url_setting(config, environ)
    api_url = url or DEFAULT_API_URL
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{source} {api_url!r} is not an http(s) URL (e.g. http://localhost:3002)")
    if not api_key and parsed.netloc.lower().endswith("api.firecrawl.dev"):
        raise ConfigError(
            "FIRECRAWL_API_KEY is not set: export FIRECRAWL_API_KEY=fc-... (from firecrawl.dev), "
            "set virality.firecrawl_api_url (or FIRECRAWL_API_URL) to a self-hosted Firecrawl, "
            "or use virality.provider: public"
        )
    return api_url


class FirecrawlForums:
    name = NAME

    def __init__(self, config: ViralityConfig, api_key: str | None = None) -> None:
        self.config = config
        self.api_key = api_key  # None: the SDK reads FIRECRAWL_API_KEY
        self.api_url = check_config(config, api_key or os.environ.get("FIRECRAWL_API_KEY"))
        self.calls: dict[str, int] = {"search": 0, "scrape": 0}  # requests sent, for the run's usage record
        self._lock = threading.Lock()

    def _client(self, deadline: Deadline) -> tuple[Firecrawl, float]:
        timeout = deadline.timeout(self.config.request_timeout_s)
        # max_retries=1: one attempt per call; 429s are retried by with_retries, honouring Retry-After.
        return (
            Firecrawl(
                api_key=self.api_key, api_url=self.api_url, timeout=timeout, max_retries=1, origin="storyreel"
            ),
            timeout,
        )

    def _call(self, what: str, site: str, fn, deadline: Deadline):
        """Run one SDK call with our error mapping."""
        client, timeout = self._client(deadline)
        with self._lock:
            self.calls[what] = self.calls.get(what, 0) + 1
        try:
            return fn(client, timeout)
        except WebsiteNotSupportedError as exc:
            raise SourceRefused(
                f"firecrawl refused {site} (403 website not supported)", provider=NAME
            ) from exc
        except RateLimitError as exc:
            headers = exc.response.headers if exc.response is not None else {}
            raise RateLimited(
                f"firecrawl {what}: rate limited (429)",
                provider=NAME,
                retry_after=retry_after_seconds(headers.get("Retry-After")),
            ) from exc
        except (UnauthorizedError, PaymentRequiredError) as exc:
            raise ProviderError(
                f"firecrawl {what}: {type(exc).__name__} ({exc.status_code})", provider=NAME
            ) from exc
        except FirecrawlError as exc:
            first = str(exc).splitlines()[0][:160]
            raise ProviderError(
                f"firecrawl {what}: HTTP {exc.status_code}: {first}",
                provider=NAME,
                retryable=(exc.status_code or 0) >= 500,
            ) from exc
        except requests.JSONDecodeError as exc:  # before RequestException: it is one
            raise ProviderError(
                f"firecrawl {what}: malformed response body (not JSON)", provider=NAME
            ) from exc
        except requests.Timeout as exc:
            raise ProviderError(
                f"firecrawl {what}: timed out after {timeout:.1f} s", provider=NAME, retryable=True
            ) from exc
        except requests.RequestException as exc:
            raise ProviderError(
                f"firecrawl {what}: request failed ({type(exc).__name__})", provider=NAME
            ) from exc
        except ValueError as exc:  # a body that is not JSON, or JSON of the wrong shape
            raise ProviderError(f"firecrawl {what}: malformed response body", provider=NAME) from exc

    def _retrying(self, what: str, site: str, fn, deadline: Deadline, limiter: threading.Semaphore):
        return with_retries(
            lambda: self._call(what, site, fn, deadline),
            provider=NAME,
            deadline=deadline,
            max_retries=self.config.max_retries,
            limiter=limiter,
        )

    def fetch(
        self, forum: Forum, keywords: list[str], limit: int, deadline: Deadline, limiter: threading.Semaphore
    ) -> tuple[list[Evidence], list[str]]:
        query = f"{' '.join(keywords)} site:{forum.site}"
        options = ScrapeOptions(formats=["markdown"], only_main_content=False)
        data = self._retrying(
            "search",
            forum.site,
            lambda c, t: c.search(query, limit=limit, scrape_options=options, timeout=int(t * 1000)),
            deadline,
            limiter,
        )
        # (url, title hint, description, markdown or None)
        found: list[tuple[str, str | None, str, str | None]] = []
        seen: set[str] = set()
        for item in data.web or []:
            if isinstance(item, Document):
                md = item.metadata_typed
                url = md.source_url or md.url or ""
                status = md.status_code
                markdown = item.markdown if item.markdown and (status is None or status < 400) else None
                found.append((url, md.title, md.description or "", markdown))
            else:
                found.append((item.url, item.title, item.description or "", None))
        threads = []
        for url, title, desc, markdown in found:
            if url and is_thread_url(url) and url not in seen:
                seen.add(url)
                threads.append((url, title, desc, markdown))
        threads = threads[:limit]

        def scrape(url: str) -> str:
            doc = self._retrying(
                "scrape",
                forum.site,
                lambda c, t: c.scrape(
                    url, formats=["markdown"], only_main_content=False, timeout=int(t * 1000)
                ),
                deadline,
                limiter,
            )
            if not doc.markdown:
                raise ProviderError(f"firecrawl scrape: no markdown for {url}", provider=NAME)
            return doc.markdown

        missing = [url for url, _, _, md in threads if md is None]
        scraped: dict[str, str | Exception] = {}
        if missing:
            with ThreadPoolExecutor(max_workers=min(len(missing), self.config.concurrency)) as pool:
                futures = {url: pool.submit(scrape, url) for url in missing}
                for url, fut in futures.items():
                    try:
                        scraped[url] = fut.result()
                    except SourceRefused:
                        raise
                    except ProviderError as exc:
                        scraped[url] = exc

        out: list[Evidence] = []
        warnings: list[str] = []
        failed = [(u, r) for u, r in scraped.items() if isinstance(r, Exception)]
        if failed:
            warnings.append(f"{len(failed)} of {len(threads)} threads could not be scraped ({failed[0][1]})")
        unparsed = 0
        for url, title, desc, markdown in threads:
            page = markdown if markdown is not None else scraped.get(url)
            if not isinstance(page, str):
                continue
            post = parse_thread(page, url, title)
            if post is None:
                unparsed += 1
                continue
            out.append(
                Evidence(
                    source=forum.id,
                    title=post.title,
                    url=url,
                    score=post.score,
                    comments=post.comments,
                    age_days=post.age_days,
                    snippet=desc[:200],
                )
            )
        if unparsed:
            warnings.append(f"{unparsed} thread pages did not parse as {forum.kind} threads")
        if threads and not out:
            raise ProviderError(
                f"firecrawl: none of {len(threads)} {forum.id} threads could be read ({'; '.join(warnings)})",
                provider=NAME,
            )
        return out, warnings
