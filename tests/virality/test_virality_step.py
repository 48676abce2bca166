from __future__ import annotations

from pathlib import Path

from storyreel.services.virality import step
from storyreel.shared.contracts import OptimizerDecision
from storyreel.shared.pipeline import CONTEXT, DECISION, TRANSCRIPT, VIRALITY, RunContext
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, get_model, put_model

from testkit.vendors.firecrawl import forum_config
from testkit.vendors.forums import make_threads


def test_step_scores_the_decided_variant_with_cached_forum_evidence(
    tmp_path: Path, fake_web, state, transcript, context
) -> None:
    fake_web.web.add(make_threads("reddit:r/videos", 3) + make_threads("hackernews", 3))
    virality = forum_config(fake_web, ["reddit:r/videos", "hackernews"]).model_dump()
    settings = Settings(virality=virality, pipeline={"scenes": 4})
    blobs = LocalBlobStore(tmp_path / "runs")
    variant = {"hook_style": "story", "visual_style": "animated", "pacing": "fast", "color_treatment": "cool"}
    for run_id in ("a", "b"):
        ctx = RunContext(run_id=run_id, settings=settings, blobs=blobs, state=state)
        put_model(blobs, ctx.key(TRANSCRIPT), transcript)
        put_model(blobs, ctx.key(CONTEXT), context)
        put_model(blobs, ctx.key(DECISION), OptimizerDecision(variant=variant))
        report = step.run(ctx)
        assert get_model(blobs, ctx.key(VIRALITY), type(report)) == report
        assert report.variant == variant
        assert "4 scenes x 2.5 s" in next(c for c in report.components if c.name == "length_fit").explanation
    assert report.method == "content+forums"
    assert all(s.cached for s in report.sources)  # the second run with the same keywords hit the cache


def test_step_without_forum_evidence(tmp_path: Path, state, transcript, context) -> None:
    settings = Settings(pipeline={"virality_evaluation": False})
    ctx = RunContext(run_id="c", settings=settings, blobs=LocalBlobStore(tmp_path), state=state)
    put_model(ctx.blobs, ctx.key(TRANSCRIPT), transcript)
    put_model(ctx.blobs, ctx.key(CONTEXT), context)
    report = step.run(ctx)
    assert report.method == "content-only" and report.sources == []


def test_step_records_the_requests_it_sent(tmp_path: Path, fake_web, state, transcript, context) -> None:
    import json

    fake_web.web.add(make_threads("reddit:r/videos", 2) + make_threads("hackernews", 2))
    fake_web.web.refuse = {"news.ycombinator.com"}
    settings = Settings(virality=forum_config(fake_web, ["reddit:r/videos", "hackernews"]).model_dump())
    ctx = RunContext(run_id="u", settings=settings, blobs=LocalBlobStore(tmp_path), state=state)
    put_model(ctx.blobs, ctx.key(TRANSCRIPT), transcript)
    put_model(ctx.blobs, ctx.key(CONTEXT), context)
    step.run(ctx)
    usage = {u["provider"]: u for u in json.loads(ctx.blobs.get_bytes(ctx.key("usage/virality.json")))}
    assert usage["firecrawl"]["requests"] == 2  # two searches (the HN one refused)
    assert usage["hn-algolia"]["requests"] == 1
