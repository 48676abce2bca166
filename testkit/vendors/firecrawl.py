"""Fake Firecrawl v2, over the fake web of testkit.vendors.forums:

- POST /v2/search -> {success, data: {web: [...]}}; results carry markdown + metadata when scrapeOptions asks
  for it (and the web's `inline_markdown` allows it).
- POST /v2/scrape -> {success, data: {markdown, metadata}}.
- GET /v2/team/credit-usage -> {success, data: {remainingCredits, planCredits, billingPeriod...}} (doctor's
  live check); 401 without a Bearer key, as the hosted API answers.

Refusals are 403 {success: false, error: "...no longer supported..."}, rate limits 429 with Retry-After. The
same server answers HN Algolia and Reddit JSON (FakeForums), so one URL serves a whole virality run
(`forum_config`). Run it by hand: `python -m testkit.vendors.firecrawl --port 8787` (see `main`).
"""

from __future__ import annotations

import argparse
import re
from typing import Any
from urllib.parse import urlparse

from storyreel.shared.settings import ViralityConfig

from testkit.vendors.forums import FakeForums, FakeWeb, make_threads
from testkit.vendors.server import Reply, Request

NO_LONGER_SUPPORTED = {"success": False, "error": "This website is no longer supported."}


def firecrawl_error(status: int, error: str) -> Reply:
    return Reply(status, {"success": False, "error": error})


def _site_in(text: str) -> str | None:
    m = re.search(r"site:(\S+)", text)
    return m.group(1) if m else None


def _site_of_url(url: str) -> str:
    p = urlparse(url)
    if p.hostname == "news.ycombinator.com":
        return "news.ycombinator.com"
    m = re.match(r"/r/([^/]+)", p.path)
    return f"reddit.com/r/{m.group(1)}" if m else (p.hostname or "")


class FakeFirecrawl(FakeForums):
    """Firecrawl's search, scrape and credit usage, beside FakeForums' public APIs on the same port."""

    def __init__(self, web: FakeWeb | None = None, port: int = 0) -> None:
        super().__init__(web, port)
        self.route("POST", "/v2/search", self._search, "search")
        self.route("POST", "/v2/scrape", self._scrape, "scrape")
        self.route("GET", "/v2/team/credit-usage", self._credits, "credits")

    def _search(self, req: Request, m: re.Match) -> Reply:
        body = req.json or {}
        site = _site_in(body.get("query", ""))
        if site in self.web.refuse:
            return Reply(403, NO_LONGER_SUPPORTED)
        forced = self.gate(site)
        if forced is not None:
            return forced
        threads = self.web.threads.get(site or "", [])[: int(body.get("limit", 5))]
        formats = (body.get("scrapeOptions") or {}).get("formats", [])
        inline = self.web.inline_markdown and "markdown" in formats
        web = []
        for i, t in enumerate(threads):
            item: dict[str, Any] = {
                "url": t.url,
                "title": f"{t.title} : {t.forum}",
                "description": t.title[:80],
                "position": i + 1,
            }
            if inline:
                item["markdown"] = t.markdown
                item["metadata"] = {
                    "title": t.title,
                    "sourceURL": t.url,
                    "url": t.url,
                    "statusCode": 200,
                    "description": t.title[:80],
                }
            web.append(item)
        return Reply(200, {"success": True, "data": {"web": web}, "creditsUsed": len(web)})

    def _scrape(self, req: Request, m: re.Match) -> Reply:
        url = (req.json or {}).get("url", "")
        site = _site_of_url(url)
        if site in self.web.refuse or site in self.web.refuse_scrape:
            return Reply(403, NO_LONGER_SUPPORTED)
        forced = self.gate(site)
        if forced is not None:
            return forced
        t = self.web.find(url)
        if t is None:
            return firecrawl_error(404, "not found")
        return Reply(
            200,
            {
                "success": True,
                "data": {
                    "markdown": t.markdown,
                    "metadata": {"title": t.title, "sourceURL": url, "statusCode": 200},
                },
            },
        )

    def _credits(self, req: Request, m: re.Match) -> Reply:
        if not req.headers.get("authorization", "").startswith("Bearer "):
            return firecrawl_error(401, "Unauthorized: Invalid token")
        return Reply(
            200,
            {
                "success": True,
                "data": {
                    "remainingCredits": 4200,
                    "planCredits": 5000,
                    "billingPeriodStart": "2026-11-01T00:00:00Z",
                    "billingPeriodEnd": "2026-12-01T00:00:00Z",
                },
            },
        )


def forum_config(server: FakeFirecrawl, forums: list[str], **over: Any) -> ViralityConfig:
    """A virality config that reads `forums` through `server` (Firecrawl, HN Algolia and Reddit JSON alike)."""
    base: dict[str, Any] = dict(
        forums=forums,
        topic_subreddits=False,
        firecrawl_api_url=server.url,
        hn_api_url=f"{server.url}/api/v1",
        reddit_base_url=server.url,
        provider="firecrawl",
        time_budget_s=3.0,
        request_timeout_s=2.0,
        posts_per_forum=5,
        concurrency=4,
        max_retries=2,
    )
    base.update(over)
    return ViralityConfig(**base)


def main() -> None:
    """Serve a seeded fake web for a manual or end-to-end run:

    python -m testkit.vendors.firecrawl --port 8787
    storyreel run brief.wav --virality --config fake-forums.yaml   # the YAML this prints
    """
    ap = argparse.ArgumentParser(
        description=main.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--port", type=int, default=8787)
    ap.add_argument("--threads", type=int, default=5, help="threads per forum")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = ap.parse_args()
    web = FakeWeb(latency_s=args.latency)
    for forum in ("reddit:r/videos", "reddit:r/youtube", "reddit:r/videoediting", "hackernews"):
        web.add(make_threads(forum, args.threads))
    server = FakeFirecrawl(web, port=args.port)
    url = server.url
    print(
        "pipeline:\n  virality_evaluation: true\nvirality:\n  provider: firecrawl\n"
        f"  firecrawl_api_url: {url}\n  hn_api_url: {url}/api/v1\n  reddit_base_url: {url}\n"
        "  topic_subreddits: false\n",
        flush=True,
    )
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
