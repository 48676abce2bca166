"""make lint's import gate: import-linter's contracts ([tool.importlinter] in pyproject.toml) on the packages
as they are installed.

import-linter (through grimp) finds a package's modules by walking its folder, and setup.py maps shared/ and
services/ into `storyreel` from outside storyreel/. So, as scripts/typecheck.py does for mypy, this runs
lint-imports in the symlink tree of the installed layout (.typecheck/, which lint-imports puts first on the
path), with the repository root after it for `infra`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typecheck import ROOT, TREE, lay_out


def main() -> int:
    lay_out()
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    lint_imports = Path(sys.executable).parent / "lint-imports"
    cmd = [str(lint_imports), "--config", str(ROOT / "pyproject.toml"), *sys.argv[1:]]
    return subprocess.run(cmd, cwd=TREE, env=env, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
