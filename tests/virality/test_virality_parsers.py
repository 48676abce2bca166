from __future__ import annotations

import pytest
from storyreel.services.virality.parsers import (
    is_thread_url,
    labelled_score,
    parse_age_days,
    parse_count,
    parse_hackernews,
    parse_old_reddit,
    parse_reddit,
    parse_thread,
)

from testkit.vendors.forums import hn_page, make_threads, old_reddit_page, reddit_page


@pytest.mark.parametrize(
    ("text", "value"),
    [("2.4K", 2400), ("1,234", 1234), ("12k", 12000), ("1.2M", 1200000), ("87", 87), ("Vote", None)],
)
def test_counts(text: str, value: int | None) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("•3 mo. ago", 91.32),
        ("2 yr. ago", 730.5),
        ("5 hours ago", 0.208),
        ("12 hr. ago", 0.5),
        ("1 day ago", 1.0),
    ],
)
def test_ages(text: str, days: float) -> None:
    assert parse_age_days(text) == pytest.approx(days, abs=0.01)


def test_new_reddit_thread() -> None:
    md = reddit_page(
        "videos", "1abc23", "I filmed a cooking video with one phone", "2.4K", "318", "3 mo. ago"
    )
    post = parse_reddit(md, "https://www.reddit.com/r/videos/comments/1abc23/x/")
    assert post is not None
    assert (post.title, post.score, post.comments) == ("I filmed a cooking video with one phone", 2400, 318)
    assert post.age_days == pytest.approx(91.32, abs=0.01)  # the post's age, not the comment's "2y ago"


def test_old_reddit_thread() -> None:
    md = old_reddit_page("videos", "1abc23", "Garlic pasta in 60 seconds", 15321, 412, "4 days ago")
    post = parse_old_reddit(md, "https://old.reddit.com/r/videos/comments/1abc23/x/")
    assert post is not None
    assert (post.title, post.score, post.comments, post.age_days) == (
        "Garlic pasta in 60 seconds",
        15321,
        412,
        4.0,
    )


def test_old_reddit_without_comments() -> None:
    md = old_reddit_page("videos", "9", "Quiet post", 3, 0, "2 hours ago")
    post = parse_old_reddit(md, "https://old.reddit.com/r/videos/comments/9/x/")
    assert post is not None and post.comments == 0 and post.score == 3


def test_hackernews_item() -> None:
    md = hn_page("41234567", "Show HN: I edit cooking videos from the terminal", 312, 128, "5 hours ago")
    post = parse_hackernews(md, "https://news.ycombinator.com/item?id=41234567")
    assert post is not None
    assert (post.title, post.score, post.comments) == (
        "Show HN: I edit cooking videos from the terminal",
        312,
        128,
    )
    assert post.age_days == pytest.approx(5 / 24, abs=0.001)


def test_hackernews_discuss_means_zero_comments() -> None:
    post = parse_hackernews(
        hn_page("7", "New thing", 4, 0, "1 hour ago"), "https://news.ycombinator.com/item?id=7"
    )
    assert post is not None and post.comments == 0


def test_a_page_without_numbers_gives_none_not_guesses() -> None:
    post = parse_reddit("# Just a title\n\nsome text", "https://www.reddit.com/r/videos/comments/1/x/")
    assert post is not None
    assert (post.score, post.comments, post.age_days) == (None, None, None)


def test_dispatch_by_host_and_thread_urls() -> None:
    for forum, old in (("reddit:r/videos", False), ("reddit:r/videos", True), ("hackernews", False)):
        for t in make_threads(forum, 4, old=old):
            post = parse_thread(t.markdown, t.url)
            assert post is not None, t.url
            assert (post.title, post.score, post.comments) == (t.title, t.score, t.comments)
            assert post.age_days == pytest.approx(t.age_days, rel=0.01)
    assert is_thread_url("https://www.reddit.com/r/videos/comments/abc/x/")
    assert not is_thread_url("https://www.reddit.com/r/videos/")
    assert is_thread_url("https://news.ycombinator.com/item?id=1")
    assert not is_thread_url("https://news.ycombinator.com/user?id=pg")
    assert parse_thread("# x", "https://example.com/a") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,200 upvotes", 1200),
        ("1.2k upvotes", 1200),
        ("12K points", 12000),
        ("1 point", 1),
        ("3.4M upvotes", 3_400_000),
        ("1,234 points (96% upvoted)", 1234),
        ("(96% upvoted)", None),
        ("Upvote", None),
        ("v12 points", None),
    ],
)
def test_labelled_scores(text: str, value: int | None) -> None:
    assert labelled_score(text) == value


MIRROR = """[r/videos](https://www.reddit.com/r/videos/)

•3 mo. ago

# I filmed a cooking video with one phone

Shot it on my phone over a weekend.

{score_line} · 318 comments

Sort by: Best

[someone](https://www.reddit.com/user/someone/) •2y ago

Great pacing. 57 points
"""


@pytest.mark.parametrize(
    "score_line, score", [("1,200 upvotes", 1200), ("1.2k upvotes", 1200), ("12K points", 12000)]
)
def test_a_reddit_page_that_writes_its_score_in_words(score_line: str, score: int) -> None:
    post = parse_reddit(
        MIRROR.format(score_line=score_line), "https://www.reddit.com/r/videos/comments/1abc23/x/"
    )
    assert post is not None and (post.score, post.comments) == (score, 318)


def test_a_comment_score_is_never_taken_for_the_post() -> None:
    post = parse_reddit(
        MIRROR.format(score_line="no votes shown"), "https://www.reddit.com/r/videos/comments/1/x/"
    )
    assert post is not None and post.score is None  # the "57 points" below "Sort by:" is a comment's


def test_old_reddit_without_the_sidebar_reads_the_labelled_score() -> None:
    md = old_reddit_page("videos", "1abc23", "Garlic pasta in 60 seconds", 15321, 412, "4 days ago")
    md = md.replace("15,321 points (92% upvoted)", "").replace("15.3k\n", "15.3k points\n")
    post = parse_old_reddit(md, "https://old.reddit.com/r/videos/comments/1abc23/x/")
    assert post is not None and post.score == 15300


def test_hackernews_points_with_a_suffix() -> None:
    md = hn_page("4242", "Show HN: a storyboard tool", 312, 12, "5 hours ago").replace(
        "312 points", "1.2K points"
    )
    assert parse_hackernews(md, "https://news.ycombinator.com/item?id=4242").score == 1200
