"""A finished run in the local run index, made by the real stage seams (testkit/briefs.py build_run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from storyreel.shared.contracts import RunRecord, RunStatus, Storyboard, Transcript
from storyreel.shared.stores import local_state

from testkit.briefs import build_run


@dataclass
class Finished:
    run_id: str
    folder: Path

    def board(self) -> Storyboard:
        return Storyboard.model_validate_json((self.folder / "storyboard.json").read_text())

    def page(self) -> str:
        return (self.folder / "index.html").read_text()


@pytest.fixture
def finished(tmp_path: Path, rambling: Transcript) -> Finished:
    """run-test: 5 scenes, frames s1-start..s3-end rendered with the sketch renderer (s2-end failed), the rest
    pending; registered as succeeded in the run index, as `storyreel run` leaves it."""
    folder = build_run(tmp_path / "runs", rambling)
    record = RunRecord(
        run_id="run-test",
        status=RunStatus.succeeded,
        source="brief.wav",
        output_dir=str(folder),
        options={"pipeline": {"scenes": 5, "virality_evaluation": False}},
    )
    local_state().create(record)
    return Finished("run-test", folder)
