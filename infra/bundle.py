"""Build the Lambda code assets without Docker: `python -m infra.bundle [--out .lambda-assets] [--no-deps]`.

For every asset group in infra.functions.ASSET_GROUPS this writes `<out>/<group>/` holding
- `storyreel/shared/` and `storyreel/services/` (minus `services/images/gpu`, caches and tests): the
  packages as they are installed (setup.py maps the folders under the one name `storyreel`), and
- the group's third-party dependencies pip-installed for the Lambda platform (manylinux2014 aarch64,
  CPython 3.13, wheels only): infra.functions.LAMBDA_BASE plus the group's packages
  (infra.functions.ASSET_GROUPS), pinned as pyproject.toml pins them. Powertools comes from the AWS-managed layer and boto3 from the runtime.

`--no-deps` copies only the sources (what the CDK tests synthesize against).
A group whose requirements did not change keeps its installed dependencies (only the sources are
recopied); `--force` reinstalls.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from infra.functions import ASSET_GROUPS, ASSET_PRUNE, LAMBDA_BASE

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = ("shared", "services")
EXCLUDE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "gpu", ".pytest_cache")
LAMBDA_PLATFORM = "manylinux2014_aarch64"
LAMBDA_PYTHON = "3.13"


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def requirements(
    group: str, pyproject: Path = ROOT / "pyproject.toml", extra: tuple[str, ...] = ()
) -> list[str]:
    """Pinned-as-in-pyproject requirement strings for one asset group (plus `extra` distributions: the
    Transcribe container image's)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    pinned = {
        _name(r): r
        for reqs in (project["dependencies"], *project["optional-dependencies"].values())
        for r in reqs
    }
    wanted = (*LAMBDA_BASE, *ASSET_GROUPS[group], *extra)
    missing = [w for w in wanted if w not in pinned]
    if missing:
        raise SystemExit(f"asset group {group!r}: {missing} not in pyproject's dependencies or extras")
    return [pinned[w] for w in wanted]


def copy_sources(dest: Path, root: Path = ROOT) -> None:
    """shared/ + services/ (no GPU worker, no caches) into dest/storyreel/, as installed. The CLI's own
    modules stay out: the asset's storyreel/__init__.py is an empty package marker."""
    pkg = dest / "storyreel"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    for package in SOURCE_PACKAGES:
        target = pkg / package
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / package, target, ignore=EXCLUDE)


def pip_install_for_lambda(target: Path, requirements: list[str], *, upgrade: bool = True) -> None:
    """pip-install wheels for the Lambda platform (arm64, CPython LAMBDA_PYTHON) into target."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        "--only-binary=:all:",
        *(["--upgrade"] if upgrade else []),
        "--target",
        str(target),
        *requirements,
    ]
    subprocess.run(cmd, check=True)


def install_deps(group: str, dest: Path) -> None:
    pip_install_for_lambda(dest, requirements(group))
    # bytecode caches are rebuilt on the Lambda anyway
    for cache in dest.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    for rel in ASSET_PRUNE.get(group, ()):
        target = dest / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


# <out>/.<group>.deps.json records what a group's deps were installed from (outside the asset: not zipped)


def _deps_key(group: str) -> str:
    return json.dumps(
        {
            "requirements": requirements(group),
            "prune": list(ASSET_PRUNE.get(group, ())),
            "platform": LAMBDA_PLATFORM,
            "python": LAMBDA_PYTHON,
        },
        sort_keys=True,
    )


def build(
    out: Path, with_deps: bool = True, groups: list[str] | None = None, force: bool = False
) -> dict[str, Path]:
    """Build (or refresh) each group's asset dir. Dependencies are reinstalled only when the group's
    requirements, platform or Python version changed (or with force); sources are always recopied."""
    built = {}
    for group in groups or list(ASSET_GROUPS):
        dest = out / group
        stamp = out / f".{group}.deps.json"
        if with_deps:
            key = _deps_key(group)
            if force or not stamp.is_file() or stamp.read_text() != key:
                if dest.exists():
                    shutil.rmtree(dest)
                install_deps(group, dest)
                stamp.write_text(key)
        copy_sources(dest)
        built[group] = dest
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".lambda-assets")
    parser.add_argument("--no-deps", action="store_true", help="copy the sources only")
    parser.add_argument("--force", action="store_true", help="reinstall dependencies even if unchanged")
    parser.add_argument("groups", nargs="*", help=f"default: all of {', '.join(ASSET_GROUPS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - set(ASSET_GROUPS))
    if unknown:
        parser.error(f"unknown asset group(s) {unknown}; choose from {list(ASSET_GROUPS)}")
    for group, path in build(
        args.out, with_deps=not args.no_deps, groups=args.groups or None, force=args.force
    ).items():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        print(f"{group:<12} {size / 1e6:7.1f} MB  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
