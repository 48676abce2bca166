"""Hard service limits that moto, cfn-lint and cdk-nag do not check, measured on the real thing:

- each Lambda function's unzipped code plus its layers <= 250 MB: the real assets (`python -m infra.bundle`,
  the real pip dependencies for arm64 / CPython 3.13) and the Powertools layer as AWS builds it (its
  layer_v3 Dockerfile: `aws-lambda-powertools[all]` pip-installed for the Lambda platform, then boto3,
  botocore, s3transfer, dateutil, urllib3, six, jmespath, tests and bytecode removed). Both are built once
  (pip, from PyPI) and cached under .lambda-assets; later sessions reinstall only what changed;
- each function's environment variables <= 4 KB (keys + values), from the synthesized template with every
  generated name at its longest;
- every state's input and output <= 256 KB: a 10-scene storyboard with every option on (all images, forum
  evidence, background render of what a preview left) through the real state machine in moto, measured from
  the execution history.

The state machine definition's 1 MB limit is in test_asl.py.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from infra_testkit import ROOT, deployed, locked, tree_bytes

from infra.bundle import LAMBDA_PLATFORM, LAMBDA_PYTHON, build, pip_install_for_lambda
from infra.functions import AUTHORIZER, FUNCTIONS

MB = 1024 * 1024
CODE_AND_LAYERS_LIMIT = 250 * MB
ENV_LIMIT = 4 * 1024
PAYLOAD_LIMIT = 256 * 1024
ASSETS = ROOT / ".lambda-assets"

# --------------------------------------------------------------------------- the real assets and the layer
# what the Powertools layer build deletes after `pip install` (layer_v3/docker/Dockerfile)
LAYER_PRUNE = ("boto*", "s3transfer*", "*dateutil*", "urllib3*", "six*", "jmespath*")


@pytest.fixture(scope="session")
def real_assets() -> Path:
    with locked(ASSETS / ".build.lock"):
        build(ASSETS)  # pip only for groups whose requirements changed since the last build
    return ASSETS


@pytest.fixture(scope="session")
def powertools_layer() -> Path:
    """The managed Powertools layer's contents, built as AWS builds it, for the version the code is tested
    with (the managed layer's version number does not say which Powertools release it holds)."""
    version = importlib.metadata.version("aws-lambda-powertools")
    out = ASSETS / ".layers" / f"powertools-{version}-py{LAMBDA_PYTHON}-{LAMBDA_PLATFORM}"
    with locked(ASSETS / ".layers.lock"):
        if not (out / ".complete").is_file():
            shutil.rmtree(out, ignore_errors=True)
            target = out / "python"
            pip_install_for_lambda(target, [f"aws-lambda-powertools[all]=={version}"], upgrade=False)
            for pattern in LAYER_PRUNE:
                for path in target.glob(pattern):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
            for path in [*target.rglob("tests"), *target.rglob("__pycache__")]:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
            for path in target.rglob("*.py[co]"):
                path.unlink()
            (out / ".complete").write_text(version)
    return out


def test_every_function_fits_lambdas_250_mb_with_its_layers(real_assets, powertools_layer):
    layer = tree_bytes(powertools_layer)
    sizes = {}
    for spec in (*FUNCTIONS, AUTHORIZER):
        code = tree_bytes(real_assets / spec.asset)
        assert (real_assets / spec.asset / "storyreel" / "services").is_dir() and code > MB, spec.id
        sizes[spec.id] = (code, code + layer)
    report = ", ".join(f"{fid} {total / MB:.1f}" for fid, (_, total) in sizes.items())
    print(f"code + Powertools layer ({layer / MB:.1f} MB), MB: {report}")
    worst, (code, total) = max(sizes.items(), key=lambda kv: kv[1][1])
    assert total <= CODE_AND_LAYERS_LIMIT, (
        f"{worst}: code {code / MB:.1f} MB + layer {layer / MB:.1f} MB = {total / MB:.1f} MB > 250 MB"
    )


# --------------------------------------------------------------------------- environment variables
def test_every_functions_environment_fits_4_kb(synth):
    sizes = {}
    for logical_id, res in synth.of_type("AWS::Lambda::Function").items():
        variables = deployed(res["Properties"].get("Environment", {}).get("Variables", {}), synth.resources)
        sizes[logical_id] = sum(len(k.encode()) + len(str(v).encode()) for k, v in variables.items())
    worst = max(sizes, key=sizes.get)
    print(f"biggest environment: {worst} {sizes[worst]} bytes of {ENV_LIMIT}")
    assert sizes[worst] <= ENV_LIMIT, f"{worst}: {sizes[worst]} bytes of environment > 4 KB"


# --------------------------------------------------------------------------- state payloads (moto)
# the moto account, the Lambda bridge and the fakes of tests/aws (its conftest's fixtures, and its kit)
_AWS_TESTS = Path(__file__).resolve().parents[1] / "aws"
if str(_AWS_TESTS) not in sys.path:
    sys.path.insert(0, str(_AWS_TESTS))
_spec = importlib.util.spec_from_file_location("storyreel_aws_fixtures", _AWS_TESTS / "conftest.py")
_aws_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_aws_fixtures)
aws_env, aws, machine = _aws_fixtures.aws_env, _aws_fixtures.aws, _aws_fixtures.machine

EVERY_OPTION = {
    "pipeline": {"scenes": 10, "limit_images": None, "virality_evaluation": True},
    "image_generation": {"seed": 7},
}
PREVIEW_THEN_REST = {
    "pipeline": {
        "scenes": 10,
        "limit_images": 3,
        "background_full_render": True,
        "virality_evaluation": True,
    },
    "image_generation": {"seed": 7},
}


def _payloads(execution_arn: str) -> list[tuple[int, str, str]]:
    """(bytes, event type, state) for every input/output/parameters document in an execution's history."""
    import boto3

    from testkit.aws import REGION

    sfn = boto3.client("stepfunctions", region_name=REGION)
    events, token = [], None
    while True:
        page = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    out, state = [], "?"
    for event in events:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            state = details.get("name", state)
            for field in ("input", "output", "parameters"):
                if isinstance(details.get(field), str):
                    out.append((len(details[field].encode()), f"{event['type']}.{field}", state))
    return out


def _execution_arn(name: str) -> str:
    import os

    import boto3

    from testkit.aws import REGION

    sfn = boto3.client("stepfunctions", region_name=REGION)
    listed = sfn.list_executions(stateMachineArn=os.environ["STATE_MACHINE_ARN"])["executions"]
    return next(e["executionArn"] for e in listed if e["name"] == name)


def test_no_state_payload_of_a_10_scene_storyboard_reaches_256_kb(machine):
    from storyreel.services.intake.handler import render_rest_handler
    from storyreel.shared.contracts import Storyboard, ViralityReport

    from testkit.aws import FakeLambdaContext, blob, start_run, wait

    full = start_run(EVERY_OPTION, key="uploads/full.wav")
    done = wait(full, timeout=180)
    assert done["status"] == "SUCCEEDED", done
    board = Storyboard.model_validate_json(blob(full, "storyboard.json"))
    assert len(board.scenes) == 10 and board.frames.rendered == 20
    assert ViralityReport.model_validate_json(blob(full, "virality.json")).method != "content-only"
    payloads = _payloads(_execution_arn(full))

    preview = start_run(PREVIEW_THEN_REST, key="uploads/preview.wav")
    assert wait(preview, timeout=180)["status"] == "SUCCEEDED"
    event = {
        "version": "0",
        "id": "7f3c2a10-0000-4000-8000-0000000000aa",
        "detail-type": "PreviewReady",
        "source": "storyreel",
        "account": "123456789012",
        "time": "2026-11-25T14:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"run_id": preview, "frames": [], "reason": "preview"},
    }
    assert len(render_rest_handler(event, FakeLambdaContext("storyreel-render-rest"))["frames"]) == 17
    rest = f"{preview}-render-{event['id']}"
    assert wait(preview, timeout=180, name=rest)["status"] == "SUCCEEDED"
    payloads += _payloads(_execution_arn(preview)) + _payloads(_execution_arn(rest))

    assert len(payloads) > 100
    payloads.sort(reverse=True)
    top = ", ".join(f"{state} {kind} {size / 1024:.1f} KB" for size, kind, state in payloads[:3])
    print(f"biggest state payloads: {top}")
    size, kind, state = payloads[0]
    assert size < PAYLOAD_LIMIT, f"{state} {kind}: {size / 1024:.1f} KB >= 256 KB (biggest: {top})"
