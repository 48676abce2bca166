from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from storyreel.services.brief.levers import DEFAULT_VARIANT, LEVERS
from storyreel.services.optimizer import bandit, policy, step
from storyreel.shared.contracts import CreativeContext, Engagement, OptimizerDecision, ViralityReport
from storyreel.shared.errors import NotFoundError
from storyreel.shared.pipeline import DECISION, VIRALITY
from storyreel.shared.settings import Settings
from storyreel.shared.stores import get_model, put_model


def _arm(state, run_id: str, lever: str):
    doc = bandit.load_state(state.get_policy(step.POLICY_NAME)[0])
    run = bandit.get_run(doc, run_id)
    return doc["buckets"][run["b"]][lever][run["v"][lever]], run


def test_decision_explains_itself(make_ctx) -> None:
    ctx = make_ctx("run-1")
    decision = step.choose(ctx)
    stored = get_model(ctx.blobs, ctx.key(DECISION), OptimizerDecision)
    assert stored.variant == decision.variant
    assert decision.context_features == {"tone": "positive", "format": "tutorial"}
    for lever, arms in LEVERS.items():
        assert decision.variant[lever] in arms
        assert set(decision.posterior[lever]) == set(arms) == set(decision.samples[lever])
        chosen = decision.variant[lever]
        assert decision.samples[lever][chosen] == max(decision.samples[lever].values())  # argmax of the draw
        assert 0.0 <= decision.exploration_probability[lever] <= 1.0
    # same run, same state -> same draw (seeded by the run id): the decision can be reproduced
    context = get_model(ctx.blobs, ctx.key("context.json"), CreativeContext)
    assert step.decide({}, "run-1", context, Settings().optimizer).variant == decision.variant


def test_optimizer_off_writes_the_default_variant(make_ctx, state) -> None:
    ctx = make_ctx("run-off", Settings(optimizer={"enabled": False}))
    decision = step.choose(ctx)
    assert decision.policy == "off" and decision.variant == DEFAULT_VARIANT
    assert state.get_policy(step.POLICY_NAME) == ({}, 0)
    put_model(ctx.blobs, ctx.key(VIRALITY), ViralityReport(score=80, confidence=0.6))
    assert step.learn(ctx) is None


def test_feedback_outweighs_and_replaces_the_prediction(make_ctx, state) -> None:
    ctx = make_ctx("run-2")
    step.choose(ctx)
    put_model(ctx.blobs, ctx.key(VIRALITY), ViralityReport(score=90, confidence=0.6))
    assert step.learn(ctx) == 0.9
    arm, run = _arm(state, "run-2", "hook_style")
    assert run["k"] == "prediction"
    assert arm["s"] == pytest.approx(0.3 * 0.9) and arm["f"] == pytest.approx(
        0.3 * 0.1
    )  # prediction_weight 0.3
    weak = Engagement(views=1000, likes=5, comments=0, shares=0)
    reward = step.feedback(state, "run-2", weak)
    assert reward == step.engagement_reward(weak) < 0.5
    arm, run = _arm(state, "run-2", "hook_style")
    assert run["k"] == "real"
    # only the real reward remains, at full weight: the prediction's 0.27 successes are gone
    assert arm["s"] == pytest.approx(reward) and arm["f"] == pytest.approx(1 - reward)
    # a late prediction never overrides real engagement
    step.learn(ctx)
    arm, _ = _arm(state, "run-2", "hook_style")
    assert arm["s"] == pytest.approx(reward)
    # the run record (when the store has one) is not required; unknown runs are a user error
    with pytest.raises(NotFoundError):
        step.feedback(state, "no-such-run", weak)


def test_engagement_reward_formula() -> None:
    # default baseline (no platform): median weighted rate 0.04, median views 500
    r = step.engagement_reward(Engagement(views=12000, likes=900, comments=40, shares=75))
    assert r == pytest.approx(0.5 * (1 - 2 ** (-(1205 / 12000) / 0.04)) + 0.5 * (1 - 2 ** (-12000 / 500)))
    # at the platform's median rate and median views the reward is exactly one half
    rate, views = step.platform_baseline("TikTok")
    likes = round(rate * views)
    assert step.engagement_reward(Engagement(views=int(views), likes=likes), "TikTok") == pytest.approx(0.5)
    assert step.engagement_reward(Engagement(views=10**9, likes=10**9, shares=10**9)) <= 1.0


def test_concurrent_updates_lose_nothing(make_ctx, state) -> None:
    n_threads, per_thread = 6, 8
    ctxs = [[make_ctx(f"t{t}-r{i}") for i in range(per_thread)] for t in range(n_threads)]
    for group in ctxs:
        for ctx in group:
            step.choose(ctx)
            put_model(ctx.blobs, ctx.key(VIRALITY), ViralityReport(score=60, confidence=0.6))

    def worker(group) -> None:
        for ctx in group:
            step.learn(ctx)

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        for fut in [pool.submit(worker, g) for g in ctxs]:
            fut.result()  # re-raises whatever a thread hit
    stored, version = state.get_policy(step.POLICY_NAME)
    doc = bandit.load_state(stored)
    assert doc["updates"] == n_threads * per_thread
    assert all(bandit.get_run(doc, c.run_id)["k"] == "prediction" for g in ctxs for c in g)
    pulls = sum(a["n"] for a in doc["buckets"]["format=tutorial|tone=positive"]["pacing"].values())
    assert pulls == n_threads * per_thread
    assert version == 2 * n_threads * per_thread  # one write per choose, one per learn


def test_policy_table(make_ctx, state) -> None:
    assert "no runs yet" in policy.describe(state)
    ctx = make_ctx("run-p")
    step.choose(ctx)
    put_model(ctx.blobs, ctx.key(VIRALITY), ViralityReport(score=70, confidence=0.6))
    step.learn(ctx)
    text = policy.describe(state)
    assert "context: format=tutorial|tone=positive" in text and "context: all runs pooled" in text
    for arms in LEVERS.values():
        for arm in arms:
            assert arm in text
    assert bandit.bucket_of({}) == "all"
