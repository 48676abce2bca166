"""Fixtures for the planner tests; the briefs and the run-folder builder live in planner_helpers."""

from __future__ import annotations

import pytest
from planner_helpers import RAMBLING_BRIEF, asr_transcript
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.contracts import Transcript


@pytest.fixture
def rambling() -> Transcript:
    return Transcript(text=RAMBLING_BRIEF, duration_s=45.0, provider="test")


@pytest.fixture
def asr() -> Transcript:
    return asr_transcript()


@pytest.fixture
def planner() -> LocalPlanner:
    return LocalPlanner()
