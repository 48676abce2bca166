"""`storyreel policy`: the optimizer's current beliefs as a readable table."""

from __future__ import annotations

from typing import Any

from storyreel.services.optimizer import bandit
from storyreel.services.optimizer.step import POLICY_NAME
from storyreel.shared.settings import OptimizerConfig


def describe(state_store: Any, config: OptimizerConfig | None = None) -> str:
    config = config or OptimizerConfig()
    stored, version = state_store.get_policy(POLICY_NAME)
    if not stored:
        return "optimizer policy: no runs yet (every arm at Beta(1, 1): mean 0.50)"
    doc = bandit.load_state(stored)
    for run_id in doc["runs"]:
        bandit.get_run(doc, run_id)
    runs = doc.get("runs", {})
    kinds: dict[str, int] = {}
    for r in runs.values():
        kinds[r.get("k", "pending")] = kinds.get(r.get("k", "pending"), 0) + 1
    lines = [
        f"optimizer policy '{POLICY_NAME}' v{version}: {doc.get('updates', 0)} updates; tracked runs: "
        + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"),
        "mean = posterior mean reward; 90% = central credible interval; pulls = runs that used the arm",
    ]
    rows = bandit.beliefs(doc, config.prior_strength)
    by_bucket: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_bucket.setdefault(row["bucket"], []).append(row)
    order = ["all", *sorted(b for b in by_bucket if b != "all")]
    for bucket in order:
        lines.append("")
        lines.append("context: all runs pooled" if bucket == "all" else f"context: {bucket}")
        lines.append(f"  {'lever':<16}{'arm':<13}{'mean':>6}  {'90%':<13}{'alpha':>7}{'beta':>7}{'pulls':>7}")
        current = None
        for row in by_bucket[bucket]:
            lever = row["lever"] if row["lever"] != current else ""
            current = row["lever"]
            best = max((r for r in by_bucket[bucket] if r["lever"] == row["lever"]), key=lambda r: r["mean"])
            mark = " *" if row is best and row["pulls"] else ""
            lo, hi = _interval(row["alpha"], row["beta"])
            lines.append(
                f"  {lever:<16}{row['arm']:<13}{row['mean']:>6.2f}  [{lo:.2f}, {hi:.2f}]  "
                f"{row['alpha']:>7.1f}{row['beta']:>7.1f}{row['pulls']:>7}{mark}"
            )
    lines.append("")
    lines.append("* = best posterior mean for the lever in that context")
    return "\n".join(lines)


def _interval(a: float, b: float) -> tuple[float, float]:
    """The 90% credible interval of Beta(a, b)."""
    lo, hi = bandit.beta_quantiles(a, b, (0.05, 0.95))
    return lo, hi
