"""The planner golden set (bench/briefs/golden/): the local planner passes at least 90 % of its checks, and the
scorer itself can fail (a plan that ignores the brief scores low)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def golden():
    sys.path.insert(0, str(BENCH))
    try:
        import planner_golden

        yield planner_golden
    finally:
        sys.path.remove(str(BENCH))


def test_the_set_scores_at_least_ninety_percent(golden, tmp_path: Path) -> None:
    result = golden.main(["--out", str(tmp_path)])
    assert len(result["briefs"]) >= 15
    assert result["score"] >= golden.GOAL, golden.report(result, verbose=True)
    assert (tmp_path / "planner_golden.md").read_text().startswith("# planner golden set")
    assert (tmp_path / "planner_golden.json").exists()


def test_the_scorer_fails_a_planner_that_ignores_the_brief(golden) -> None:
    from storyreel.services.scenes.providers.local import LocalPlanner
    from storyreel.shared.contracts import ScenePlan

    class Careless(LocalPlanner):
        def write_scenes(self, transcript, context, variant, n_scenes) -> ScenePlan:
            plan = super().write_scenes(transcript, context, variant, n_scenes)
            for scene in plan.scenes:
                scene.start_frame.prompt = f"close-up of we want {context.title}, featuring {context.subject}"
            return plan

    doc = next(d for d in golden.load_set() if d["id"] == "neon-sneaker-ad")
    good = golden.score_brief(doc)
    bad = golden.score_brief(doc, Careless())
    assert good.passed == len(good.checks)
    failed = {c.name for c in bad.checks if not c.ok}
    assert {"scene 1", "no pronouns", "no 'featuring'", "style"} <= failed
