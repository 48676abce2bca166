"""Learner alternatives tried against the shipped Thompson sampler (services/optimizer/bandit.py), on the TUNING
seeds 0-19 of bench/bandit.py's simulated audiences. None beat the shipped learner, so none was shipped; this
script keeps the evidence reproducible. Writes bench/results/bandit_alternatives.md.

    python bench/bandit_alternatives.py            # 20 seeds (about 3 min on one core)
    python bench/bandit_alternatives.py --seeds 4  # smoke

"stationary, 167 rounds" is one context's share of the 500 rounds of the context-dependent audience: that
audience is three independent problems of ~167 rounds each (its contexts share no best arm), so a learner that
does not help there cannot help the context-dependent case either.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bandit as bench  # bench/bandit.py: audiences, baselines, simulate
from storyreel.services.brief.levers import LEVERS
from storyreel.services.optimizer import bandit
from storyreel.shared.settings import OptimizerConfig

RESULTS = Path(__file__).resolve().parent / "results"
Params = list[tuple[float, float]]


# --------------------------------------------------------------------------- alternative priors
def lever_spread(state: dict[str, Any], lever: str) -> tuple[float | None, float]:
    """(tau2, sigma2): DerSimonian-Laird between-context variance of an arm's mean reward (pooled over the lever's
    arms) and the within-arm noise variance; tau2 None until some arm has data in two contexts."""
    ss = n = tot = 0.0
    per_arm = []
    for arm in LEVERS[lever]:
        rows = []
        for levers in state["buckets"].values():
            st = levers.get(lever, {}).get(arm)
            w = st["s"] + st["f"] if st else 0.0
            if w > 0:
                m = st["s"] / w
                ss += max(0.0, st["q"] - w * m * m)
                n, tot = n + w, tot + st["s"]
                rows.append((w, m))
        per_arm.append(rows)
    if n <= 0:
        return None, 0.25
    mean = tot / n
    sigma2 = max(1e-6, (ss + bandit.VAR_PRIOR_OBS * mean * (1 - mean)) / (n + bandit.VAR_PRIOR_OBS))
    num = den = 0.0
    for rows in per_arm:
        if len(rows) < 2:
            continue
        om = [w / sigma2 for w, _ in rows]
        big = sum(om)
        mbar = sum(o * m for o, (_, m) in zip(om, rows, strict=True)) / big
        num += sum(o * (m - mbar) ** 2 for o, (_, m) in zip(om, rows, strict=True)) - (len(rows) - 1)
        den += big - sum(o * o for o in om) / big
    return (max(0.0, num / den) if den > 0 else None), sigma2


def learned_shrinkage(cap: float) -> Callable[..., tuple[float, float]]:
    """Hierarchical prior: this context's arm mean ~ N(the arm's mean in the other contexts, tau2), tau2 learned;
    borrows m(1-m)/(tau2 + sigma2/n_o) - 1 pseudo-observations (at most `cap`), instead of a fixed 4."""

    def post(state: dict[str, Any], bucket: str, lever: str, arm: str) -> tuple[float, float]:
        own = bandit._peek(state, bucket, lever, arm)
        os_ = of = 0.0
        for name, levers in state["buckets"].items():
            st = levers.get(lever, {}).get(arm)
            if name != bucket and st:
                os_, of = os_ + st["s"], of + st["f"]
        n0 = m0 = 0.0
        if os_ + of > 0:
            m0 = os_ / (os_ + of)
            tau2, sigma2 = lever_spread(state, lever)
            if tau2 is None:
                n0 = min(4.0, os_ + of)
            else:
                n0 = min(cap, max(0.0, m0 * (1 - m0) / max(1e-9, tau2 + sigma2 / (os_ + of)) - 1))
        kappa = bandit.information(
            own, bandit.noise_variance(state["buckets"].get(bucket, {}).get(lever, {}))
        )
        return 1 + n0 * m0 + kappa * own["s"], 1 + n0 * (1 - m0) + kappa * own["f"]

    return post


def shipped(prior_strength: float) -> Callable[..., tuple[float, float]]:
    def post(state: dict[str, Any], bucket: str, lever: str, arm: str) -> tuple[float, float]:
        a, b, _ = bandit.posterior(state, bucket, lever, arm, prior_strength)
        return a, b

    return post


# --------------------------------------------------------------------------- alternative decision rules
def thompson_rule(params: Params, rng: random.Random) -> int:
    draws = [rng.betavariate(a, b) for a, b in params]
    return max(range(len(params)), key=draws.__getitem__)


def greedy_rule(params: Params, rng: random.Random) -> int:
    means = [a / (a + b) for a, b in params]
    top = max(means)
    return rng.choice([i for i, m in enumerate(means) if m == top])


def eps_ts_rule(params: Params, rng: random.Random) -> int:
    """epsilon-exploring TS (Jin et al., ICML 2022): the Thompson draw with probability 1/K, else the mean."""
    return thompson_rule(params, rng) if rng.random() < 1 / len(params) else greedy_rule(params, rng)


def ids_rule(params: Params, rng: random.Random, grid: int = 128) -> int:
    """Variance-based information-directed sampling (Russo & Van Roy 2018) over independent Beta posteriors:
    minimise (expected regret)^2 / (variance of E[reward | best arm]) over mixtures of two arms."""
    k, dx = len(params), 1.0 / grid
    pdf, cdf, pm = [], [], []
    for a, b in params:
        xs, f = bandit.beta_pdf_grid(a, b, grid)
        tot = sum(f) * dx or 1.0
        f = [v / tot for v in f]
        c, c1, acc, acc1 = [], [], 0.0, 0.0
        for x, v in zip(xs, f, strict=True):
            c.append(acc + 0.5 * v * dx)
            c1.append(acc1 + 0.5 * x * v * dx)
            acc, acc1 = acc + v * dx, acc1 + x * v * dx
        pdf.append(f)
        cdf.append(c)
        pm.append(c1)
    mu = [sum(x * v for x, v in zip(xs, f, strict=True)) * dx for f in pdf]
    p = [0.0] * k
    joint = [[0.0] * k for _ in range(k)]  # joint[i][j] = E[theta_j ; best = i]
    for i in range(k):
        for g in range(grid):
            for j in range(k):
                prod = pdf[i][g] * dx * (xs[g] if j == i else pm[j][g])
                for m in range(k):
                    if m not in (i, j):
                        prod *= cdf[m][g]
                if j == i:
                    p[i] += prod / xs[g]
                joint[i][j] += prod
    tot = sum(p)
    p = [v / tot for v in p]
    joint = [[v / tot for v in row] for row in joint]
    rho = sum(joint[i][i] for i in range(k))
    delta = [max(0.0, rho - mu[j]) for j in range(k)]
    gain = [sum(p[i] * (joint[i][j] / p[i] - mu[j]) ** 2 for i in range(k) if p[i] > 1e-12) for j in range(k)]
    best = (math.inf, 0, 0, 1.0)
    for a in range(k):
        for b in range(k):
            for step in range(101):
                q = step / 100
                d, g = q * delta[a] + (1 - q) * delta[b], q * gain[a] + (1 - q) * gain[b]
                ratio = d * d / g if g > 1e-15 else (0.0 if d <= 1e-15 else math.inf)
                if ratio < best[0] - 1e-15:
                    best = (ratio, a, b, q)
    _, a, b, q = best
    return a if rng.random() < q else b


# --------------------------------------------------------------------------- policies
class Variant(bench.Thompson):
    """The shipped state and updates, with another prior and/or decision rule, optionally residualized credit."""

    def __init__(self, rng, config, post, rule, residualize: bool = False) -> None:
        super().__init__(rng, config)
        self.post, self.rule, self.residualize = post, rule, residualize

    def choose(self, ctx: dict[str, str]) -> dict[str, str]:
        b = bandit.bucket_of(ctx)
        return {
            lever: arms[self.rule([self.post(self.state, b, lever, arm) for arm in arms], self.rng)]
            for lever, arms in LEVERS.items()
        }

    def learn(self, ctx: dict[str, str], variant: dict[str, str], reward: float) -> None:
        if not self.residualize:
            return super().learn(ctx, variant, reward)
        # additive backfitting: credit each lever with the reward minus the other levers' estimated deviations
        self.i += 1
        b = bandit.bucket_of(ctx)
        dev = {}
        for lever, arm in variant.items():
            stats = {a: bandit._peek(self.state, b, lever, a) for a in LEVERS[lever]}
            seen = {a: st for a, st in stats.items() if st["s"] + st["f"] > 0}
            if arm in seen and len(seen) > 1:
                w = sum(st["s"] + st["f"] for st in seen.values())
                mbar = sum(st["s"] for st in seen.values()) / w
                dev[lever] = seen[arm]["s"] / (seen[arm]["s"] + seen[arm]["f"]) - mbar
            else:
                dev[lever] = 0.0
        for lever in LEVERS:
            r = min(1.0, max(0.0, reward - sum(d for other, d in dev.items() if other != lever)))
            bandit.update(
                self.state,
                f"r{self.i}.{lever}",
                r,
                kind="real",
                weight=1.0,
                memory=self.config.memory,
                max_runs=8,
                features=ctx,
                variant={lever: variant[lever]},
            )
        return None


class LinearTS:
    """Linear Thompson sampling per context: reward = intercept + one effect per (lever, arm) + N(0, s2);
    Gaussian prior (effects N(0, 0.1^2)), s2 estimated from the residuals; one joint draw, argmax per lever."""

    def __init__(self, rng: random.Random, tau: float = 0.1) -> None:
        self.rng = np.random.default_rng(rng.randrange(2**32))
        self.index, off = [], 1
        for lever, arms in LEVERS.items():
            self.index.append((lever, arms, list(range(off, off + len(arms)))))
            off += len(arms)
        self.dim, self.tau, self.stats = off, tau, {}

    def _x(self, variant: dict[str, str]) -> np.ndarray:
        x = np.zeros(self.dim)
        x[0] = 1.0
        for lever, arms, ix in self.index:
            x[ix[arms.index(variant[lever])]] = 1.0
        return x

    def choose(self, ctx: dict[str, str]) -> dict[str, str]:
        d = self.dim
        xtx, xty, yy, n = self.stats.get(bandit.bucket_of(ctx), (np.zeros((d, d)), np.zeros(d), 0.0, 0))
        p0 = np.diag([1.0] + [1 / self.tau**2] * (d - 1))
        m0 = np.zeros(d)
        m0[0] = 0.4
        s2 = 0.04
        if n > d:
            mu = np.linalg.solve(xtx / s2 + p0, xty / s2 + p0 @ m0)
            s2 = (yy - 2 * mu @ xty + mu @ xtx @ mu + 2 * 0.04) / (n + 2)
        cov = np.linalg.inv(xtx / s2 + p0)
        theta = self.rng.multivariate_normal(cov @ (xty / s2 + p0 @ m0), cov)
        return {lever: arms[int(np.argmax(theta[ix]))] for lever, arms, ix in self.index}

    def learn(self, ctx: dict[str, str], variant: dict[str, str], reward: float) -> None:
        d, b = self.dim, bandit.bucket_of(ctx)
        xtx, xty, yy, n = self.stats.get(b, (np.zeros((d, d)), np.zeros(d), 0.0, 0))
        x = self._x(variant)
        self.stats[b] = (xtx + np.outer(x, x), xty + x * reward, yy + reward * reward, n + 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--out", default=str(RESULTS / "bandit_alternatives.md"))
    args = ap.parse_args()
    cfg = OptimizerConfig()
    ps = cfg.prior_strength
    policies: dict[str, Callable[[random.Random], Any]] = {
        "thompson (shipped)": lambda r: bench.Thompson(r, cfg),
        "epsilon-greedy (0.1, per context)": lambda r: bench.EpsilonGreedy(r, 0.1),
        "thompson, no cross-context pooling": lambda r: Variant(r, cfg, shipped(0.0), thompson_rule),
        "thompson, learned cross-context shrinkage (<= 4)": lambda r: Variant(
            r, cfg, learned_shrinkage(4.0), thompson_rule
        ),
        "thompson, learned cross-context shrinkage (<= 64)": lambda r: Variant(
            r, cfg, learned_shrinkage(64.0), thompson_rule
        ),
        "thompson, residualized credit (additive backfitting)": lambda r: Variant(
            r, cfg, shipped(ps), thompson_rule, residualize=True
        ),
        "linear TS (one-hot levers, per context)": lambda r: LinearTS(r),
        "epsilon-exploring TS (1/K)": lambda r: Variant(r, cfg, shipped(ps), eps_ts_rule),
        "information-directed sampling": lambda r: Variant(r, cfg, shipped(ps), ids_rule),
        "greedy on the posterior mean": lambda r: Variant(r, cfg, shipped(ps), greedy_rule),
    }
    cases = {
        "stationary, 167 rounds": ("stationary", 167),
        "stationary": ("stationary", 500),
        "context-dependent": ("context-dependent", 500),
        "drifting": ("drifting", 500),
    }
    t0 = time.perf_counter()
    table: dict[str, dict[str, float]] = {}
    for name, make in policies.items():
        table[name] = {}
        for label, (kind, rounds) in cases.items():
            regrets = [
                bench.simulate(kind, lambda rng, aud, make=make: make(rng), rounds, seed)[0]
                for seed in range(args.seeds)
            ]
            table[name][label] = statistics.fmean(regrets)
        print(name, {k: round(v, 1) for k, v in table[name].items()}, flush=True)
    lines = [
        "# Bandit learner alternatives (tuning seeds)",
        "",
        f"`python bench/bandit_alternatives.py` - mean cumulative regret over seeds 0-{args.seeds - 1} (the "
        "tuning seeds; the committed goal table bench/results/bandit.md uses held-out seeds 100-119), "
        f"audiences of bench/bandit.py. Lower is better. Wall time {time.perf_counter() - t0:.0f} s.",
        "",
        "| learner | " + " | ".join(cases) + " |",
        "|---|" + "---:|" * len(cases),
    ]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.1f}" for c in cases) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
