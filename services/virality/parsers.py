"""Parsers for forum thread pages as Firecrawl renders them to markdown: one per forum format.

- reddit      www.reddit.com thread pages ("r/videos • 3 mo. ago", "# Title", "Upvote 2.4K Downvote",
              "318 Go to comments")
- old.reddit  old.reddit.com thread pages ("[Title](url)", "submitted 3 months ago by", "[318 comments](..)",
              "1,234 points (96% upvoted)")
- hackernews  news.ycombinator.com/item pages ("[Title](url)", "312 points by [user] [5 hours ago]",
              "[128 comments](item?id=..)")

Where a Reddit page has no vote control or sidebar score (mirrors, share pages, the seed's own wording), the
post's labelled count is read instead: "1,200 upvotes", "1.2k upvotes", "12K points", only from the post's part of
the page (before the comments, which carry scores of their own).

Each returns a ParsedPost with None for whatever the page does not show; never a guessed number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

MD_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
AGE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|wk|wks|weeks?|"
    r"mo|mos|months?|y|yr|yrs|years?)\.?\s+ago\b",
    re.I,
)
UNIT_DAYS = {
    "s": 1 / 86400,
    "m": 1 / 1440,
    "h": 1 / 24,
    "d": 1.0,
    "w": 7.0,
    "mo": 30.44,
    "y": 365.25,
}


@dataclass
class ParsedPost:
    title: str
    url: str
    score: int | None
    comments: int | None
    age_days: float | None
    forum_format: str


def parse_count(text: str) -> int | None:
    """'2.4K' -> 2400, '1,234' -> 1234, '12k' -> 12000, '•' -> None."""
    m = re.fullmatch(r"\s*(\d+(?:[.,]\d+)*)\s*([kKmM]?)\s*", text)
    if not m:
        return None
    num, suffix = m.group(1), m.group(2).lower()
    if suffix:
        value = float(num.replace(",", "."))
        return round(value * (1000 if suffix == "k" else 1_000_000))
    return int(num.replace(",", "").replace(".", ""))


# A count with its label, as mirrors, share cards and the seed's own pages write a score: "1,200 upvotes",
# "1.2k upvotes", "12K points". Not "96% upvoted", not a number inside a word.
COUNT = r"\d[\d.,]*(?:\s?[kKmM]\b)?"
LABELLED_SCORE = re.compile(rf"(?<![\w.,])({COUNT})\s*(?:upvotes?|points?)\b", re.I)
# Where a thread page's comments start (each with a score of its own): new and old Reddit, mirrors.
COMMENTS_START = re.compile(r"\bsort(?:ed)? by:|\btop \d+ comments\b", re.I)


def labelled_score(text: str) -> int | None:
    """The first labelled score in `text` ("1,200 upvotes" -> 1200, "1.2k upvotes" -> 1200, "12K points" ->
    12000), or None."""
    m = LABELLED_SCORE.search(text)
    return parse_count(m.group(1)) if m else None


def _post_part(flat: str, start: int) -> str:
    """The post's own part of a thread page, from `start` (its title) to where the comments begin: the one
    place a labelled count is the post's score and not a comment's."""
    end = COMMENTS_START.search(flat, start)
    return flat[start : end.start() if end else len(flat)]


def parse_age_days(text: str) -> float | None:
    m = AGE.search(text)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2).lower()
    if unit.startswith("mo"):
        key = "mo"
    elif unit in ("m", "min", "mins") or unit.startswith("minute"):
        key = "m"
    else:
        key = unit[0]
    return round(value * UNIT_DAYS[key], 3)


def _lines(markdown: str) -> list[str]:
    return [ln.strip() for ln in markdown.replace("\\\n", "\n").splitlines()]


# --------------------------------------------------------------------------- www.reddit.com
def parse_reddit(markdown: str, url: str, title_hint: str | None = None) -> ParsedPost | None:
    lines = _lines(markdown)
    title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), None) or _strip_site(title_hint)
    if not title:
        return None
    score = None
    for i, ln in enumerate(lines):
        if ln.lower() == "upvote" or ln.lower().startswith("upvote "):
            rest = ln[6:].strip() or next((x for x in lines[i + 1 : i + 3] if x), "")
            score = parse_count(rest.split()[0]) if rest.split() else None
            break
    if score is None:  # no "Upvote N" control: a mirror or share page that writes "1,200 upvotes"
        flat = markdown.replace("\n", " ")
        at = flat.find(f"# {title}")
        score = labelled_score(_post_part(flat, max(at, 0)))
    comments = None
    m = re.search(r"\[?\s*(\d[\d.,]*[kKmM]?)\s*(?:\\\s*)*\s*Go to comments", markdown.replace("\n", " "))
    if m:
        comments = parse_count(m.group(1))
    else:
        m = re.search(r"(\d[\d.,]*[kKmM]?)\s+comments?\b", markdown, re.I)
        comments = parse_count(m.group(1)) if m else None
    # age: the "• 3 mo. ago" next to the subreddit name, before the title
    head = markdown.split(f"# {title}", 1)[0] if f"# {title}" in markdown else markdown[:2000]
    age = parse_age_days(head)
    return ParsedPost(title, url, score, comments, age, "reddit")


# --------------------------------------------------------------------------- old.reddit.com
def parse_old_reddit(markdown: str, url: str, title_hint: str | None = None) -> ParsedPost | None:
    flat = markdown.replace("\n", " ")
    sub = re.search(r"submitted\s+(.{0,40}?ago)\s+by", flat, re.I)
    title = None
    if sub:
        before = flat[: sub.start()]
        # the title link, not the "(youtube.com)" domain link that follows it
        links = [
            m
            for m in MD_LINK.finditer(before)
            if not m.group(1).startswith("!") and "/domain/" not in m.group(2)
        ]
        if links:
            title = links[-1].group(1).strip()
    title = title or _strip_site(title_hint)
    if not title:
        return None
    # the sidebar's "N points (96% upvoted)", else the post's own "1,200 points" / "1.2k upvotes" (its vote
    # column comes before the title: from the top of the page to where the comments start)
    m = re.search(rf"({COUNT})\s+points?\s*\(\s*\d+%\s*upvoted\)", flat, re.I)
    score = parse_count(m.group(1)) if m else labelled_score(_post_part(flat, 0))
    m = re.search(r"\[(\d[\d,]*)\s+comments?\]", flat, re.I)
    comments = parse_count(m.group(1)) if m else (0 if re.search(r"\[comment\]\(", flat) else None)
    age = parse_age_days(sub.group(1)) if sub else None
    return ParsedPost(title, url, score, comments, age, "old.reddit")


# --------------------------------------------------------------------------- news.ycombinator.com
def parse_hackernews(markdown: str, url: str, title_hint: str | None = None) -> ParsedPost | None:
    flat = markdown.replace("\n", " ")
    title = None
    m = re.search(r"vote\?id=\d+[^)]*\)\s*\|?\s*\[([^\]]+)\]\(([^)\s]+)\)", flat)
    if m:
        title = m.group(1).strip()
    title = title or _strip_site(title_hint)
    if not title:
        return None
    m = re.search(rf"({COUNT})\s+points?\s+by", flat)
    score = parse_count(m.group(1)) if m else None
    m = re.search(r"\[(\d[\d,]*)(?:\s|&nbsp;|\xa0)+comments?\]", flat)
    if m:
        comments = parse_count(m.group(1))
    elif re.search(r"\[discuss\]\(", flat):
        comments = 0
    else:
        comments = None
    meta = re.search(r"points?\s+by\s+.{0,200}", flat)
    age = parse_age_days(meta.group(0)) if meta else None
    return ParsedPost(title, url, score, comments, age, "hackernews")


def _strip_site(title: str | None) -> str | None:
    """A page <title> without its site suffix ('X | Hacker News', 'X : videos', 'X : r/videos')."""
    if not title:
        return None
    title = re.sub(r"\s+(?:\|\s*Hacker News|:\s*r/\w+|:\s*\w+|-\s*Reddit)\s*$", "", title)
    return title.strip() or None


def parser_for(url: str):
    host = (urlparse(url).hostname or "").lower()
    if host == "old.reddit.com":
        return parse_old_reddit
    if host.endswith("reddit.com"):
        return parse_reddit
    if host == "news.ycombinator.com":
        return parse_hackernews
    return None


def parse_thread(markdown: str, url: str, title_hint: str | None = None) -> ParsedPost | None:
    parser = parser_for(url)
    return parser(markdown, url, title_hint) if parser else None


def is_thread_url(url: str) -> bool:
    """Only discussion threads are evidence (not subreddit front pages or user profiles)."""
    p = urlparse(url)
    host = (p.hostname or "").lower()
    if host.endswith("reddit.com"):
        return "/comments/" in p.path
    if host == "news.ycombinator.com":
        return p.path == "/item" and "id=" in p.query
    return False
