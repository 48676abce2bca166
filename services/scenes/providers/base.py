"""What a planner is: it reads the brief (context extraction) and writes the scenes; and what every planner's
plan must satisfy (check_plan)."""

from __future__ import annotations

from typing import Protocol

from storyreel.shared.contracts import CreativeContext, ScenePlan, Transcript


class Planner(Protocol):
    name: str

    def extract_context(self, transcript: Transcript) -> CreativeContext: ...

    def write_scenes(
        self, transcript: Transcript, context: CreativeContext, variant: dict[str, str], n_scenes: int
    ) -> ScenePlan: ...


def check_plan(plan: ScenePlan, n_scenes: int) -> ScenePlan:
    """Every provider's plan must have the scene count asked for, each scene with a description and both frame
    prompts. Scenes are numbered by their position (1..n): a number is derived, never something to fail on."""
    if len(plan.scenes) != n_scenes:
        raise ValueError(f"planner wrote {len(plan.scenes)} scenes, {n_scenes} were asked for")
    for i, scene in enumerate(plan.scenes, start=1):
        if scene.index != i:
            scene.index = i
        if not scene.description.strip():
            raise ValueError(f"scene {i} has an empty description")
        for frame in scene.frames():
            if not frame.prompt.strip():
                raise ValueError(f"scene {i} has an empty {frame.role} frame prompt")
    return plan
