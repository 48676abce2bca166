"""Finished runs in the local run index for the export tests (testkit/briefs.py build_run), and the checkers
the tests read exports with: ffprobe, pdfinfo/pdftotext (poppler-utils), OTIO's own adapters."""

from __future__ import annotations

import json
import shutil
import subprocess
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

    def save(self, board: Storyboard) -> None:
        (self.folder / "storyboard.json").write_text(board.model_dump_json(indent=2))

    @property
    def exports(self) -> Path:
        return self.folder / "exports"


def _finished(root: Path, transcript: Transcript, limit_images: int) -> Finished:
    folder = build_run(root / "runs", transcript, limit_images=limit_images, fail=None)
    record = RunRecord(
        run_id="run-test",
        status=RunStatus.succeeded,
        source="brief.wav",
        output_dir=str(folder),
        options={"pipeline": {"scenes": 5, "virality_evaluation": False}},
    )
    local_state().create(record)
    return Finished("run-test", folder)


@pytest.fixture
def finished(tmp_path: Path, rambling: Transcript) -> Finished:
    """run-test: 5 scenes, every keyframe rendered by the sketch renderer, succeeded in the run index."""
    return _finished(tmp_path, rambling, limit_images=10)


@pytest.fixture
def prompts_only(tmp_path: Path, rambling: Transcript) -> Finished:
    """run-test with no keyframe rendered (every frame pending): what a preview run leaves."""
    return _finished(tmp_path, rambling, limit_images=0)


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: scripts/install-sysdeps.sh installs it")
    return found


def ffprobe(path: Path) -> dict:
    """ffprobe's streams (frames counted) and format of `path`."""
    out = subprocess.run(
        [
            tool("ffprobe"),
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def pdfinfo(path: Path) -> dict[str, str]:
    out = subprocess.run([tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def pdftext(path: Path) -> str:
    return subprocess.run(
        [tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
