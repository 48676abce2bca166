"""Cold start: importing a handler leaves boto3, the X-Ray SDK, httpx and Powertools' heavy utilities to the first
event, and that first event is traced as before (every AWS call through the patched botocore, httpx patched
where STORYREEL_TRACE_HTTP is set, subsegments streamed). Each check runs in a fresh interpreter with tracing on,
as in Lambda (the other AWS tests run with POWERTOOLS_TRACE_DISABLED)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
# Modules a handler's import must not load: what it used to pay at cold start for its first event.
FIRST_EVENT_ONLY = (
    "boto3",
    "botocore.client",
    "aws_xray_sdk.core",
    "httpx",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.event_handler.openapi.models",
)


def lambda_env(function: str, trace_http: bool) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"storyreel-{function}",
        "LAMBDA_TASK_ROOT": str(ROOT),  # Powertools' Tracer is on only in Lambda
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "STORYREEL_BUCKET": "storyreel-coldstart",
        "STORYREEL_TABLE": "storyreel-coldstart",
        "EVENT_BUS_NAME": "storyreel-coldstart",
        "POWERTOOLS_SERVICE_NAME": "coldstart",
        "POWERTOOLS_METRICS_NAMESPACE": "storyreel-test",
        "STORYREEL_HOME": os.environ.get("STORYREEL_HOME", "/tmp"),
    }
    if trace_http:
        env |= {"STORYREEL_TRACE_HTTP": "1", "STORYREEL_OPENAI_SECRET": "storyreel/openai"}
    return env


def run_python(code: str, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n{code}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[s.id for s in FUNCTIONS])
def test_a_handler_import_leaves_the_sdks_to_the_first_event(spec) -> None:
    code = (
        "import importlib, json\n"
        f"handler = getattr(importlib.import_module({spec.module!r}), {spec.function!r})\n"
        "import storyreel.shared.aws.observability as rt\n"
        f"print(json.dumps({{'loaded': [m for m in {FIRST_EVENT_ONLY!r} if m in sys.modules],"
        " 'tracing': not rt.tracer.disabled}))\n"
    )
    out = run_python(code, lambda_env(spec.id, trace_http=bool(spec.secrets)))
    assert out == {"loaded": [], "tracing": True}


_FIRST_EVENT = """
import json
import boto3
from moto import mock_aws

sent = []


class Emitter:  # the X-Ray daemon, in memory
    ip, port = "127.0.0.1", 2000

    def send_entity(self, entity):
        sent.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address):
        pass


class Context:
    function_name = "storyreel-Context"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:storyreel-Context"
    aws_request_id = "req-1"


with mock_aws():
    boto3.client("s3").create_bucket(Bucket="storyreel-coldstart")
    boto3.client("secretsmanager").create_secret(Name="storyreel/openai", SecretString="sk-test")
    from storyreel.shared.aws.stores import create_table

    create_table(boto3.client("dynamodb"), "storyreel-coldstart")
    import os

    os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    from storyreel.services.scenes import handler
    import storyreel.shared.aws.observability as rt

    rt.tracer.provider.configure(emitter=Emitter())
    try:
        handler.context_handler({"run_id": "no-such-run"}, Context())
        error = None
    except Exception as exc:
        error = type(exc).__name__
    import botocore.client
    import httpx
    from aws_xray_sdk.core import xray_recorder

names = [e["name"] for e in sent]
root = next(e for e in sent if e["name"] == "## context_handler")
print(json.dumps({
    "error": error,
    "subsegments": names,
    "annotations": root.get("annotations"),
    "botocore_patched": getattr(botocore.client, "_xray_enabled", False),
    "httpx_client": httpx.Client.__name__,
    "streaming_threshold": xray_recorder.streaming_threshold,
}))
"""


def test_the_first_event_is_traced_as_before() -> None:
    """Secrets (Powertools Parameters' own client) and DynamoDB calls of the first event are subsegments of the
    handler's, httpx is patched before any provider SDK subclasses it, subsegments go out one by one."""
    out = run_python(_FIRST_EVENT, lambda_env("Context", trace_http=True))
    assert out["error"] == "NotFoundError"
    assert out["subsegments"] == ["secretsmanager", "dynamodb", "## context_handler"]
    assert out["annotations"] == {"ColdStart": True, "Service": "coldstart"}
    assert out["botocore_patched"] is True
    assert out["httpx_client"] == "_InstrumentedClient"
    assert out["streaming_threshold"] == 0
