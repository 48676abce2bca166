"""make lint's type check: mypy over the packages as they are installed.

setup.py installs shared/ and services/ as storyreel.shared and storyreel.services; mypy cannot follow a
setuptools folder mapping, so this lays the same tree out of symlinks in .typecheck/ (gitignored) and checks
`-p storyreel -p infra` there. The symlinks point at the real files, so mypy's messages name them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / ".typecheck"
MAPPED = {"shared": ROOT / "shared", "services": ROOT / "services"}


def link(path: Path, target: Path) -> None:
    if path.is_symlink() and path.resolve() == target.resolve():
        return
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(os.path.relpath(target, path.parent))


def lay_out() -> None:
    pkg = TREE / "storyreel"
    pkg.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in (ROOT / "storyreel").iterdir() if p.name != "__pycache__"}
    wanted.update(MAPPED)
    for stale in pkg.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for name, target in wanted.items():
        link(pkg / name, target)


def main() -> int:
    lay_out()
    env = {**os.environ, "MYPYPATH": str(TREE)}
    cmd = [sys.executable, "-m", "mypy", "-p", "storyreel", "-p", "infra", *sys.argv[1:]]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
