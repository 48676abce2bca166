"""The forums the virality stage reads, as a fake web: threads with real-shaped pages, and the public APIs.

- HN Algolia: GET /api/v1/search -> {hits: [{objectID, title, url, points, num_comments, created_at_i}], ...}
- Reddit: GET /r/NAME/search.json -> {kind: Listing, data: {children: [{kind: t3, data: {...}}]}}

Thread pages are rendered the way Firecrawl turns the real pages into markdown (new reddit, old reddit, HN);
testkit.vendors.firecrawl serves them through Firecrawl's API. A FakeWeb holds the threads and the behaviour
knobs (refusals, rate limits, delays, malformed answers), keyed by site.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlparse

from testkit.vendors.server import FakeServer, Reply, Request


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


# --------------------------------------------------------------------------- the fake web
@dataclass
class FakeWeb:
    """Threads and behaviour knobs, keyed by site (`reddit.com/r/videos`, `news.ycombinator.com`); the public
    APIs' knobs use `hn-api` and `json:reddit.com/r/NAME`."""

    threads: dict[str, list[Thread]] = field(default_factory=dict)  # site -> threads
    inline_markdown: bool = True  # Firecrawl search returns markdown with the results
    refuse: set[str] = field(default_factory=set)  # sites Firecrawl answers 403
    refuse_scrape: set[str] = field(default_factory=set)  # sites whose /v2/scrape (only) answers 403
    rate_limit: dict[str, int] = field(default_factory=dict)  # site -> number of 429s before answering
    retry_after: str = "1"
    delay_s: dict[str, float] = field(default_factory=dict)  # site -> seconds before answering
    latency_s: float = 0.0  # every request
    malformed: set[str] = field(default_factory=set)  # sites whose answer is not JSON

    def add(self, threads: list[Thread]) -> None:
        for t in threads:
            self.threads.setdefault(site_of(t.forum), []).append(t)

    def find(self, url: str) -> Thread | None:
        for ts in self.threads.values():
            for t in ts:
                if t.url == url:
                    return t
        return None


class FakeForums(FakeServer):
    """HN Algolia search and Reddit's search.json over a FakeWeb (`web`)."""

    def __init__(self, web: FakeWeb | None = None, port: int = 0) -> None:
        super().__init__(port)
        self.web = web or FakeWeb()
        self.route("GET", "/api/v1/search", self._hn_search, "hn-search")
        self.route("GET", r"/r/(?P<sub>[^/]+)/search\.json", self._reddit_search, "reddit-search")

    def not_found(self, req: Request) -> Reply:
        if req.method == "POST":
            return Reply(404, {"success": False, "error": f"no route {req.path}"})
        return Reply(404, {"message": "no route"})

    def gate(self, site: str | None) -> Reply | None:
        """The knobs every route obeys (latency and delay, then rate limit, then malformed): the reply they
        force, or None to answer normally."""
        web = self.web
        time.sleep(web.latency_s + web.delay_s.get(site or "", 0.0))
        if site:
            with self._lock:
                limited = web.rate_limit.get(site, 0) > 0
                if limited:
                    web.rate_limit[site] -= 1
            if limited:
                return Reply(
                    429, {"success": False, "error": "Rate limit exceeded"}, {"retry-after": web.retry_after}
                )
        if site in web.malformed:
            return Reply(200, b"<html><body>502 Bad Gateway</body></html>", {"content-type": "text/html"})
        return None

    def _hn_search(self, req: Request, m: re.Match) -> Reply:
        forced = self.gate("hn-api")
        if forced is not None:
            return forced
        now = time.time()
        threads = self.web.threads.get("news.ycombinator.com", [])[: int(req.arg("hitsPerPage", "20"))]
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
        return Reply(200, {"hits": hits, "nbHits": len(hits), "page": 0, "hitsPerPage": len(hits)})

    def _reddit_search(self, req: Request, m: re.Match) -> Reply:
        sub = m.group("sub")
        site = f"reddit.com/r/{sub}"
        forced = self.gate(f"json:{site}")
        if forced is not None:
            return forced
        now = time.time()
        threads = self.web.threads.get(site, [])[: int(req.arg("limit", "25"))]
        children = [
            {
                "kind": "t3",
                "data": {
                    "subreddit": sub,
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
        return Reply(
            200, {"kind": "Listing", "data": {"after": None, "dist": len(children), "children": children}}
        )
