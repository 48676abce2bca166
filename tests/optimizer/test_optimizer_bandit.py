from __future__ import annotations

import json
import random

import pytest
from storyreel.services.brief.levers import LEVERS
from storyreel.services.optimizer import bandit

CTX = {"format": "tutorial", "tone": "positive"}
BEST = {
    "hook_style": "bold_claim",
    "visual_style": "animated",
    "pacing": "balanced",
    "color_treatment": "vibrant",
}


def _reward(variant: dict[str, str], rng: random.Random) -> float:
    p = 0.2 + sum(0.1 for lever, arm in variant.items() if BEST[lever] == arm)
    return min(1.0, max(0.0, rng.gauss(p, 0.15)))


def test_converges_on_a_stationary_audience() -> None:
    rng, env = random.Random(7), random.Random(8)
    state = bandit.empty_state()
    picks = []
    for t in range(300):
        v = bandit.decide(state, CTX, rng, explain=False)["variant"]
        bandit.update(
            state, f"r{t}", _reward(v, env), kind="real", weight=1.0, features=CTX, variant=v, max_runs=5
        )
        if t >= 200:
            picks.append(sum(v[lever] == BEST[lever] for lever in LEVERS) / len(LEVERS))
    assert sum(picks) / len(picks) >= 0.9
    json.dumps(state)  # JSON-able all the way


def test_undo_is_exact_even_after_memory_scaling() -> None:
    state = bandit.empty_state()
    v = dict(BEST)
    bandit.update(state, "a", 0.8, kind="prediction", weight=0.3, features=CTX, variant=v)
    for i in range(100):  # push the arm past `memory`, so its counts get scaled down many times
        bandit.update(
            state, f"x{i}", 0.5, kind="real", weight=1.0, features=CTX, variant=v, memory=40, max_runs=200
        )
    arm = state["buckets"]["format=tutorial|tone=positive"]["hook_style"]["bold_claim"]
    assert arm["s"] + arm["f"] == pytest.approx(40)
    faded = 0.3 * 0.8 * __import__("math").exp(arm["log_scale"])  # what is left of run "a" after the scaling
    for i in range(100):
        assert bandit.undo(state, f"x{i}")
    assert arm["s"] == pytest.approx(faded, abs=1e-9)
    assert bandit.undo(state, "a")
    assert arm["s"] == pytest.approx(0, abs=1e-9) and arm["f"] == pytest.approx(0, abs=1e-9)
    assert not bandit.undo(state, "a")  # nothing left to take out


def test_a_new_context_borrows_the_pooled_prior_but_its_own_evidence_wins() -> None:
    state = bandit.empty_state()
    other = {"format": "tutorial", "tone": "negative"}
    for i in range(30):
        bandit.update(state, f"o{i}", 0.9, kind="real", weight=1.0, features=other, variant=BEST)
    a, b, n = bandit.posterior(state, bandit.bucket_of(CTX), "hook_style", "bold_claim", prior_strength=4.0)
    assert (
        n == 0 and a / (a + b) > 0.5 and a + b == pytest.approx(2 + bandit.EVIDENCE_SCALE * 4.0)
    )  # 4 borrowed
    for i in range(20):
        bandit.update(state, f"c{i}", 0.1, kind="real", weight=1.0, features=CTX, variant=BEST)
    a, b, _ = bandit.posterior(state, bandit.bucket_of(CTX), "hook_style", "bold_claim", prior_strength=4.0)
    assert a / (a + b) < 0.3


def test_exploration_probability_and_win_probabilities() -> None:
    wins = bandit.win_probabilities([(1, 1), (1, 1), (1, 1)])
    assert wins == pytest.approx([1 / 3] * 3, abs=0.01)
    wins = bandit.win_probabilities([(90, 10), (10, 90)])
    assert wins[0] == pytest.approx(1.0, abs=1e-3)
    out = bandit.decide(bandit.empty_state(), CTX, random.Random(1))
    assert out["exploration_probability"]["pacing"] == pytest.approx(2 / 3, abs=0.01)  # 3 equal arms


def test_rewards_outside_0_1_and_unknown_arms_are_refused() -> None:
    with pytest.raises(ValueError):
        bandit.update(bandit.empty_state(), "r", 1.5, kind="real", weight=1.0, features=CTX, variant=BEST)
    with pytest.raises(ValueError):
        bandit.update(
            bandit.empty_state(), "r", 0.5, kind="real", weight=1.0, features=CTX, variant={"pacing": "warp"}
        )


def test_learns_a_different_best_arm_per_context() -> None:
    """Two tones whose audiences prefer a different arm on every lever: after 300 runs the policy picks each
    context's own best arm most of the time (a context-blind learner cannot reach 70 % in both)."""
    other = {"format": "tutorial", "tone": "negative"}
    best_other = {lever: arms[(arms.index(BEST[lever]) + 1) % len(arms)] for lever, arms in LEVERS.items()}
    best = {bandit.bucket_of(CTX): BEST, bandit.bucket_of(other): best_other}
    rng, env = random.Random(3), random.Random(4)
    state = bandit.empty_state()
    hits = {bucket: [] for bucket in best}
    for t in range(400):
        ctx = CTX if env.random() < 0.5 else other
        target = best[bandit.bucket_of(ctx)]
        v = bandit.decide(state, ctx, rng, explain=False)["variant"]
        p = 0.2 + sum(0.1 for lever, arm in v.items() if target[lever] == arm)
        reward = min(1.0, max(0.0, env.gauss(p, 0.15)))
        bandit.update(state, f"r{t}", reward, kind="real", weight=1.0, features=ctx, variant=v, max_runs=5)
        if t >= 300:
            hits[bandit.bucket_of(ctx)].append(
                sum(v[lever] == target[lever] for lever in LEVERS) / len(LEVERS)
            )
    for bucket, h in hits.items():
        assert sum(h) / len(h) >= 0.7, bucket
    json.dumps(state)


def test_beta_quantiles_match_known_values() -> None:
    from storyreel.services.optimizer import bandit

    lo, hi = bandit.beta_quantiles(2, 2, (0.05, 0.95))
    assert lo == pytest.approx(0.1354, abs=0.003) and hi == pytest.approx(0.8646, abs=0.003)
    (median,) = bandit.beta_quantiles(10, 90, (0.5,))
    assert median == pytest.approx(0.0967, abs=0.003)
