"""`storyreel run ... --reference FILE|first-frame` from the command line (a subprocess, the embedded defaults)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from storyreel.shared.contracts import Storyboard

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "brief.wav"


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "storyreel.cli", *args],
        capture_output=True, text=True, env={**os.environ, "STORYREEL_HOME": str(home)}, cwd=ROOT, timeout=300,
    )  # fmt: skip


def test_a_given_reference_is_kept_with_the_run(tmp_path):
    photo = tmp_path / "subject.jpg"
    from PIL import Image

    Image.new("RGB", (40, 30), (10, 120, 40)).save(photo, format="JPEG")
    out = tmp_path / "runs"
    args = ("run", str(EXAMPLE), "--scenes", "3", "--no-virality", "--out", str(out), "--json")
    proc = cli(*args, "--reference", str(photo), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    folder = out / json.loads(proc.stdout)["run_id"]
    assert (folder / "reference" / "subject.png").read_bytes().startswith(b"\x89PNG")
    board = Storyboard.model_validate_json((folder / "storyboard.json").read_text())
    # the sketch panels take no reference: none of them claims one
    assert {f.reference for s in board.scenes for f in s.frames()} == {None}
    assert {f.seed_policy for s in board.scenes for f in s.frames()} == {"scene"}


def test_a_reference_that_is_not_an_image_is_one_line_and_no_run(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a picture")
    proc = cli(
        "run", str(EXAMPLE), "--reference", str(bad), "--out", str(tmp_path / "r"), home=tmp_path / "h"
    )
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("storyreel: error:")]
    assert len(errors) == 1 and "is not an image Pillow can read" in errors[0]
    assert json.loads(cli("runs", "--json", home=tmp_path / "h").stdout) == []
