"""Helpers for the infra limit and validator tests (imported as a plain module: pytest puts this dir on
sys.path): the deployed values of CloudFormation intrinsics, at their longest, and the external tools."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "ap-southeast-2"  # among the longest region names
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Storyreel",
}
# the longest physical names CloudFormation may generate (each service's own maximum)
LONGEST = {
    "AWS::Lambda::Function": 64,
    "AWS::S3::Bucket": 63,
    "AWS::DynamoDB::GlobalTable": 255,
    "AWS::DynamoDB::Table": 255,
    "AWS::Events::EventBus": 256,
    "AWS::StepFunctions::StateMachine": 80,
    "AWS::Batch::JobQueue": 128,
    "AWS::Batch::JobDefinition": 128,
    "AWS::SQS::Queue": 80,
    "AWS::SNS::Topic": 256,
    "AWS::Cognito::UserPool": 55,  # <region>_<id>: the user pool id
    "AWS::Cognito::UserPoolClient": 128,  # the client id
    "AWS::SecretsManager::Secret": 512,
}


def _name(cfn_type: str) -> str:
    return "n" * LONGEST[cfn_type]


def _arn(cfn_type: str) -> str:
    name = _name(cfn_type)
    return {
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::DynamoDB::GlobalTable": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
        "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
        "AWS::Batch::JobQueue": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/{name}",
        "AWS::Batch::JobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/{name}:99999",
        "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-abcdef",
    }[cfn_type]


# what `Ref` returns for each type: a name, or (these types) the ARN
_REF_IS_ARN = {
    "AWS::StepFunctions::StateMachine",
    "AWS::Batch::JobQueue",
    "AWS::Batch::JobDefinition",
    "AWS::SNS::Topic",
    "AWS::SecretsManager::Secret",
}
# Fn::GetAtt attributes other than Arn, at their longest
_ATTRIBUTES = {
    ("AWS::CloudFront::Distribution", "DomainName"): "d" + "x" * 13 + ".cloudfront.net",
    ("AWS::Lambda::Url", "FunctionUrl"): f"https://{'u' * 32}.lambda-url.{REGION}.on.aws/",
}


def deployed(value: Any, resources: dict[str, Any]) -> Any:
    """A template value as CloudFormation would resolve it, every generated name at its longest. An
    intrinsic this does not know fails the test (teach it here rather than guess)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list):
        return [deployed(v, resources) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), *_ = value.items()
        if fn == "Ref":
            if arg in PSEUDO:
                return PSEUDO[arg]
            cfn_type = resources[arg]["Type"]
            return _arn(cfn_type) if cfn_type in _REF_IS_ARN else _name(cfn_type)
        if fn == "Fn::GetAtt" and arg[1] == "Arn":
            return _arn(resources[arg[0]]["Type"])
        if fn == "Fn::GetAtt" and (resources[arg[0]]["Type"], arg[1]) in _ATTRIBUTES:
            return _ATTRIBUTES[(resources[arg[0]]["Type"], arg[1])]
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(deployed(p, resources)) for p in parts)
        if fn.startswith("Fn::"):
            raise AssertionError(f"infra_testkit.deployed: teach me {fn} ({json.dumps(value)[:200]})")
    if isinstance(value, dict):
        return {k: deployed(v, resources) for k, v in value.items()}
    raise AssertionError(f"unexpected template value {value!r}")


def deployed_definitions(template: dict[str, Any], outdir: Path) -> dict[str, str]:
    """Each state machine's definition as Step Functions receives it: CDK ships the ASL file as an asset
    (DefinitionS3Location) and CloudFormation fills in DefinitionSubstitutions."""
    resources = template["Resources"]
    assets = json.loads(next(outdir.glob("*.assets.json")).read_text())["files"]
    out = {}
    for logical_id, res in resources.items():
        if res["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        props = res["Properties"]
        if "DefinitionS3Location" in props:
            key = props["DefinitionS3Location"]["Key"]
            (source,) = [a["source"]["path"] for a in assets.values() if a["destinations"] and _key(a) == key]
            text = (outdir / source).read_text()
        else:
            text = str(deployed(props["DefinitionString"], resources))
        for name, value in deployed(props.get("DefinitionSubstitutions", {}), resources).items():
            text = text.replace("${" + name + "}", str(value))
        out[logical_id] = text
    return out


def _key(asset: dict[str, Any]) -> str:
    (dest,) = asset["destinations"].values()
    return dest["objectKey"]


# ---------------------------------------------------------------------------------- ASL files, as CDK fills them
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def plausible(name: str, max_concurrency: int) -> str:
    """A deploy-time value for one of the ASL files' `${Name}` placeholders, by what its name says it is."""
    if name.endswith("FunctionArn"):
        return _arn("AWS::Lambda::Function")
    if name.endswith("JobQueueArn"):
        return _arn("AWS::Batch::JobQueue")
    if name.endswith("JobDefinitionArn"):
        return _arn("AWS::Batch::JobDefinition")
    if name.endswith("MaxConcurrency"):
        return str(max_concurrency)
    raise AssertionError(f"no plausible value for ${{{name}}}: teach infra_testkit.plausible")


def substituted(text: str, max_concurrency: int = 40) -> str:
    return PLACEHOLDER.sub(lambda m: plausible(m.group(1), max_concurrency), text)


# ---------------------------------------------------------------------------------- external tools
ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".tools" / "checkov" / "bin" / "checkov"))


def tool(path: Path, how: str) -> Path:
    """An external checker the suite needs: missing is a failure (never a skip), with how to get it."""
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is missing: {how}")
    return path


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One pytest-xdist worker at a time (building shared caches under .lambda-assets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
