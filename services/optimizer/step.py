"""optimizer steps.

choose:   context.json -> decision.json (the creative variant the scenes stage writes; before scenes)
learn:    virality.json + decision.json -> policy update with the predicted reward (after virality)
feedback: real engagement for a run -> policy update that outweighs the prediction

STUB: the virality/optimizer work fills this in.
"""

from __future__ import annotations

from typing import Any

from shared.contracts import Engagement, OptimizerDecision
from shared.pipeline import RunContext


def choose(ctx: RunContext) -> OptimizerDecision:
    raise NotImplementedError


def learn(ctx: RunContext) -> None:
    raise NotImplementedError


def feedback(state: Any, run_id: str, engagement: Engagement) -> None:
    raise NotImplementedError
