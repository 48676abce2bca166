"""Local stand-ins for the outside services the virality stage talks to, speaking their wire formats:

- Firecrawl v2: POST /v2/search ({success, data: {web: [...]}}; results carry markdown + metadata when
  scrapeOptions asks for it) and POST /v2/scrape ({success, data: {markdown, metadata}}); refusals are
  403 {success: false, error: "...no longer supported..."}, rate limits 429 with Retry-After.
- HN Algolia: GET /api/v1/search -> {hits: [{objectID, title, url, points, num_comments, created_at_i}], ...}
- Reddit: GET /r/NAME/search.json -> {kind: Listing, data: {children: [{kind: t3, data: {...}}]}}

Thread pages are rendered the way Firecrawl turns the real pages into markdown (new reddit, old reddit, HN).
Used by tests/virality and bench/virality_cache.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from storyreel.shared.settings import ViralityConfig


# --------------------------------------------------------------------------- real-shaped thread pages
def reddit_page(sub: str, pid: str, title: str, score: str, comments: str, age: str) -> str:
    url = f"https://www.reddit.com/r/{sub}/comments/{pid}/{_slug(title)}/"
    return f"""[Skip to main content]({url}#main-content) Open menu Open navigation  [Go to Reddit Home](https://www.reddit.com/)

r/{sub} A chip A close button

Get App

Log In

[Go to {sub}](https://www.reddit.com/r/{sub}/)

[r/{sub}](https://www.reddit.com/r/{sub}/)

•{age}

[clipmaker_{pid}](https://www.reddit.com/user/clipmaker_{pid}/)

# {title}

Shot it on my phone over a weekend, happy to answer questions about the edit.

Upvote
{score}

Downvote

[{comments}\\
\\
Go to comments]({url})

Share

Sort by:

Best

Open comment sort options

[deleted_user](https://www.reddit.com/user/deleted_user/)

•2y ago

The pacing in the first three seconds is what got me.

Upvote
12

Downvote

Reply

Share
"""


def old_reddit_page(sub: str, pid: str, title: str, score: int, comments: int, age: str) -> str:
    url = f"https://old.reddit.com/r/{sub}/comments/{pid}/{_slug(title)}/"
    short = f"{score / 1000:.1f}k" if score >= 10000 else str(score)
    comments_link = f"[{comments} comments]({url})" if comments else f"[comment]({url})"
    return f"""[jump to content]({url}#content)

my subreddits

[popular](https://old.reddit.com/r/popular/)- [all](https://old.reddit.com/r/all/)

[{sub}](https://old.reddit.com/r/{sub}/) [comments]({url})

want to join? [Log in](https://old.reddit.com/login) or [sign up](https://old.reddit.com/register) in seconds.\\|

{short}

[{title}](https://www.youtube.com/watch?v={pid}) ( [youtube.com](https://old.reddit.com/domain/youtube.com/))

submitted {age} by [maker_{pid}](https://old.reddit.com/user/maker_{pid})

- {comments_link}
- share
- save
- hide
- report

top 200 commentsshow all {comments}

sorted by: best

this post was submitted on 12 Mar 2025

{score:,} points ({92}% upvoted)

shortlink:
"""


def hn_page(pid: str, title: str, points: int, comments: int, age: str) -> str:
    item = f"https://news.ycombinator.com/item?id={pid}"
    comments_link = f"[{comments}\xa0comments]({item})" if comments else f"[discuss]({item})"
    return f"""|     |     |     |
| --- | --- | --- |
| [![](https://news.ycombinator.com/y18.svg)](https://news.ycombinator.com/) | **[Hacker News](https://news.ycombinator.com/news)** [new](https://news.ycombinator.com/newest) \\| [past](https://news.ycombinator.com/front) \\| [comments](https://news.ycombinator.com/newcomments) \\| [ask](https://news.ycombinator.com/ask) \\| [show](https://news.ycombinator.com/show) \\| [jobs](https://news.ycombinator.com/jobs) \\| [submit](https://news.ycombinator.com/submit) | [login](https://news.ycombinator.com/login?goto=item%3Fid%3D{pid}) |

|     |     |
| --- | --- |
| [](https://news.ycombinator.com/vote?id={pid}&how=up&goto=item%3Fid%3D{pid}) | [{title}](https://example.com/{pid}) ([example.com](https://news.ycombinator.com/from?site=example.com)) |
|  | {points} points by [maker{pid}](https://news.ycombinator.com/user?id=maker{pid}) [{age}](https://news.ycombinator.com/item?id={pid}) \\| [hide](https://news.ycombinator.com/hide?id={pid}&goto=item%3Fid%3D{pid}) \\| [past](https://hn.algolia.com/?query={pid}) \\| [favorite](https://news.ycombinator.com/fave?id={pid}&auth=0) \\| {comments_link} |

|     |     |     |
| --- | --- | --- |
|  | [](https://news.ycombinator.com/vote?id=9{pid}&how=up&goto=item%3Fid%3D{pid}) | [someone](https://news.ycombinator.com/user?id=someone) [2 hours ago](https://news.ycombinator.com/item?id=9{pid}) \\| [next](#) \\[\u2013\\]<br>Great write-up. |
"""


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50]


@dataclass
class Thread:
    """One post as the fake web knows it; `expected` is what a parser must read from its page."""

    forum: str  # "reddit:r/videos" | "hackernews"
    url: str
    title: str
    score: int
    comments: int
    age_days: float
    markdown: str


AGE_TEXT = {
    0.5: ("12 hr. ago", "12 hours ago"),
    3: ("3 days ago", "3 days ago"),
    60: ("2 mo. ago", "2 months ago"),
    400: ("1 yr. ago", "1 year ago"),
}


def make_threads(
    forum: str, n: int, *, topic: str = "cooking video", old: bool = False, start: int = 0
) -> list[Thread]:
    """n threads for a forum with varied numbers (deterministic)."""
    ages = list(AGE_TEXT)
    out = []
    for i in range(start, start + n):
        title = f"{topic.title()} idea #{i}: one pan garlic pasta in 60 seconds"
        score, comments, age = 40 * (i + 1) ** 2, 7 * (i + 1), ages[i % len(ages)]
        new_age, long_age = AGE_TEXT[age]
        pid = f"{zlib.crc32(f'{forum}#{i}'.encode()) % 10**6:06d}"
        if forum == "hackernews":
            md = hn_page(pid, title, score, comments, long_age)
            url = f"https://news.ycombinator.com/item?id={pid}"
        else:
            sub = forum.split("r/", 1)[1]
            if old:
                md = old_reddit_page(sub, pid, title, score, comments, long_age)
                url = f"https://old.reddit.com/r/{sub}/comments/{pid}/{_slug(title)}/"
            else:
                md = reddit_page(
                    sub,
                    pid,
                    title,
                    f"{score / 1000:.1f}K" if score >= 1000 else str(score),
                    str(comments),
                    new_age,
                )
                url = f"https://www.reddit.com/r/{sub}/comments/{pid}/{_slug(title)}/"
        days = {0.5: 0.5, 3: 3.0, 60: 60.88, 400: 365.25}[age]
        expected_score = (
            round(score / 100) * 100 if (forum != "hackernews" and not old and score >= 1000) else score
        )
        out.append(Thread(forum, url, title, expected_score, comments, days, md))
    return out


def site_of(forum: str) -> str:
    return "news.ycombinator.com" if forum == "hackernews" else f"reddit.com/{forum.split(':', 1)[1]}"


# --------------------------------------------------------------------------- the server
@dataclass
class FakeWeb:
    """Behaviour knobs, keyed by site (`reddit.com/r/videos`, `news.ycombinator.com`)."""

    threads: dict[str, list[Thread]] = field(default_factory=dict)  # site -> threads
    inline_markdown: bool = True  # search returns markdown with the results
    refuse: set[str] = field(default_factory=set)  # sites Firecrawl answers 403
    refuse_scrape: set[str] = field(default_factory=set)  # sites whose /v2/scrape (only) answers 403
    rate_limit: dict[str, int] = field(default_factory=dict)  # site -> number of 429s before answering
    retry_after: str = "1"
    delay_s: dict[str, float] = field(default_factory=dict)  # site -> seconds before answering
    latency_s: float = 0.0  # every request
    malformed: set[str] = field(default_factory=set)  # sites whose answer is not JSON
    requests: list[tuple[str, str, dict[str, Any]]] = field(
        default_factory=list
    )  # (method, path, body/query)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, threads: list[Thread]) -> None:
        for t in threads:
            self.threads.setdefault(site_of(t.forum), []).append(t)

    def find(self, url: str) -> Thread | None:
        for ts in self.threads.values():
            for t in ts:
                if t.url == url:
                    return t
        return None

    def count(self, path: str) -> int:
        return sum(1 for _, p, _ in self.requests if p == path)


def _site_in(text: str) -> str | None:
    m = re.search(r"site:(\S+)", text)
    return m.group(1) if m else None


def _site_of_url(url: str) -> str:
    p = urlparse(url)
    if p.hostname == "news.ycombinator.com":
        return "news.ycombinator.com"
    m = re.match(r"/r/([^/]+)", p.path)
    return f"reddit.com/r/{m.group(1)}" if m else (p.hostname or "")


class _Handler(BaseHTTPRequestHandler):
    web: FakeWeb

    def log_message(self, *args: Any) -> None:
        return None

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "text/html")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _enter(self, site: str | None) -> bool:
        """Common behaviours; returns False when a reply was already sent."""
        web = self.web
        with web.lock:
            web.in_flight += 1
            web.max_in_flight = max(web.max_in_flight, web.in_flight)
        try:
            time.sleep(web.latency_s + web.delay_s.get(site or "", 0.0))
        finally:
            with web.lock:
                web.in_flight -= 1
        if site and web.rate_limit.get(site, 0) > 0:
            with web.lock:
                web.rate_limit[site] -= 1
            self._send(
                429, {"success": False, "error": "Rate limit exceeded"}, {"Retry-After": web.retry_after}
            )
            return False
        if site in web.malformed:
            self._send(200, b"<html><body>502 Bad Gateway</body></html>")
            return False
        return True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = urlparse(self.path).path
        self.web.requests.append(("POST", path, body))
        if path == "/v2/search":
            site = _site_in(body.get("query", ""))
            if site in self.web.refuse:
                return self._send(403, {"success": False, "error": "This website is no longer supported."})
            if not self._enter(site):
                return None
            threads = self.web.threads.get(site or "", [])[: int(body.get("limit", 5))]
            inline = self.web.inline_markdown and "markdown" in (body.get("scrapeOptions") or {}).get(
                "formats", []
            )
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
            return self._send(200, {"success": True, "data": {"web": web}, "creditsUsed": len(web)})
        if path == "/v2/scrape":
            url = body.get("url", "")
            site = _site_of_url(url)
            if site in self.web.refuse or site in self.web.refuse_scrape:
                return self._send(403, {"success": False, "error": "This website is no longer supported."})
            if not self._enter(site):
                return None
            t = self.web.find(url)
            if t is None:
                return self._send(404, {"success": False, "error": "not found"})
            return self._send(
                200,
                {
                    "success": True,
                    "data": {
                        "markdown": t.markdown,
                        "metadata": {"title": t.title, "sourceURL": url, "statusCode": 200},
                    },
                },
            )
        return self._send(404, {"success": False, "error": f"no route {path}"})

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.web.requests.append(("GET", parsed.path, query))
        now = time.time()
        if parsed.path == "/api/v1/search":
            site = "news.ycombinator.com"
            if not self._enter("hn-api"):
                return None
            threads = self.web.threads.get(site, [])[: int(query.get("hitsPerPage", 20))]
            hits = [
                {
                    "objectID": t.url.split("id=")[1],
                    "title": t.title,
                    "url": f"https://example.com/{i}",
                    "author": "maker",
                    "points": t.score,
                    "num_comments": t.comments,
                    "created_at_i": int(now - t.age_days * 86400),
                    "_tags": ["story"],
                }
                for i, t in enumerate(threads)
            ]
            return self._send(200, {"hits": hits, "nbHits": len(hits), "page": 0, "hitsPerPage": len(hits)})
        m = re.fullmatch(r"/r/([^/]+)/search\.json", parsed.path)
        if m:
            site = f"reddit.com/r/{m.group(1)}"
            if not self._enter(f"json:{site}"):
                return None
            threads = self.web.threads.get(site, [])[: int(query.get("limit", 25))]
            children = [
                {
                    "kind": "t3",
                    "data": {
                        "subreddit": m.group(1),
                        "title": t.title,
                        "score": t.score,
                        "num_comments": t.comments,
                        "created_utc": now - t.age_days * 86400,
                        "permalink": urlparse(t.url).path,
                        "selftext": "",
                        "ups": t.score,
                    },
                }
                for t in threads
            ]
            return self._send(
                200, {"kind": "Listing", "data": {"after": None, "dist": len(children), "children": children}}
            )
        return self._send(404, {"message": "no route"})


class FakeServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 serving a FakeWeb; `url` is its base URL."""

    def __init__(self, web: FakeWeb | None = None) -> None:
        self.web = web or FakeWeb()
        handler = type("Handler", (_Handler,), {"web": self.web})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def forum_config(server: FakeServer, forums: list[str], **over) -> ViralityConfig:
    base = dict(
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

    python tests/virality/fake_forums.py --port 8787
    storyreel run brief.wav --virality --config fake-forums.yaml   # the YAML this prints
    """
    import argparse

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
    handler = type("Handler", (_Handler,), {"web": web})
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    print(
        "pipeline:\n  virality_evaluation: true\nvirality:\n  provider: firecrawl\n"
        f"  firecrawl_api_url: {url}\n  hn_api_url: {url}/api/v1\n  reddit_base_url: {url}\n"
        "  topic_subreddits: false\n",
        flush=True,
    )
    httpd.serve_forever()


if __name__ == "__main__":
    main()
