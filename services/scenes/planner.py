"""Which planner a run uses (context extraction and scene writing share one provider seam)."""

from __future__ import annotations

from storyreel.services.scenes.providers.base import Planner
from storyreel.shared.settings import LLMConfig


def get_planner(config: LLMConfig) -> Planner:
    if config.provider == "openai":
        from storyreel.services.scenes.providers.openai import OpenAIPlanner

        return OpenAIPlanner(config)
    from storyreel.services.scenes.providers.local import LocalPlanner

    return LocalPlanner()
