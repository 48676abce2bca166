"""optimizer steps.

choose:   context.json -> decision.json (the creative variant the scenes stage writes; before scenes)
learn:    virality.json + decision.json -> policy update with the predicted reward (after virality)
feedback: real engagement for a run -> policy update that outweighs and replaces the prediction

Policy state lives in the PolicyStore under POLICY_NAME; every change is a read-modify-conditional-write that
retries on ConflictError, so concurrent runs (threads, processes, Lambdas) lose no update.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from typing import Any

from storyreel.services.brief.features import brief_features
from storyreel.services.brief.levers import DEFAULT_VARIANT
from storyreel.services.brief.vocab import format_family
from storyreel.services.optimizer import bandit
from storyreel.shared.contracts import (
    ArmPosterior,
    CreativeContext,
    Engagement,
    OptimizerDecision,
    RunRecord,
    Transcript,
    ViralityReport,
)
from storyreel.shared.errors import ConflictError, NotFoundError
from storyreel.shared.pipeline import CONTEXT, DECISION, TRANSCRIPT, VIRALITY, RunContext
from storyreel.shared.settings import OptimizerConfig
from storyreel.shared.stores import get_model, get_optional_model, put_model

POLICY_NAME = "creative-levers"
MAX_ATTEMPTS = 100

# Real reward, normalised per platform (docs/optimizer.md, "Reward from engagement"):
#   weighted engagement rate  e = (likes + 2*comments + 3*shares) / views
#   rate score                1 - 2^(-e / median_rate)       0.5 at the platform's median rate
#   reach score               1 - 2^(-views / median_views)  0.5 at the platform's median views
#   reward                    0.5 * rate score + 0.5 * reach score, in [0, 1)
# A TikTok view is not a YouTube view: the baselines are per platform. ASSUMPTIONS (2026-12-03), not measured:
# round placeholder medians for a small account, to be replaced by the account's own medians (the docs say how);
# no source is claimed for them.
PLATFORM_BASELINES: dict[str, tuple[float, float]] = {  # platform -> (median weighted rate, median views)
    "TikTok": (0.06, 1000.0),
    "Instagram Reels": (0.05, 800.0),
    "Instagram": (0.05, 500.0),
    "YouTube Shorts": (0.04, 1000.0),
    "YouTube": (0.04, 300.0),
    "Facebook": (0.03, 300.0),
    "LinkedIn": (0.03, 300.0),
    "X (Twitter)": (0.02, 300.0),
}
DEFAULT_BASELINE = (0.04, 500.0)  # any other platform, or none named (also an assumption)
BASELINES_DATED = "2026-12-03"


def platform_baseline(platform: str | None) -> tuple[float, float]:
    """(median weighted engagement rate, median views) for a platform name as the brief kit writes it."""
    return PLATFORM_BASELINES.get(platform or "", DEFAULT_BASELINE)


def engagement_reward(e: Engagement, platform: str | None = None) -> float:
    """The reward in [0, 1) of real engagement on `platform` (see the table above)."""
    if e.views <= 0:
        return 0.0
    median_rate, median_views = platform_baseline(platform)
    rate = (e.likes + 2 * e.comments + 3 * e.shares) / e.views
    rate_score = 1.0 - 2.0 ** (-rate / median_rate)
    reach_score = 1.0 - 2.0 ** (-e.views / median_views)
    return round(0.5 * rate_score + 0.5 * reach_score, 6)


def context_features(context: CreativeContext, brief_text: str | None = None) -> dict[str, str]:
    """tone + format family, plus the brief features (services/brief/features.py) when the brief's text is
    known, so a hook that only fails without a statistic is not learned as bad in general."""
    out = {"tone": context.tone, "format": format_family(context.content_style, context.intent)}
    if brief_text is not None:
        out.update(brief_features(brief_text, context))
    return out


def update_policy(
    state: Any,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    name: str = POLICY_NAME,
    read: tuple[dict[str, Any], int] | None = None,
) -> dict:
    """Optimistic concurrency: read (state, version), apply `change` to a copy, put with expected_version;
    on ConflictError read again and re-apply. Returns the state that was written (unpacked). `read`: a
    (document, version) the caller just got from get_policy and did not change, used for the first attempt
    (saves one read; a stale one just costs a conflict and a re-read)."""
    for attempt in range(MAX_ATTEMPTS):
        doc, version = read if (read is not None and attempt == 0) else state.get_policy(name)
        # get_policy hands back a freshly parsed document (SQLite, DynamoDB), so `change` may edit it in place.
        new = change(bandit.load_state(doc))
        try:
            state.put_policy(name, bandit.dump_state(new), expected_version=version)
            return new
        except ConflictError:
            time.sleep(min(0.05, 0.001 * (attempt + 1)) * random.random())  # jitter: the racers spread out
    raise ConflictError(f"policy {name}: gave up after {MAX_ATTEMPTS} conflicting writes")


def _seed(run_id: str) -> int:
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big")


def decide(
    state_doc: dict[str, Any],
    run_id: str,
    context: CreativeContext,
    config: OptimizerConfig,
    brief_text: str | None = None,
) -> OptimizerDecision:
    """The decision for a run from a policy state (pure; the draw is seeded by the run id, so re-running
    choose for the same run on the same state gives the same variant). `brief_text` adds the brief features."""
    features = context_features(context, brief_text)
    # a lever the brief decided itself (context.stated_levers) gets no arm: the planner writes what was said
    free = [lever for lever in DEFAULT_VARIANT if lever not in context.stated()]
    if not config.enabled:
        default = {lever: DEFAULT_VARIANT[lever] for lever in free}
        return OptimizerDecision(policy="off", variant=default, context_features=features, free_levers=free)
    doc = state_doc or bandit.empty_state()
    out = bandit.decide(doc, features, random.Random(_seed(run_id)), prior_strength=config.prior_strength)
    return OptimizerDecision(
        policy=config.policy,
        variant={lever: arm for lever, arm in out["variant"].items() if lever in free},
        free_levers=free,
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
    transcript = get_optional_model(ctx.blobs, ctx.key(TRANSCRIPT), Transcript)
    config = ctx.settings.optimizer
    read: tuple[dict[str, Any], int] = ctx.state.get_policy(POLICY_NAME) if config.enabled else ({}, 0)
    # policy "off" when the optimizer is disabled
    decision = decide(
        read[0], ctx.run_id, context, config, brief_text=transcript.text if transcript else None
    )
    if decision.policy != "off":
        update_policy(
            ctx.state,
            lambda s: bandit.register(
                s,
                ctx.run_id,
                decision.context_features,
                decision.variant,
                max_runs=config.max_runs_tracked,
                platform=context.platform,
            ),
            read=read,
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
    """Real engagement for a run: reward = engagement_reward(engagement, the run's platform) at weight 1.0,
    REPLACING the run's predicted contribution and any earlier feedback for it (engagement arrives late and in
    pieces: send the newest totals, never increments). Returns the reward. A run the policy does not track
    (unknown, optimizer off for it, or evicted): NotFoundError. The caller's run `record`, when given, is
    saved with the engagement."""
    config = config or OptimizerConfig()
    rewards: list[float] = []

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        # checked inside the conditional update, so a run evicted by a concurrent write is caught too
        if run_id not in doc.get("runs", {}):
            raise NotFoundError(
                f"the optimizer has no decision recorded for run {run_id!r} "
                f"(unknown run, optimizer off for it, or older than the last {config.max_runs_tracked} runs)"
            )
        reward = engagement_reward(engagement, (bandit.get_run(doc, run_id) or {}).get("p"))
        rewards.append(reward)
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
    return rewards[-1]


def policy_view(state: Any, config: OptimizerConfig | None = None) -> dict[str, Any]:
    """The policy as data (what `storyreel policy` prints): version, updates, tracked runs by kind, and the
    belief rows (bucket, lever, arm, alpha, beta, mean, pulls). For GET /policy."""
    config = config or OptimizerConfig()
    stored, version = state.get_policy(POLICY_NAME)
    doc = bandit.load_state(stored) if stored else {}
    kinds: dict[str, int] = {}
    for run_id in doc.get("runs", {}):
        bandit.get_run(doc, run_id)
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
