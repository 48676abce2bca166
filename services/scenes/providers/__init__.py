"""Planners (context extraction and scene writing share one seam): one module per outside service, plus the
embedded default. Declared once, below; the settings Literal `llm.provider` names the same providers
(shared/settings.py PlannerName)."""

from __future__ import annotations

from storyreel.services.scenes.providers.base import Planner
from storyreel.shared.registry import ProviderSpec, Registry
from storyreel.shared.secrets import OPENAI
from storyreel.shared.settings import LLMConfig, PlannerName


def _local(config: LLMConfig) -> Planner:
    from storyreel.services.scenes.providers.local import LocalPlanner

    return LocalPlanner()


def _openai(config: LLMConfig) -> Planner:
    from storyreel.services.scenes.providers.openai import OpenAIPlanner

    return OpenAIPlanner(config)


PLANNERS: Registry[LLMConfig, Planner] = Registry(
    "planner",
    "llm.provider",
    PlannerName,
    [
        ProviderSpec("local", "deterministic planner from the brief's own words: offline, no key", _local),
        ProviderSpec(
            "openai",
            "OpenAI chat completions with structured outputs",
            _openai,
            key=OPENAI,
            extra="providers",
            sdks=("openai",),
        ),
    ],
)
