"""CDK app entry: `cdk synth` (via cdk.json) or `python -m infra.app [-c key=value ...] [--out cdk.out]`.

Run directly (no CDK CLI, no Docker) it reads cdk.json's context itself, applies cdk-nag's AwsSolutions
pack, writes the cloud assembly and exits 1 if cdk-nag (or anything else) left an error annotation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # our machines; use Node 22+

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.stack import StoryreelStack

ROOT = Path(__file__).resolve().parent.parent
STACK_NAME = "Storyreel"


def file_context(path: Path = ROOT / "cdk.json") -> dict[str, Any]:
    return dict(json.loads(path.read_text()).get("context", {})) if path.is_file() else {}


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None, nag: bool = True
) -> tuple[cdk.App, StoryreelStack]:
    """The app with the storyreel stack. When the CDK CLI runs us it passes context and outdir itself."""
    kwargs: dict[str, Any] = {}
    if context is not None:
        # what the CDK CLI switches on: construct paths and asset paths in the template's Metadata
        # (SAM CLI's `sam local invoke` finds the Lambda code through aws:asset:path)
        kwargs["context"] = {
            "aws:cdk:enable-path-metadata": True,
            "aws:cdk:enable-asset-metadata": True,
            **context,
        }
    if outdir is not None:
        kwargs["outdir"] = outdir
    app = cdk.App(**kwargs)
    stack = StoryreelStack(
        app,
        app.node.try_get_context("stack_name") or STACK_NAME,
        description="storyreel: spoken brief -> scored storyboard (S3/EventBridge -> Step Functions -> Lambda)",
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
        ),
    )
    cdk.Tags.of(app).add("project", "storyreel")
    if nag:
        # cdk-nag v3 is a CDK policy-validation plugin: any unacknowledged finding stops synthesis,
        # and the report lands in <outdir>/policy-validation-report.json
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app, stack


def _parse_context(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"-c expects key=value, got {pair!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("CDK_OUTDIR"):  # under the CDK CLI: it owns context and outdir
        app, _ = build_app()
        app.synth()
        return 0
    parser = argparse.ArgumentParser(description="synthesize the storyreel stack without the CDK CLI")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default=str(ROOT / "cdk.out"))
    parser.add_argument("--no-nag", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    context = {**file_context(), **_parse_context(args.context)}
    app, stack = build_app(context, args.out, nag=not args.no_nag)
    try:
        assembly = app.synth()
    except RuntimeError as exc:  # cdk-nag findings (and other validation errors) stop synthesis
        print(str(exc), file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    template = assembly.get_stack_by_name(stack.stack_name).template
    print(
        f"synthesized {stack.stack_name} -> {args.out} in {elapsed:.1f} s: "
        f"{len(template['Resources'])} resources" + ("" if args.no_nag else ", cdk-nag AwsSolutions passed")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
