"""The build context of a Docker image asset (the GPU worker, the Transcribe container image): what CDK stages."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DOCKER_EXCLUDES = ["**", "!pyproject.toml", "!README.md", "!shared/", "!services/", "!storyreel/"]


def docker_excludes(dockerfile: Path) -> list[str]:
    """The patterns of `<Dockerfile>.dockerignore` (BuildKit's per-Dockerfile ignore file), else ours."""
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
    if not ignore.is_file():
        return [*DEFAULT_DOCKER_EXCLUDES, "**/__pycache__", "**/*.pyc"]
    lines = (line.strip() for line in ignore.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]
