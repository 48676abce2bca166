"""optimizer steps.

choose:   context.json -> decision.json (the creative variant the scenes stage writes; before scenes)
learn:    virality.json + decision.json -> policy update with the predicted reward (after virality)
feedback: real engagement for a run -> policy update that outweighs and replaces the prediction

Policy state lives in the PolicyStore under POLICY_NAME; every change is a read-modify-conditional-write that
retries on ConflictError, so concurrent runs (threads, processes, Lambdas) lose no update.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable
from typing import Any

from storyreel.services.brief.levers import DEFAULT_VARIANT
from storyreel.services.brief.vocab import format_family
from storyreel.services.optimizer import bandit
from storyreel.shared.contracts import (
    ArmPosterior,
    CreativeContext,
    Engagement,
    OptimizerDecision,
    RunRecord,
    ViralityReport,
)
from storyreel.shared.errors import ConflictError, NotFoundError
from storyreel.shared.pipeline import CONTEXT, DECISION, VIRALITY, RunContext
from storyreel.shared.settings import OptimizerConfig
from storyreel.shared.stores import get_model, get_optional_model, put_model

POLICY_NAME = "creative-levers"
MAX_ATTEMPTS = 100

# Real reward (documented in docs/optimizer.md):
#   engagement rate  e = (likes + 2*comments + 3*shares) / views
#   reach            q = min(1, log10(1 + views) / 6)          (1M views = full reach)
#   reward           r = 0.5 * q + 0.5 * (1 - exp(-e / 0.05))  (a 5 % weighted rate gives 0.63 of that half)
ENGAGEMENT_SCALE = 0.05
REACH_FULL_VIEWS_LOG10 = 6.0


def engagement_reward(e: Engagement) -> float:
    if e.views <= 0:
        return 0.0
    rate = (e.likes + 2 * e.comments + 3 * e.shares) / e.views
    reach = min(1.0, math.log10(1 + e.views) / REACH_FULL_VIEWS_LOG10)
    return round(0.5 * reach + 0.5 * (1.0 - math.exp(-rate / ENGAGEMENT_SCALE)), 6)


def context_features(context: CreativeContext) -> dict[str, str]:
    return {"tone": context.tone, "format": format_family(context.content_style, context.intent)}


def update_policy(
    state: Any, change: Callable[[dict[str, Any]], dict[str, Any]], name: str = POLICY_NAME
) -> dict:
    """Optimistic concurrency: read (state, version), apply `change` to a copy, put with expected_version;
    on ConflictError read again and re-apply. Returns the state that was written."""
    for attempt in range(MAX_ATTEMPTS):
        doc, version = state.get_policy(name)
        # get_policy hands back a freshly parsed document (SQLite, DynamoDB), so `change` may edit it in place.
        new = change(doc if doc else bandit.empty_state())
        try:
            state.put_policy(name, new, expected_version=version)
            return new
        except ConflictError:
            time.sleep(min(0.05, 0.001 * (attempt + 1)) * random.random())  # jitter: the racers spread out
    raise ConflictError(f"policy {name}: gave up after {MAX_ATTEMPTS} conflicting writes")


def _seed(run_id: str) -> int:
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big")


def decide(
    state_doc: dict[str, Any], run_id: str, context: CreativeContext, config: OptimizerConfig
) -> OptimizerDecision:
    """The decision for a run from a policy state (pure; the draw is seeded by the run id, so re-running
    choose for the same run on the same state gives the same variant)."""
    features = context_features(context)
    if not config.enabled:
        return OptimizerDecision(policy="off", variant=dict(DEFAULT_VARIANT), context_features=features)
    doc = state_doc or bandit.empty_state()
    out = bandit.decide(doc, features, random.Random(_seed(run_id)), prior_strength=config.prior_strength)
    return OptimizerDecision(
        policy=config.policy,
        variant=out["variant"],
        context_features=features,
        posterior={
            lever: {arm: ArmPosterior(**p) for arm, p in arms.items()}
            for lever, arms in out["posterior"].items()
        },
        samples=out["samples"],
        exploration_probability=out["exploration_probability"],
    )


def choose(ctx: RunContext) -> OptimizerDecision:
    context = get_model(ctx.blobs, ctx.key(CONTEXT), CreativeContext)
    config = ctx.settings.optimizer
    doc = ctx.state.get_policy(POLICY_NAME)[0] if config.enabled else {}
    decision = decide(doc, ctx.run_id, context, config)  # policy "off" when the optimizer is disabled
    if decision.policy != "off":
        update_policy(
            ctx.state,
            lambda s: bandit.register(
                s, ctx.run_id, decision.context_features, decision.variant, max_runs=config.max_runs_tracked
            ),
        )
    put_model(ctx.blobs, ctx.key(DECISION), decision)
    return decision


def learn(ctx: RunContext) -> float | None:
    """Predicted reward = virality score / 100 at weight prediction_weight. None when there is nothing to learn
    (optimizer off, no decision, or the report has no score)."""
    config = ctx.settings.optimizer
    if not config.enabled:
        return None
    decision = get_optional_model(ctx.blobs, ctx.key(DECISION), OptimizerDecision)
    report = get_optional_model(ctx.blobs, ctx.key(VIRALITY), ViralityReport)
    if decision is None or report is None or decision.policy == "off" or report.score is None:
        return None
    reward = report.score / 100.0
    update_policy(
        ctx.state,
        lambda s: bandit.update(
            s,
            ctx.run_id,
            reward,
            kind="prediction",
            weight=config.prediction_weight,
            memory=config.memory,
            max_runs=config.max_runs_tracked,
            features=decision.context_features,
            variant=decision.variant,
        ),
    )
    return reward


def feedback(
    state: Any,
    run_id: str,
    engagement: Engagement,
    config: OptimizerConfig | None = None,
    record: RunRecord | None = None,
) -> float:
    """Real engagement for a run: reward = engagement_reward(engagement) at weight 1.0, replacing the run's
    predicted contribution (and any earlier feedback for it). Returns the reward. A run the policy does not
    track (unknown, optimizer off for it, or evicted): NotFoundError. The caller's run `record`, when given,
    is saved with the engagement."""
    config = config or OptimizerConfig()
    reward = engagement_reward(engagement)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        # checked inside the conditional update, so a run evicted by a concurrent write is caught too
        if run_id not in doc.get("runs", {}):
            raise NotFoundError(
                f"the optimizer has no decision recorded for run {run_id!r} "
                f"(unknown run, optimizer off for it, or older than the last {config.max_runs_tracked} runs)"
            )
        return bandit.update(
            doc,
            run_id,
            reward,
            kind="real",
            weight=1.0,
            memory=config.memory,
            max_runs=config.max_runs_tracked,
        )

    update_policy(state, change)
    if record is not None:
        record.feedback = engagement
        state.save(record)
    return reward


def policy_view(state: Any, config: OptimizerConfig | None = None) -> dict[str, Any]:
    """The policy as data (what `storyreel policy` prints): version, updates, tracked runs by kind, and the
    belief rows (bucket, lever, arm, alpha, beta, mean, pulls). For GET /policy."""
    config = config or OptimizerConfig()
    doc, version = state.get_policy(POLICY_NAME)
    kinds: dict[str, int] = {}
    for run in doc.get("runs", {}).values():
        kinds[run.get("k", "pending")] = kinds.get(run.get("k", "pending"), 0) + 1
    rows = bandit.beliefs(doc, config.prior_strength) if doc else []
    return {
        "policy": POLICY_NAME,
        "version": version,
        "updates": doc.get("updates", 0),
        "runs": kinds,
        "beliefs": rows,
    }
