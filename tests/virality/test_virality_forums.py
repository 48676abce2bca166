"""The forum evidence path end to end: the real firecrawl-py SDK (and httpx for the fallbacks) against a local
server speaking Firecrawl's, HN Algolia's and Reddit's wire formats."""

from __future__ import annotations

import time

import pytest
from storyreel.services.virality.score import evaluate, get_evidence_source

from testkit.vendors.firecrawl import forum_config
from testkit.vendors.forums import make_threads

FORUMS = ["reddit:r/videos", "hackernews"]


def _seed(fake_web, n: int = 5) -> dict[str, object]:
    threads = make_threads("reddit:r/videos", n) + make_threads("hackernews", n)
    fake_web.web.add(threads)
    return {t.url: t for t in threads}


def _evaluate(fake_web, transcript, context, state=None, **over):
    config = forum_config(fake_web, FORUMS, **over)
    return evaluate(transcript, context, {}, get_evidence_source(config, state), config)


def test_every_component_links_evidence_that_matches_the_served_pages(fake_web, transcript, context) -> None:
    served = _seed(fake_web)
    report = _evaluate(fake_web, transcript, context)
    assert report.method == "content+forums"
    assert {s.source for s in report.sources if s.ok} == set(FORUMS)
    assert all(s.via == "firecrawl" for s in report.sources)
    forum = {c.name: c for c in report.components if c.name in ("demand", "engagement", "saturation")}
    assert set(forum) == {"demand", "engagement", "saturation"}
    for comp in forum.values():
        assert comp.evidence, comp.name
        for ev in comp.evidence:
            page = served[ev.url]  # every link is a thread the server served
            assert (ev.title, ev.score, ev.comments) == (page.title, page.score, page.comments)
            assert ev.age_days == pytest.approx(page.age_days, rel=0.01)
    # the numbers are computed from those posts
    assert forum["demand"].numbers["posts"] == 10
    scores = sorted(t.score for t in served.values())
    assert forum["engagement"].numbers["median_upvotes"] == (scores[4] + scores[5]) / 2
    assert len(fake_web.seen("/v2/search")) == 2 and len(fake_web.seen("/v2/scrape")) == 0
    assert report.confidence == pytest.approx(1.0)


def test_results_without_markdown_are_scraped(fake_web, transcript, context) -> None:
    _seed(fake_web, 3)
    fake_web.web.inline_markdown = False
    report = _evaluate(fake_web, transcript, context)
    assert len(fake_web.seen("/v2/scrape")) == 6
    assert next(c for c in report.components if c.name == "demand").numbers["posts"] == 6


def test_a_refused_site_falls_back_to_its_public_json(fake_web, transcript, context) -> None:
    served = _seed(fake_web)
    fake_web.web.refuse = {"reddit.com/r/videos", "news.ycombinator.com"}
    report = _evaluate(fake_web, transcript, context)
    by = {s.source: s for s in report.sources}
    assert by["reddit:r/videos"].ok and by["reddit:r/videos"].via == "reddit-json"
    assert by["hackernews"].ok and by["hackernews"].via == "hn-algolia"
    assert "403" in by["reddit:r/videos"].fallback_from
    demand = next(c for c in report.components if c.name == "demand")
    assert demand.numbers["posts"] == 10
    for ev in demand.evidence:
        page = served[ev.url]
        assert (ev.score, ev.comments) == (page.score, page.comments)


def test_429_with_retry_after_is_honoured(fake_web, transcript, context) -> None:
    _seed(fake_web)
    fake_web.web.rate_limit = {"news.ycombinator.com": 1}
    fake_web.web.retry_after = "0"
    report = _evaluate(fake_web, transcript, context)
    assert all(s.ok for s in report.sources)
    assert len(fake_web.seen("/v2/search")) == 3  # one 429, then the answer


def test_429_beyond_the_budget_names_the_source_and_lowers_confidence(fake_web, transcript, context) -> None:
    _seed(fake_web)
    full = _evaluate(fake_web, transcript, context)
    fake_web.web.rate_limit = {"news.ycombinator.com": 5}
    fake_web.web.retry_after = "30"
    report = _evaluate(fake_web, transcript, context)
    hn = next(s for s in report.sources if s.source == "hackernews")
    assert not hn.ok and "429" in hn.error and "Retry-After" in hn.error
    assert report.confidence < full.confidence
    left_out = next(n for n in report.not_evaluated if n.component == "forums")
    assert "hackernews" in left_out.reason
    assert next(c for c in report.components if c.name == "demand").numbers["posts"] == 5


def test_a_slow_forum_cannot_hold_the_run(fake_web, transcript, context) -> None:
    _seed(fake_web)
    fake_web.web.delay_s = {"news.ycombinator.com": 3.0}
    report = _evaluate(fake_web, transcript, context, time_budget_s=1.0, request_timeout_s=5.0)
    hn = next(s for s in report.sources if s.source == "hackernews")
    # the request's timeout was cut from 5 s to the 1 s budget, and the forum is named as failed
    assert not hn.ok and hn.error == "firecrawl search: timed out after 1.0 s"
    assert next(s for s in report.sources if s.source == "reddit:r/videos").ok
    assert report.method == "content+forums"


def test_empty_results_are_an_answer_not_a_failure(fake_web, transcript, context) -> None:
    report = _evaluate(fake_web, transcript, context)
    assert all(s.ok and s.items == 0 for s in report.sources)
    demand = next(c for c in report.components if c.name == "demand")
    assert demand.score == 0 and demand.evidence == []
    assert any(n.component == "engagement" for n in report.not_evaluated)


def test_a_malformed_body_is_a_named_failure(fake_web, transcript, context) -> None:
    _seed(fake_web)
    fake_web.web.malformed = {"reddit.com/r/videos"}
    report = _evaluate(fake_web, transcript, context)
    rv = next(s for s in report.sources if s.source == "reddit:r/videos")
    assert not rv.ok and "malformed" in rv.error


def test_all_sources_failing_leaves_a_content_only_score(fake_web, transcript, context) -> None:
    fake_web.web.malformed = {"reddit.com/r/videos", "news.ycombinator.com"}
    report = _evaluate(fake_web, transcript, context)
    assert report.method == "content-only" and report.score is not None
    assert all("no forum answered" in n.reason for n in report.not_evaluated if n.component != "format_fit")


def test_cache_hit_and_expiry(fake_web, transcript, context, state, monkeypatch) -> None:
    _seed(fake_web)
    first = _evaluate(fake_web, transcript, context, state)
    n = len(fake_web.requests)
    second = _evaluate(fake_web, transcript, context, state)
    assert len(fake_web.requests) == n  # served from the cache
    assert all(s.cached for s in second.sources)
    assert second.score == first.score
    # same keywords in another order and case -> same cache entry
    shuffled = context.model_copy(update={"keywords": ["Garlic Pasta", "cooking video"]})
    _evaluate(fake_web, transcript, shuffled, state)
    assert len(fake_web.requests) == n
    # expiry: a day and an hour later the 24-hour entries are stale and the forums are asked again
    import storyreel.shared.stores

    later = time.time() + 25 * 3600
    monkeypatch.setattr(storyreel.shared.stores.time, "time", lambda: later)
    third = _evaluate(fake_web, transcript, context, state, cache_ttl_hours=1.0)
    assert not any(s.cached for s in third.sources)
    assert len(fake_web.requests) == n + 2


def test_failed_forums_are_not_cached(fake_web, transcript, context, state) -> None:
    _seed(fake_web)
    fake_web.web.malformed = {"news.ycombinator.com"}
    _evaluate(fake_web, transcript, context, state)
    fake_web.web.malformed = set()
    report = _evaluate(fake_web, transcript, context, state)
    by = {s.source: s for s in report.sources}
    assert by["reddit:r/videos"].cached and not by["hackernews"].cached and by["hackernews"].ok


def test_limit_forums_topic_subreddits_and_concurrency(fake_web, transcript, context) -> None:
    for forum in ("reddit:r/videos", "reddit:r/youtube", "reddit:r/Cooking", "hackernews"):
        fake_web.web.add(make_threads(forum, 2))
    fake_web.web.latency_s = 0.2
    config = forum_config(
        fake_web, ["reddit:r/videos", "reddit:r/youtube", "hackernews"], topic_subreddits=True, concurrency=2
    )
    report = evaluate(transcript, context, {}, get_evidence_source(config, None), config)
    assert [s.source for s in report.sources] == [
        "reddit:r/videos",
        "reddit:r/youtube",
        "hackernews",
        "reddit:r/Cooking",
    ]
    assert fake_web.peak_in_flight <= 2
    limited = config.model_copy(update={"limit_forums": 2})
    report = evaluate(transcript, context, {}, get_evidence_source(limited, None), limited)
    assert [s.source for s in report.sources] == ["reddit:r/videos", "reddit:r/youtube"]


def test_a_refused_scrape_also_falls_back(fake_web, transcript, context) -> None:
    _seed(fake_web, 3)
    fake_web.web.inline_markdown = False
    fake_web.web.refuse_scrape = {"reddit.com/r/videos"}
    report = _evaluate(fake_web, transcript, context)
    rv = next(s for s in report.sources if s.source == "reddit:r/videos")
    assert rv.ok and rv.via == "reddit-json" and rv.items == 3


def test_when_the_fallback_fails_too_both_reasons_are_named(fake_web, transcript, context) -> None:
    _seed(fake_web)
    fake_web.web.refuse = {"reddit.com/r/videos"}
    fake_web.web.malformed = {"json:reddit.com/r/videos"}
    report = _evaluate(fake_web, transcript, context)
    rv = next(s for s in report.sources if s.source == "reddit:r/videos")
    assert not rv.ok and "403" in rv.error and "reddit-json" in rv.error and "malformed" in rv.error


def test_public_provider_uses_only_the_json_apis(fake_web, transcript, context) -> None:
    served = _seed(fake_web)
    report = _evaluate(fake_web, transcript, context, provider="public")
    assert {s.via for s in report.sources} == {"reddit-json", "hn-algolia"}
    assert len(fake_web.seen("/v2/search")) == 0
    forum_parts = [c for c in report.components if c.name in ("demand", "engagement", "saturation")]
    assert forum_parts
    for comp in forum_parts:  # the content components cite the brief itself, not forum pages
        for ev in comp.evidence:
            assert served[ev.url].comments == ev.comments


def test_firecrawl_url_from_the_vendor_variable_alone(fake_web, transcript, context, monkeypatch) -> None:
    """FIRECRAWL_API_URL (self-hosted Firecrawl) with no config key: provider auto picks Firecrawl and reaches it."""
    _seed(fake_web, 3)
    monkeypatch.setenv("FIRECRAWL_API_URL", fake_web.url)
    monkeypatch.delenv("FIRECRAWL_API_KEY", raising=False)
    report = _evaluate(fake_web, transcript, context, firecrawl_api_url=None, provider="auto")
    assert report.method == "content+forums"
    assert all(s.via == "firecrawl" and s.ok for s in report.sources)
    assert len(fake_web.seen("/v2/search")) == 2


def test_the_config_key_wins_over_firecrawl_api_url(fake_web, transcript, context, monkeypatch) -> None:
    _seed(fake_web, 3)
    monkeypatch.setenv("FIRECRAWL_API_URL", "http://127.0.0.1:9")  # nothing listens there
    report = _evaluate(fake_web, transcript, context)  # virality.firecrawl_api_url = the fake
    assert all(s.via == "firecrawl" and s.ok for s in report.sources)
