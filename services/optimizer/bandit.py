"""Contextual Thompson sampling over the creative levers (services/brief/levers.py LEVERS), as pure functions over a
JSON-able state dict (stored through the PolicyStore: SQLite locally, DynamoDB in the cloud).

Model (why this one: docs/optimizer.md)
- One Beta-Bernoulli posterior per (context bucket, lever, arm). A bucket is the context features joined,
  e.g. "format=tutorial|tone=positive" (3 tones x 6 formats = 18 buckets at most).
- Pooled prior: a bucket borrows what the other buckets learned about the same arm, scaled down to at most
  `prior_strength` pseudo-observations, on top of Beta(1, 1). A new bucket starts from the crowd's beliefs and
  its own evidence overrides them after a handful of runs.
- Rewards are in [0, 1]; an update with reward r and weight w adds w*r to successes and w*(1-r) to failures of
  the chosen arm on every lever (the whole variant earned the reward).
- Adaptive forgetting: a one-sided CUSUM (Page-Hinkley) detector per bucket watches the residual of each new
  real reward against the additive prediction for its variant; when rewards fall clearly below what the
  posterior expects, every arm of the bucket is scaled down to `DRIFT_RESET_TO` observations (the audience
  changed). Without an alarm nothing is forgotten (`memory` is only a hard backstop). Every scaling is logged
  (`log_scale`), so a run's contribution can still be undone exactly later.
- Per-run contributions are kept (for the last `max_runs` runs) so real engagement REPLACES the prediction's
  contribution for that run (services/optimizer/step.py: learn and feedback).
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
from storyreel.services.brief.levers import LEVERS

SCHEMA = 1
GRID = 256  # integration points for the exploration probability
PRIOR_A = PRIOR_B = 1.0
KAPPA_MAX = 16.0  # at most 16 Bernoulli-equivalents per observation (guards against early over-confidence)
VAR_PRIOR_OBS = 2.0  # the noise estimate starts from 2 pseudo-observations of Bernoulli noise
# Evidence is counted EVIDENCE_SCALE times (a narrower posterior than the exact one: Thompson sampling over-explores
# over a finite horizon). Chosen on the tuning seeds 0-19 from {1, 1.5, 2, 3} (docs/optimizer.md, "Tuning").
EVIDENCE_SCALE = 1.5
# Drift detector (one-sided CUSUM on standardised residuals; see `drift_step`), chosen on the tuning seeds.
DRIFT_DELTA = 0.25  # allowed slack per observation, in noise standard deviations
DRIFT_LAMBDA = 20.0  # alarm threshold, in noise standard deviations (10 raised false alarms on 0/1 rewards)
DRIFT_MIN_OBS = 8.0  # the bucket needs this many observations before its prediction is trusted
DRIFT_RESET_TO = 4.0  # observations each arm of the bucket keeps after an alarm


def noise_variance(arms: dict[str, dict[str, float]]) -> tuple[float, float]:
    """(within-arm reward variance pooled over a lever's arms, observations it rests on).

    The arms of one lever share their noise (the audience, the other levers' choices), so one estimate for the
    lever settles much faster than one per arm."""
    ss = n = 0.0
    for st in arms.values():
        w = st["s"] + st["f"]
        if w > 0:
            m = st["s"] / w
            ss += max(0.0, st.get("q", 0.0) - w * m * m)
            n += w
    return (ss / n if n > 0 else 0.0), n


def information(st: dict[str, float], noise: tuple[float, float]) -> float:
    """How many Bernoulli observations one reward of this arm is worth: m(1-m) / reward variance.

    A 0/1 reward has variance m(1-m) (kappa = 1: plain Beta-Bernoulli); engagement-like scores spread less, so
    each carries more information and the posterior narrows faster (the Beta with the mean and variance of the
    Gaussian posterior). The lever's pooled variance is shrunk toward m(1-m) by VAR_PRIOR_OBS pseudo-observations."""
    w = st["s"] + st["f"]
    if w <= 0:
        return 1.0
    m = st["s"] / w
    bern = max(1e-6, m * (1.0 - m))
    emp, n = noise
    var = (n * emp + VAR_PRIOR_OBS * bern) / (n + VAR_PRIOR_OBS)
    return max(1.0, min(KAPPA_MAX, bern / max(var, 1e-9)))


def empty_state() -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "buckets": {},
        "runs": {},
        "run_order": [],
        "updates": 0,
        "drift": {},
        "run_buckets": [],
    }


def bucket_of(features: dict[str, str]) -> str:
    return "|".join(f"{k}={features[k]}" for k in sorted(features)) or "all"


def _zero() -> dict[str, float]:
    return {"s": 0.0, "f": 0.0, "q": 0.0, "n": 0, "log_scale": 0.0}


def _stats(state: dict[str, Any], bucket: str, lever: str, arm: str) -> dict[str, float]:
    return state["buckets"].setdefault(bucket, {}).setdefault(lever, {}).setdefault(arm, _zero())


def _peek(state: dict[str, Any], bucket: str, lever: str, arm: str) -> dict[str, float]:
    return state["buckets"].get(bucket, {}).get(lever, {}).get(arm) or _zero()


# --------------------------------------------------------------------------- beliefs
def posterior(
    state: dict[str, Any], bucket: str, lever: str, arm: str, prior_strength: float
) -> tuple[float, float, int]:
    """(alpha, beta, pulls) of an arm in a bucket: Beta(1,1) + pooled prior from the other buckets + own counts."""
    own = _peek(state, bucket, lever, arm)
    os_ = of = 0.0
    for name, levers in state["buckets"].items():
        if name != bucket:
            st = levers.get(lever, {}).get(arm)
            if st:
                os_ += st["s"]
                of += st["f"]
    pooled = os_ + of
    k = min(1.0, prior_strength / pooled) if pooled > 0 else 0.0
    kappa = information(own, noise_variance(state["buckets"].get(bucket, {}).get(lever, {})))
    e = EVIDENCE_SCALE
    return (
        PRIOR_A + e * (k * os_ + kappa * own["s"]),
        PRIOR_B + e * (k * of + kappa * own["f"]),
        int(own["n"]),
    )


def _log_beta_pdf(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return (
        (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )


def _grid(n: int) -> np.ndarray:
    return (np.arange(n) + 0.5) / n


def beta_pdf_grid(a: float, b: float, n: int = GRID) -> tuple[list[float], list[float]]:
    """Beta(a, b) on n midpoints of [0, 1]: (xs, pdf values). The one grid the policy's numbers come from."""
    xs = _grid(n)
    return xs.tolist(), np.exp(_log_beta_pdf(xs, a, b)).tolist()


def beta_quantiles(a: float, b: float, qs: tuple[float, ...], n: int = 400) -> list[float]:
    """Quantiles of Beta(a, b) from the grid CDF (no scipy in the Lambda image)."""
    xs = _grid(n)
    pdf = np.exp(_log_beta_pdf(xs, a, b))
    cdf = np.cumsum(pdf) / pdf.sum()
    idx = np.searchsorted(cdf, np.asarray(qs, dtype=float), side="left")
    return [float(xs[i]) if i < n else 1.0 for i in idx]


def win_probabilities(params: list[tuple[float, float]]) -> list[float]:
    """P(arm i's Thompson draw is the largest), by integrating pdf_i * prod_j CDF_j on a grid (deterministic)."""
    dx = 1.0 / GRID
    xs = _grid(GRID)
    pdf = np.exp(np.stack([_log_beta_pdf(xs, a, b) for a, b in params]))  # (arms, GRID)
    pdf /= pdf.sum(axis=1, keepdims=True) * dx
    cdf = np.cumsum(pdf, axis=1) * dx - 0.5 * pdf * dx  # the CDF at each midpoint
    log_cdf = np.log(np.maximum(cdf, 1e-300))
    others = log_cdf.sum(axis=0, keepdims=True) - log_cdf  # log prod_{j != i} CDF_j
    wins = (pdf * np.exp(others)).sum(axis=1) * dx
    norm = float(wins.sum()) or 1.0
    return [float(w) / norm for w in wins]


def decide(
    state: dict[str, Any],
    features: dict[str, str],
    rng: random.Random,
    *,
    prior_strength: float = 4.0,
    explain: bool = True,
) -> dict[str, Any]:
    """One Thompson draw per arm per lever; the variant is the argmax per lever.

    Returns {"variant", "bucket", "posterior": {lever: {arm: {alpha, beta, mean, pulls}}}, "samples",
    "exploration_probability": {lever: P(the draw picks an arm other than the posterior-mean best)}}."""
    bucket = bucket_of(features)
    variant: dict[str, str] = {}
    post: dict[str, dict[str, dict[str, float]]] = {}
    samples: dict[str, dict[str, float]] = {}
    explore: dict[str, float] = {}
    for lever, arms in LEVERS.items():
        params = [posterior(state, bucket, lever, arm, prior_strength) for arm in arms]
        draws = [rng.betavariate(a, b) for a, b, _ in params]
        best = max(range(len(arms)), key=lambda i: draws[i])
        variant[lever] = arms[best]
        samples[lever] = {arm: round(d, 4) for arm, d in zip(arms, draws, strict=True)}
        post[lever] = {
            arm: {"alpha": round(a, 4), "beta": round(b, 4), "mean": round(a / (a + b), 4), "pulls": n}
            for arm, (a, b, n) in zip(arms, params, strict=True)
        }
        if explain:
            means = [a / (a + b) for a, b, _ in params]
            greedy = max(range(len(arms)), key=lambda i: means[i])
            wins = win_probabilities([(a, b) for a, b, _ in params])
            explore[lever] = round(1.0 - wins[greedy], 4)
    return {
        "variant": variant,
        "bucket": bucket,
        "posterior": post,
        "samples": samples,
        "exploration_probability": explore,
    }


# --------------------------------------------------------------------------- updates
# A tracked run is kept small (the whole policy is one DynamoDB item, < 400 KB):
#   {"b": bucket, "v": {lever: arm}, "k": "pending" | "prediction" | "real",
#    "r": reward, "w": weight, "ls": {lever: log_scale of the arm when the reward was added}}
# The contribution of a run to its arm on each lever is s = w*r, f = w*(1-r), times the scaling since.
def _apply(
    state: dict[str, Any], bucket: str, variant: dict[str, str], reward: float, weight: float, memory: float
) -> dict[str, float]:
    scales: dict[str, float] = {}
    for lever, arm in variant.items():
        if lever not in LEVERS or arm not in LEVERS[lever]:
            raise ValueError(f"unknown creative choice {lever}={arm}")
        st = _stats(state, bucket, lever, arm)
        scales[lever] = st["log_scale"]
        st["s"] += weight * reward
        st["f"] += weight * (1.0 - reward)
        st["q"] = st.get("q", 0.0) + weight * reward * reward
        st["n"] += 1
        total = st["s"] + st["f"]
        if total > memory:
            factor = memory / total
            st["s"] *= factor
            st["f"] *= factor
            st["q"] *= factor
            st["log_scale"] += math.log(factor)
    return scales


# --------------------------------------------------------------------------- drift
def drift_step(g: float, z: float) -> tuple[float, bool]:
    """One step of the one-sided CUSUM (Page-Hinkley) for a fall in reward: z is the standardised residual
    (reward - prediction) / noise sd. Returns (new statistic, alarm). On pure noise g stays near 0; a sustained
    fall of d sd per observation grows it by about d - DRIFT_DELTA per observation until it passes DRIFT_LAMBDA."""
    g = max(0.0, g - z - DRIFT_DELTA)
    return g, g > DRIFT_LAMBDA


def predicted_reward(state: dict[str, Any], bucket: str, variant: dict[str, str]) -> float | None:
    """What the bucket's evidence expects for a variant: the average over the levers of the chosen arm's mean
    reward (each arm's mean already holds the other levers' usual choices, so their sum would count them
    several times). None while the bucket or an arm has too little evidence."""
    levers = state["buckets"].get(bucket, {})
    first = levers.get(next(iter(LEVERS)), {})
    if sum(st["s"] + st["f"] for st in first.values()) < DRIFT_MIN_OBS:
        return None
    means = []
    for lever, arm in variant.items():
        st = levers.get(lever, {}).get(arm)
        if not st or st["s"] + st["f"] < 2.0:
            return None
        means.append(st["s"] / (st["s"] + st["f"]))
    return sum(means) / len(means)


def _watch(state: dict[str, Any], bucket: str, variant: dict[str, str], reward: float) -> bool:
    """Feed the bucket's drift detector one real reward (before it is added); on an alarm scale every arm of the
    bucket down to DRIFT_RESET_TO observations (logged in log_scale). True on an alarm."""
    pred = predicted_reward(state, bucket, variant)
    if pred is None:
        return False
    var, n = noise_variance(state["buckets"][bucket][next(iter(LEVERS))])
    m = min(max(pred, 0.01), 0.99)
    sd = math.sqrt((n * var + VAR_PRIOR_OBS * m * (1 - m)) / (n + VAR_PRIOR_OBS))
    det = state.setdefault("drift", {}).setdefault(bucket, {"g": 0.0, "alarms": 0, "last_alarm": None})
    det["g"], alarm = drift_step(det["g"], (reward - pred) / max(sd, 1e-3))
    if not alarm:
        return False
    det["g"] = 0.0
    det["alarms"] += 1
    det["last_alarm"] = int(state.get("updates", 0))
    for arms in state["buckets"][bucket].values():
        for st in arms.values():
            total = st["s"] + st["f"]
            if total > DRIFT_RESET_TO:
                factor = DRIFT_RESET_TO / total
                st["s"] *= factor
                st["f"] *= factor
                st["q"] = st.get("q", 0.0) * factor
                st["log_scale"] += math.log(factor)
    return True


def undo(state: dict[str, Any], run_id: str) -> bool:
    """Take a run's contribution back out (exactly, through any memory scaling since). False if none."""
    run = get_run(state, run_id)
    if not run or not run.get("ls"):
        return False
    w, r = run["w"], run["r"]
    for lever, scale in run["ls"].items():
        st = _stats(state, run["b"], lever, run["v"][lever])
        left = math.exp(st["log_scale"] - scale)
        st["s"] = max(0.0, st["s"] - w * r * left)
        st["f"] = max(0.0, st["f"] - w * (1.0 - r) * left)
        st["q"] = max(0.0, st.get("q", 0.0) - w * r * r * left)
        st["n"] = max(0, st["n"] - 1)
    run["ls"] = {}
    return True


def _remember(state: dict[str, Any], run_id: str, entry: dict[str, Any], max_runs: int) -> None:
    if "\t" in run_id or "\n" in run_id:
        raise ValueError(f"a run id cannot hold a tab or a newline: {run_id!r}")
    if run_id not in state["runs"]:
        state["run_order"].append(run_id)
    state["runs"][run_id] = entry
    while len(state["run_order"]) > max_runs:
        old = state["run_order"].pop(0)
        state["runs"].pop(old, None)  # its contribution stays, it just can no longer be replaced


# --------------------------------------------------------------------------- storage form
# The tracked runs are ~96 % of the policy document; stored as JSON objects they made every read and write of
# the policy cost ~6 ms each. dump_state packs them into one string, a line per run in eviction order:
#   run_id TAB bucket# TAB arm# per lever (LEVERS order, "-" = lever not chosen) TAB kind TAB reward TAB weight
#   TAB log_scale per chosen lever (comma-separated, empty when no reward) TAB platform
# with the bucket names listed once in "run_buckets". Floats are written with repr, so undo stays exact.
_LEVER_NAMES = list(LEVERS)


def _fmt(x: Any) -> str:
    return "" if x is None else repr(float(x))


def _pack(run: dict[str, Any], bucket_ids: dict[str, int]) -> str:
    b = bucket_ids.setdefault(run["b"], len(bucket_ids))
    v = run["v"]
    arms = "".join(str(LEVERS[lv].index(v[lv])) if lv in v else "-" for lv in _LEVER_NAMES)
    ls = run.get("ls") or {}
    scales = ",".join(repr(float(ls[lv])) for lv in _LEVER_NAMES if lv in ls)
    return (
        f"{b}\t{arms}\t{run.get('k', 'pending')}\t{_fmt(run.get('r'))}\t{_fmt(run.get('w'))}"
        f"\t{scales}\t{run.get('p') or ''}"
    )


def _unpack(line: str, buckets: list[str]) -> dict[str, Any]:
    b, arms, kind, r, w, scales, platform = line.split("\t")
    variant = {lv: LEVERS[lv][int(c)] for lv, c in zip(_LEVER_NAMES, arms, strict=True) if c != "-"}
    run: dict[str, Any] = {"b": buckets[int(b)], "v": variant, "k": kind}
    if r:
        run["r"], run["w"] = float(r), float(w)
        vals = [float(x) for x in scales.split(",")] if scales else []
        run["ls"] = dict(zip([lv for lv in _LEVER_NAMES if lv in variant], vals, strict=True))
    if platform:
        run["p"] = platform
    return run


def get_run(state: dict[str, Any], run_id: str) -> dict[str, Any] | None:
    """A tracked run's entry (parsed from its packed line on first use), or None."""
    run = state["runs"].get(run_id)
    if isinstance(run, str):
        run = state["runs"][run_id] = _unpack(run, state["run_buckets"])
    return run


def dump_state(state: dict[str, Any]) -> dict[str, Any]:
    """The document to store: `state` with its runs packed (state itself is left as it is). Runs not touched
    since load_state are still their packed line and are written back as they were."""
    bucket_ids = {name: i for i, name in enumerate(state.get("run_buckets", []))}
    lines = [
        f"{run_id}\t{run if isinstance(run, str) else _pack(run, bucket_ids)}"
        for run_id, run in state["runs"].items()
    ]
    out = {k: v for k, v in state.items() if k not in ("runs", "run_order")}
    out["run_buckets"] = list(bucket_ids)
    out["runs"] = "\n".join(lines)
    return out


def load_state(doc: dict[str, Any]) -> dict[str, Any]:
    """The working state from a stored document (packed or not; an empty document gives an empty state). Runs
    stay packed lines until get_run needs one, so a read costs no per-run parsing."""
    if not doc:
        return empty_state()
    state = {**empty_state(), "run_buckets": [], **doc}
    runs = state["runs"]
    if isinstance(runs, str):
        state["runs"] = dict(line.split("\t", 1) for line in runs.split("\n")) if runs else {}
    state["run_order"] = list(state["runs"])
    return state


def register(
    state: dict[str, Any],
    run_id: str,
    features: dict[str, str],
    variant: dict[str, str],
    *,
    max_runs: int = 500,
    platform: str | None = None,
) -> dict[str, Any]:
    """Remember which variant a run got in which bucket (no reward yet), and the platform it is for (its
    engagement is normalised by that platform's baseline), so later feedback can find it."""
    if run_id in state["runs"]:
        undo(state, run_id)  # a re-run of choose for the same run starts over
    entry: dict[str, Any] = {"b": bucket_of(features), "v": dict(variant), "k": "pending"}
    if platform:
        entry["p"] = platform
    _remember(state, run_id, entry, max_runs)
    return state


def update(
    state: dict[str, Any],
    run_id: str,
    reward: float,
    *,
    kind: str,
    weight: float,
    memory: float = 1e6,
    max_runs: int = 500,
    features: dict[str, str] | None = None,
    variant: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Record a reward for a run. kind="prediction" (virality score) or "real" (engagement).

    The run's previous contribution is undone first, so an update REPLACES the last one for that run; a
    prediction never replaces real engagement. A run not registered needs `features` and `variant`. The first
    real reward of a run also feeds the drift detector (later replacements do not: it is not rolled back)."""
    if not 0.0 <= reward <= 1.0:
        raise ValueError(f"reward must be in [0, 1], got {reward}")
    run = get_run(state, run_id)
    if run is None:
        if features is None or variant is None:
            raise KeyError(run_id)
        run = {"b": bucket_of(features), "v": dict(variant), "k": "pending"}
    if kind == "prediction" and run.get("k") == "real":
        return state
    if run.get("ls"):
        undo(state, run_id)
    if kind == "real" and run.get("k") != "real":  # the detector sees each run's first real reward once
        _watch(state, run["b"], run["v"], reward)
    scales = _apply(state, run["b"], run["v"], reward, weight, memory)
    _remember(
        state,
        run_id,
        {"b": run["b"], "v": run["v"], "k": kind, "r": round(reward, 6), "w": weight, "ls": scales}
        | ({"p": run["p"]} if run.get("p") else {}),
        max_runs,
    )
    state["updates"] = int(state.get("updates", 0)) + 1
    return state


def beliefs(state: dict[str, Any], prior_strength: float = 4.0) -> list[dict[str, Any]]:
    """Rows (bucket, lever, arm, alpha, beta, mean, pulls) for every bucket seen, plus the pooled 'all' view."""
    rows: list[dict[str, Any]] = []
    pooled: dict[tuple[str, str], list[float]] = {}
    for bucket in sorted(state["buckets"]):
        for lever, arms in LEVERS.items():
            for arm in arms:
                a, b, n = posterior(state, bucket, lever, arm, prior_strength)
                if n:
                    rows.append(
                        {
                            "bucket": bucket,
                            "lever": lever,
                            "arm": arm,
                            "alpha": a,
                            "beta": b,
                            "mean": a / (a + b),
                            "pulls": n,
                        }
                    )
                st = _peek(state, bucket, lever, arm)
                acc = pooled.setdefault((lever, arm), [0.0, 0.0, 0])
                acc[0] += st["s"]
                acc[1] += st["f"]
                acc[2] += st["n"]
    for lever, arms in LEVERS.items():
        for arm in arms:
            s, f, pulls = pooled.get((lever, arm), [0.0, 0.0, 0])
            a, b = PRIOR_A + s, PRIOR_B + f
            rows.append(
                {
                    "bucket": "all",
                    "lever": lever,
                    "arm": arm,
                    "alpha": a,
                    "beta": b,
                    "mean": a / (a + b),
                    "pulls": int(pulls),
                }
            )
    return rows
