from __future__ import annotations

from storyreel.services.virality.content import content_components, format_family, hook, length_fit
from storyreel.services.virality.score import evaluate, evaluate_variants, get_evidence_source
from storyreel.shared.settings import ViralityConfig

from testkit.fakes import make_creative


def test_components_are_deterministic_bounded_and_explained(transcript, context) -> None:
    a = content_components(transcript, context, {})
    b = content_components(transcript, context, {})
    assert [c.model_dump() for c in a] == [c.model_dump() for c in b]
    assert [c.name for c in a] == ["hook", "emotion", "clarity", "length_fit"]
    for c in a:
        assert 0 <= c.score <= 100
        assert c.explanation and c.numbers


def test_variant_changes_the_score_where_it_should(transcript, context) -> None:
    no_number = transcript.model_copy(update={"text": "Show my garlic pasta. It is simple and I love it."})
    stat = hook(no_number, context, {"hook_style": "statistic"})
    question = hook(no_number, context, {"hook_style": "question"})
    assert stat.score < question.score
    assert "no statistic" in stat.explanation and "placeholder" in stat.explanation
    fast = length_fit(transcript, context, {"pacing": "fast"}, n_scenes=5)  # 5 x 2.5 s, under TikTok's 15
    balanced = length_fit(transcript, context, {"pacing": "balanced"}, n_scenes=5)  # 5 x 4 s
    assert balanced.score == 100 and fast.score < 100
    assert "12.5 s" in fast.explanation and "tiktok" in fast.explanation


def test_format_family() -> None:
    ctx = make_creative(intent="sell", content_style="product demo")
    assert format_family(ctx) == "product"


def test_content_only_report_when_forum_evidence_is_off(transcript, context) -> None:
    report = evaluate(transcript, context, {"hook_style": "story"}, None, ViralityConfig())
    assert report.method == "content-only"
    assert {n.component for n in report.not_evaluated} == {"demand", "engagement", "saturation", "format_fit"}
    assert all("virality_evaluation" in n.reason for n in report.not_evaluated if n.component != "format_fit")
    assert report.sources == []
    assert report.variant["hook_style"] == "story"
    assert report.score is not None and 0 < report.score <= 100
    assert report.confidence == round(0.55 / 0.90, 3)  # the content components' share of the weight


def test_unconfigured_forum_provider_says_what_to_set(transcript, context, monkeypatch) -> None:
    monkeypatch.delenv("FIRECRAWL_API_KEY", raising=False)
    config = ViralityConfig(topic_subreddits=False)
    report = evaluate(transcript, context, {}, get_evidence_source(config, None), config)
    assert report.method == "content-only"
    assert [s.source for s in report.sources] == [
        "reddit:r/videos",
        "reddit:r/youtube",
        "reddit:r/videoediting",
        "hackernews",
    ]
    assert all(not s.ok for s in report.sources)
    assert "FIRECRAWL_API_KEY" in report.not_evaluated[0].reason


def test_several_variants_scored_against_one_gathering(transcript, context) -> None:
    variants = [{"pacing": "fast"}, {"pacing": "slow"}]
    reports = evaluate_variants(transcript, context, variants, None, ViralityConfig())
    assert [r.variant["pacing"] for r in reports] == ["fast", "slow"]
    assert reports[0].score != reports[1].score


def test_no_keywords_means_forums_not_evaluated(transcript) -> None:
    ctx = make_creative(intent="i", content_style="vlog")
    from storyreel.services.virality.evidence import Unconfigured

    report = evaluate(transcript, ctx, {}, Unconfigured("x"), ViralityConfig())
    assert all("no keywords" in n.reason for n in report.not_evaluated if n.component != "format_fit")


def test_hook_counts_a_keyword_phrase_in_the_opening(transcript, context) -> None:
    with_kw = hook(transcript, context.model_copy(update={"keywords": ["burn garlic"]}), {})
    without = hook(transcript, context.model_copy(update={"keywords": ["skateboard"]}), {})
    assert with_kw.numbers["keywords_in_opening"] == 1 and without.numbers["keywords_in_opening"] == 0
    assert with_kw.score - without.score == 20
