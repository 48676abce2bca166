"""The local planner reads a transcript once for its context and its scenes: the reading it keeps is the last
transcript's only, so another transcript (or the same one changed) is read afresh."""

from __future__ import annotations

import dataclasses

import pytest
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.services.scenes.reading import read_brief
from storyreel.shared.contracts import Transcript

TEA = Transcript(
    text="A calm video about green tea for busy office workers. First, steam rises from a teapot. "
    "Then a woman sips tea by the window.",
    duration_s=12,
)
BIKES = Transcript(
    text="An energetic ad for our electric bike. Open on a rider climbing a steep hill. Then the bike folds "
    "into a car boot.",
    duration_s=12,
)


def test_scenes_follow_the_transcript_they_are_asked_for_not_the_last_one_read() -> None:
    planner = LocalPlanner()
    tea_context = planner.extract_context(TEA)
    bikes = planner.write_scenes(BIKES, planner.extract_context(BIKES), {}, 3)
    tea = planner.write_scenes(TEA, tea_context, {}, 3)  # the planner last read BIKES
    tea_text, bikes_text = str(tea.model_dump()).lower(), str(bikes.model_dump()).lower()
    assert "teapot" in tea_text and "bike" not in tea_text
    assert "hill" in bikes_text and "teapot" not in bikes_text
    assert tea == LocalPlanner().write_scenes(TEA, LocalPlanner().extract_context(TEA), {}, 3)


def test_the_same_text_with_other_segments_is_read_again() -> None:
    planner = LocalPlanner()
    planner.extract_context(TEA)
    first = planner._read(TEA)
    changed = TEA.model_copy(update={"text": TEA.text.replace("green tea", "matcha")})
    assert planner._read(changed) is not first
    assert planner._read(changed) is planner._read(changed)


def test_a_reading_cannot_be_changed_once_made() -> None:
    brief = read_brief(TEA)
    with pytest.raises(dataclasses.FrozenInstanceError):
        brief.low = "something else"  # type: ignore[misc]
