"""Issue #14: replace-not-add feedback, per-platform rewards, the drift detector, brief features, the packed
policy document and the decision's explanation fields."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from storyreel.services.brief.features import FEATURES, brief_features
from storyreel.services.brief.levers import LEVERS
from storyreel.services.optimizer import bandit, step
from storyreel.shared.contracts import Engagement, Transcript
from storyreel.shared.pipeline import TRANSCRIPT
from storyreel.shared.stores import SqliteStateStore, put_model

from testkit.fakes import make_creative

CTX = {"format": "tutorial", "tone": "positive"}
VARIANT = {"hook_style": "story", "visual_style": "animated", "pacing": "fast", "color_treatment": "muted"}


def _beliefs(store: SqliteStateStore) -> dict:
    return bandit.load_state(store.get_policy(step.POLICY_NAME)[0])["buckets"]


def _registered(store: SqliteStateStore, run_ids: list[str], platform: str | None = None) -> None:
    for run_id in run_ids:
        step.update_policy(store, lambda s, r=run_id: bandit.register(s, r, CTX, VARIANT, platform=platform))


def test_feedback_sent_again_replaces_the_earlier_numbers(tmp_path) -> None:
    twice, once = SqliteStateStore(tmp_path / "a.sqlite3"), SqliteStateStore(tmp_path / "b.sqlite3")
    _registered(twice, ["r1", "r2"])
    _registered(once, ["r1", "r2"])
    early = Engagement(views=300, likes=10, comments=1, shares=0)
    later = Engagement(views=5000, likes=400, comments=30, shares=40)
    step.feedback(twice, "r1", early)
    step.feedback(twice, "r2", early)
    r_twice = step.feedback(twice, "r1", later)  # the newer totals for r1 arrive
    step.feedback(once, "r2", early)
    r_once = step.feedback(once, "r1", later)
    assert r_twice == r_once != step.engagement_reward(early)
    a, b = _beliefs(twice), _beliefs(once)
    for lever, arm in VARIANT.items():
        for key in ("s", "f", "q", "n"):
            assert a[bandit.bucket_of(CTX)][lever][arm][key] == pytest.approx(
                b[bandit.bucket_of(CTX)][lever][arm][key]
            )
    # the arm holds two runs' worth of evidence, not three
    assert a[bandit.bucket_of(CTX)]["hook_style"]["story"]["n"] == 2


def test_repeated_feedback_from_many_threads_keeps_only_the_latest(tmp_path) -> None:
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    runs = [f"r{i}" for i in range(6)]
    _registered(store, runs)
    final = Engagement(views=2000, likes=150, comments=5, shares=10)

    def send(run_id: str) -> None:
        for views in (100, 400, 900):  # growing pieces, each sent as the new total
            step.feedback(store, run_id, Engagement(views=views, likes=views // 20))
        step.feedback(store, run_id, final)

    with ThreadPoolExecutor(max_workers=3) as pool:
        for fut in [pool.submit(send, r) for r in runs]:
            fut.result()
    reward = step.engagement_reward(final)
    arm = _beliefs(store)[bandit.bucket_of(CTX)]["pacing"]["fast"]
    assert arm["n"] == len(runs)
    assert arm["s"] == pytest.approx(len(runs) * reward) and arm["f"] == pytest.approx(
        len(runs) * (1 - reward)
    )


def test_the_reward_is_normalised_by_the_runs_platform(tmp_path) -> None:
    e = Engagement(views=1000, likes=50, comments=2, shares=3)
    assert step.engagement_reward(e, "TikTok") != step.engagement_reward(e, "YouTube")
    for platform in [*step.PLATFORM_BASELINES, None, "Somewhere else"]:
        assert 0.0 <= step.engagement_reward(e, platform) < 1.0
    # more engagement per view on the same platform is worth more
    assert step.engagement_reward(Engagement(views=1000, likes=90), "TikTok") > step.engagement_reward(
        Engagement(views=1000, likes=30), "TikTok"
    )
    store = SqliteStateStore(tmp_path / "state.sqlite3")
    _registered(store, ["tk"], platform="TikTok")
    assert step.feedback(store, "tk", e) == step.engagement_reward(e, "TikTok")


def test_drift_detector_triggers_on_a_planted_fall_and_not_on_noise() -> None:
    rng = random.Random(0)
    g, alarms = 0.0, 0
    for _ in range(500):
        g, alarm = bandit.drift_step(g, rng.gauss(0.0, 1.0))
        alarms += alarm
    assert alarms == 0
    g, at = 0.0, None
    for i in range(200):
        g, alarm = bandit.drift_step(g, rng.gauss(-1.0, 1.0))  # rewards one sd below the prediction
        if alarm:
            at = i
            break
    assert at is not None and at < 40


def test_a_changed_audience_resets_the_bucket_and_a_steady_one_does_not() -> None:
    rng = random.Random(3)
    steady, drifting = bandit.empty_state(), bandit.empty_state()
    for i in range(400):
        for state, p in ((steady, 0.6), (drifting, 0.6 if i < 200 else 0.3)):
            r = min(1.0, max(0.0, rng.gauss(p, 0.1)))
            bandit.update(
                state, f"r{i}", r, kind="real", weight=1.0, features=CTX, variant=VARIANT, max_runs=50
            )
    bucket = bandit.bucket_of(CTX)
    assert bucket not in steady["drift"] or steady["drift"][bucket]["alarms"] == 0
    assert drifting["drift"][bucket]["alarms"] >= 1 and drifting["drift"][bucket]["last_alarm"] >= 200
    # after the alarm the arm's evidence is mostly the new audience's
    st = drifting["buckets"][bucket]["hook_style"]["story"]
    assert st["s"] / (st["s"] + st["f"]) < 0.45


def test_brief_features() -> None:
    text = "Did you know 40 percent of home cooks burn garlic? I want a cinematic look for our new app."
    assert brief_features(text) == {f: "yes" for f in FEATURES}
    plain = "Show how I make garlic pasta at home, step by step."
    assert brief_features(plain) == {f: "no" for f in FEATURES}
    assert (
        brief_features(plain, make_creative(content_style="product demo", intent="sell"))["names_product"]
        == "yes"
    )
    assert brief_features("three bottles and thirty seconds")["has_statistic"] == "no"


def test_the_decision_explains_itself_with_the_brief_features(make_ctx) -> None:
    ctx = make_ctx("run-b")
    text = "Why do 3 in 10 people skip breakfast? Make it minimalist."
    put_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript(text=text, duration_s=4.0))
    decision = step.choose(ctx)
    assert decision.context_features == {"tone": "positive", "format": "tutorial", **brief_features(text)}
    for lever in decision.variant:
        post = decision.posterior[lever]
        assert set(post) == set(LEVERS[lever]) == set(decision.samples[lever])
        assert all(p.alpha > 0 and p.beta > 0 and 0 < p.mean < 1 for p in post.values())
        assert 0.0 <= decision.exploration_probability[lever] <= 1.0
    stored = bandit.load_state(ctx.state.get_policy(step.POLICY_NAME)[0])
    assert bandit.get_run(stored, "run-b")["b"] == bandit.bucket_of(decision.context_features)


def test_the_packed_document_round_trips_exactly() -> None:
    rng = random.Random(1)
    state = bandit.empty_state()
    for i in range(120):
        v = {lever: rng.choice(arms) for lever, arms in LEVERS.items()}
        if i % 3 == 0:
            v.pop("pacing")  # a stated lever: not chosen
        bandit.register(
            state,
            f"w{i}",
            CTX if i % 2 else {**CTX, "tone": "neutral"},
            v,
            platform="TikTok" if i % 4 else None,
        )
        if i % 5:
            bandit.update(state, f"w{i}", rng.random(), kind="real", weight=1.0, memory=10.0, max_runs=100)
    back = bandit.load_state(bandit.dump_state(state))
    assert back["run_order"] == state["run_order"]
    assert all(bandit.get_run(back, r) == state["runs"][r] for r in state["runs"])
    again = bandit.load_state(bandit.dump_state(back))  # parsed and untouched runs are written back alike
    assert all(bandit.get_run(again, r) == state["runs"][r] for r in state["runs"])
    assert back["buckets"] == state["buckets"] and isinstance(bandit.dump_state(state)["runs"], str)
    with pytest.raises(ValueError):
        bandit.register(state, "bad\tid", CTX, VARIANT)


@pytest.mark.parametrize("seed", [6, 11])  # seeds on which the former threshold (10) raised a false alarm
def test_a_steady_audience_with_0_1_rewards_raises_no_drift_alarm(seed: int) -> None:
    """The learner's own choices on a stationary 0/1 audience (bench/bandit.py's effects): nothing to forget."""
    effects = {
        "hook_style": [0.00, 0.12, 0.04, 0.02],
        "visual_style": [0.03, 0.00, 0.10, 0.02],
        "pacing": [0.00, 0.08, 0.02],
        "color_treatment": [0.02, 0.00, 0.09, 0.04],
    }
    rng = random.Random(seed)
    state = bandit.empty_state()
    for i in range(500):
        v = bandit.decide(state, CTX, rng, explain=False)["variant"]
        p = 0.22 + sum(effects[lever][LEVERS[lever].index(arm)] for lever, arm in v.items())
        r = 1.0 if rng.random() < p else 0.0
        bandit.update(state, f"r{i}", r, kind="real", weight=1.0, features=CTX, variant=v, max_runs=8)
    assert state["drift"][bandit.bucket_of(CTX)]["alarms"] == 0
