"""Synthesize the storyreel stack ONCE per test session (sources-only Lambda assets: no pip, no Docker)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # our machines; use Node 22+


@dataclass
class Synth:
    stack: Any  # infra.stack.StoryreelStack
    template: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    @property
    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())


def synthesize(tmp: Path, **context: Any) -> Synth:
    from infra.app import build_app, file_context
    from infra.bundle import build

    assets = tmp / "assets"
    build(assets, with_deps=False)  # tests skip bundling: shared/ + services/ only
    outdir = tmp / "cdk.out"
    app, stack = build_app({**file_context(), "lambda_assets": str(assets), **context}, str(outdir), nag=True)
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synth(stack=stack, template=template, outdir=outdir)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The default stack: image_provider=replicate (no GPU resources), the web app (S3 + CloudFront + Cognito)
    and the API's authorizer (a Cognito JWT or an API key)."""
    return synthesize(tmp_path_factory.mktemp("synth-default"))


@pytest.fixture(scope="session")
def synth_batch(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """image_provider=batch, SigV4 and no web app, with a stand-in repository holding the worker's Dockerfile and its
    Dockerfile.dockerignore (the image is built at deploy, never here) and a .venv that must not be staged."""
    tmp = tmp_path_factory.mktemp("synth-batch")
    repo = tmp / "repo"
    files = {
        "services/images/gpu/Dockerfile": "FROM public.ecr.aws/docker/library/python:3.12-slim\n",
        "services/images/gpu/Dockerfile.dockerignore": "**\n!pyproject.toml\n!shared/\n!services/\n**/*.pyc\n",
        "services/images/gpu/worker.py": "print('worker')\n",
        "shared/__init__.py": "",
        "pyproject.toml": "[project]\nname = 'x'\n",
        ".venv/lib/big.bin": "x" * 1000,
        "cdk.out/old.json": "{}",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return synthesize(
        tmp,
        image_provider="batch",
        gpu_build_context=str(repo),
        gpu_model_uri="s3://storyreel-models/sdxl-lightning",
        api_auth="iam",
        web=False,  # SigV4 has no web sign-in: also the stack without the web app
    )
