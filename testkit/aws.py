"""The AWS side of the test kit: moto names, the Lambda bridge (moto's Lambda -> the real handlers, in-process),
the state machine with the stack's substitutions, upload and API Gateway events. The tests (tests/aws, tests/clips,
tests/infra) and the benchmarks (bench/cloudsim.py) import it as `testkit.aws`."""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.scenes.providers import PLANNERS
from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.services.virality.sources import EVIDENCE_SOURCES

from infra.functions import FUNCTIONS as INFRA_FUNCTIONS
from testkit.fakes import (
    BRIEF,
    FakeEvidence,
    FakeImageProvider,
    FakePlanner,
    FakeTranscriber,
    make_providers,
    use_provider,
)

REGION = "us-east-1"
BUCKET = "storyreel-test"
TABLE = "storyreel-test"
BUS = "storyreel-test-bus"

MOTO_CONFIG = {
    # the real ASL file runs in moto's interpreter
    "stepfunctions": {"execute_state_machine": True},
    # moto's docker-free Lambda backend; the bridge routes its invoke to the in-process handlers
    "lambda": {"use_docker": False},
    "batch": {"use_docker": False},
}

ROOT = Path(__file__).resolve().parents[1]
ASL_PATH = ROOT / "infra" / "statemachine" / "storyboard.asl.json"
ACCOUNT = "123456789012"

# state machine substitution -> (moto Lambda function name, "module:function" of the real handler), from the
# stack's own table, so a wrong handler path in infra/functions.py fails these tests too.
FUNCTIONS = {
    spec.substitution: (f"storyreel-{spec.id.lower()}", f"{spec.module}:{spec.function}")
    for spec in INFRA_FUNCTIONS
    if spec.in_state_machine
}


# --------------------------------------------------------------------------- Lambda context
class FakeLambdaContext:
    def __init__(self, name: str = "storyreel-test") -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.aws_request_id = "req-" + name
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    __import__(module)
    return getattr(sys.modules[module], attr)


# --------------------------------------------------------------------------- audio
@functools.cache
def tiny_wav() -> bytes:
    """A short spoken brief (espeak-ng), so the real audio checks (decode, speech present) pass."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        import pytest

        pytest.skip("espeak-ng not installed (make sysdeps)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "brief.wav"
        subprocess.run([exe, "-s", "170", "-w", str(out), BRIEF], check=True, capture_output=True)
        return out.read_bytes()


# --------------------------------------------------------------------------- the fakes every handler builds
@dataclass
class Fakes:
    """The fake providers the handlers build while installed (testkit/fakes.py)."""

    transcriber: FakeTranscriber
    planner: FakePlanner
    images: FakeImageProvider
    evidence: FakeEvidence


def install_fakes(monkeypatch, image_provider: FakeImageProvider | None = None) -> Fakes:
    """Every stage registry builds its fake, whatever the run's settings choose, until the test ends (the local
    runner in the same test builds them too). Returns the fakes, to inspect or to replace one by one."""
    fakes = Fakes(FakeTranscriber(), FakePlanner(), image_provider or FakeImageProvider(), FakeEvidence())
    use_provider(monkeypatch, TRANSCRIBERS, fakes.transcriber)
    use_provider(monkeypatch, PLANNERS, fakes.planner)
    use_provider(monkeypatch, IMAGE_PROVIDERS, fakes.images)
    use_provider(monkeypatch, EVIDENCE_SOURCES, fakes.evidence)
    return fakes


# --------------------------------------------------------------------------- moto Lambda -> in-process handlers
def install_lambda_bridge(
    monkeypatch, targets: dict[str, str] | None = None, calls: list | None = None
) -> None:
    """Route moto's docker-free Lambda invoke (LambdaSimpleBackend.invoke: the one place moto produces a
    function's response) to the real handler, in-process. A handler exception becomes a Lambda function error
    (x-amz-function-error + the runtime's {"errorMessage", "errorType"} payload), as the Python runtime
    reports it, so the state machine's Retry/Catch see the real error names."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    by_name = {name: target for name, target in (targets or dict(FUNCTIONS.values())).items()}
    # One in-process "sandbox" for every function: like a Lambda sandbox it runs one invocation at a time
    # (Powertools Metrics/Logger keep per-process state that a real sandbox never shares between concurrent
    # invocations; moto runs Parallel branches and Map items on threads).
    sandbox = threading.Lock()

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        fn = self.get_function(function_name, qualifier)
        target = by_name[fn.function_name]
        event = json.loads(body or "{}")
        if calls is not None:
            calls.append((fn.function_name, event))
        try:
            with sandbox:
                result = resolve(target)(event, FakeLambdaContext(fn.function_name))
        except Exception as exc:  # noqa: BLE001 (the Lambda runtime reports any exception)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []}
            ).encode()
        return json.dumps(result).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def create_functions(names: list[str]) -> dict[str, str]:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName="storyreel-lambda",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    arns = {}
    for name in names:
        arns[name] = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _zip()},
        )["FunctionArn"]
    return arns


def substituted_definition(arns: dict[str, str], extra: dict[str, str] | None = None) -> str:
    subs = {sub: arns[name] for sub, (name, _) in FUNCTIONS.items()}
    subs.update(
        {
            "GpuJobQueueArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/storyreel-gpu",
            "GpuJobDefinitionArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/storyreel-gpu:1",
            "ImagesMaxConcurrency": "4",
        }
    )
    subs.update(extra or {})
    text = ASL_PATH.read_text()
    for key, value in subs.items():
        text = text.replace("${" + key + "}", value)
    assert "${" not in text, "a substitution was left unfilled"
    return text


def create_state_machine(definition: str) -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName="storyreel-sfn",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.create_state_machine(name="storyreel-storyboard", definition=definition, roleArn=role)[
        "stateMachineArn"
    ]


# --------------------------------------------------------------------------- runs through the machine
def upload_event(key: str, etag: str = "abc123") -> dict:
    """An S3 "Object Created" event as EventBridge delivers it."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-25T14:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {"key": key, "size": 32044, "etag": etag, "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def start_run(opts: dict, key: str = "uploads/brief.wav") -> str:
    from storyreel.services.intake.handler import handler as intake_handler

    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=key, Body=tiny_wav(), Metadata={"options": json.dumps(opts)}
    )
    out = intake_handler(upload_event(key), FakeLambdaContext("storyreel-intake"))
    assert out["status"] == "running", out
    return out["run_id"]


def wait(run_id: str, timeout: float = 60, name: str | None = None) -> dict:
    """Wait for the execution named `name` (default: the run's own, named by its run id)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = next(
        e
        for e in sfn.list_executions(stateMachineArn=_machine_arn())["executions"]
        if e["name"] == (name or run_id)
    )["executionArn"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            entered = [
                e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")
            ]
            return {**desc, "entered": entered}
        time.sleep(0.05)
    raise AssertionError(f"execution {run_id} still running after {timeout}s")


def _machine_arn() -> str:
    return os.environ["STATE_MACHINE_ARN"]


def blob(run_id: str, name: str) -> bytes:
    return (
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=BUCKET, Key=f"runs/{run_id}/{name}")["Body"]
        .read()
    )


# --------------------------------------------------------------------------- API Gateway (REST proxy) events
def apigw_event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the Lambda gets it."""
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    hdrs = {"Content-Type": "application/json", "Host": "api.test", **(headers or {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "api1234",
            "stage": "prod",
            "requestId": "req-1",
            "httpMethod": method,
            "path": f"/prod{path}",
            "resourcePath": path,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def call_api(
    method: str, path: str, body: Any = None, query: dict[str, str] | None = None
) -> tuple[int, Any]:
    from storyreel.services.api.handler import handler

    out = handler(apigw_event(method, path, body, query), FakeLambdaContext("storyreel-api"))
    text = out.get("body") or ""
    try:
        parsed = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return out["statusCode"], parsed


# --------------------------------------------------------------------------- moto Batch -> the real GPU worker
def install_batch_bridge(monkeypatch, image_provider: FakeImageProvider, jobs: list | None = None) -> None:
    """moto's docker-free Batch backend marks a job finished in BatchSimpleBackend._mark_job_as_finished; here
    that runs the real GPU worker (services/images/gpu/worker.py) in-process with the job's container
    environment and an injected image provider (no GPU, no model), and the job succeeds when it exits 0."""
    from moto.batch_simple.models import BatchSimpleBackend
    from storyreel.services.images.gpu import worker

    def finish(self, include_start_attempt, job):
        self.backend._jobs[job.job_id] = job
        job.job_started_at = __import__("datetime").datetime.now()
        job.log_stream_name = job._stream_name
        if include_start_attempt:
            job._start_attempt()
        env = {e["name"]: e["value"] for e in job.container_overrides.get("environment", [])}
        if jobs is not None:
            jobs.append(env)
        with _patched_environ({**os.environ, **env}):
            code = worker.main([], providers=make_providers(images=image_provider))
        job._mark_stopped(success=code == 0)

    monkeypatch.setattr(BatchSimpleBackend, "_mark_job_as_finished", finish)
    # the worker stops on SIGTERM in its container; moto runs the job on a worker thread (no signals there)
    monkeypatch.setattr(worker, "stop_on_signals", lambda stop: contextlib.nullcontext())

    # moto's port of the Step Functions interpreter leaves _normalise_parameters/_normalise_response no-ops,
    # so the Batch integration's PascalCase parameters (JobName, ContainerOverrides.Environment[].Name, as the
    # ASL must write them for AWS) reach boto3 unconverted and boto3's camelCase answer is not turned back.
    # Convert both ways, as Step Functions does.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
        StateTaskServiceBatch,
    )

    def camel(node: Any) -> Any:
        if isinstance(node, dict):
            return {k[:1].lower() + k[1:]: camel(v) for k, v in node.items()}
        if isinstance(node, list):
            return [camel(v) for v in node]
        return node

    def normalise(self, parameters, boto_service_name=None, service_action_name=None):
        converted = camel(parameters)
        parameters.clear()
        parameters.update(converted)

    def pascal(node: Any) -> Any:
        if isinstance(node, dict):
            return {k[:1].upper() + k[1:]: pascal(v) for k, v in node.items()}
        if isinstance(node, list):
            return [pascal(v) for v in node]
        return node

    def normalise_response(self, response, boto_service_name=None, service_action_name=None):
        converted = pascal(response)
        response.clear()
        response.update(converted)

    monkeypatch.setattr(StateTaskServiceBatch, "_normalise_parameters", normalise, raising=False)
    monkeypatch.setattr(StateTaskServiceBatch, "_normalise_response", normalise_response, raising=False)


class _patched_environ:
    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.saved = env, None

    def __enter__(self) -> None:
        self.saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)

    def __exit__(self, *exc: object) -> None:
        os.environ.clear()
        os.environ.update(self.saved or {})


def create_gpu_queue() -> dict[str, str]:
    """An unmanaged compute environment, a job queue and a job definition in moto (what infra/ creates)."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName="storyreel-batch",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    batch = boto3.client("batch", region_name=REGION)
    ce = batch.create_compute_environment(
        computeEnvironmentName="storyreel-gpu", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName="storyreel-gpu",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}],
    )["jobQueueArn"]
    definition = batch.register_job_definition(
        jobDefinitionName="storyreel-gpu",
        type="container",
        containerProperties={"image": "storyreel-gpu:latest", "vcpus": 4, "memory": 15360, "command": []},
    )["jobDefinitionArn"]
    return {"GpuJobQueueArn": queue, "GpuJobDefinitionArn": definition}


def invoke_raw(
    method: str, path: str, raw: str | None, content_type: str | None, base64_encoded: bool = False
) -> tuple[int, Any]:
    """The API Lambda handler with a raw body and Content-Type (None: no such header). Never a 5xx, and
    every answer is JSON."""
    from storyreel.services.api.handler import handler

    event = apigw_event(method, path, raw)
    for field in ("headers", "multiValueHeaders"):
        event[field].pop("Content-Type")
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    if base64_encoded and raw is not None:
        event["body"] = base64.b64encode(raw.encode("utf-8", "surrogatepass")).decode()
        event["isBase64Encoded"] = True
    out = handler(event, FakeLambdaContext("storyreel-api"))
    assert out["statusCode"] < 500, out
    return out["statusCode"], json.loads(out["body"])  # every answer is JSON


# moto 5 checks a write's condition and applies it without a lock: two threads can both pass `version = :v`
# (16 threads doing 400 conditional puts of a counter left it at 398). DynamoDB applies each item write
# atomically, and the policy's optimistic updates, the revision claims and Powertools' idempotency records rely
# on that, so concurrent benches and tests serialize moto's item writes the way DynamoDB does.
DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def atomic_dynamodb(monkeypatch: Any) -> None:
    """Make moto's DynamoDB item writes atomic (one lock around each write: condition check + write)."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in DYNAMODB_WRITES:
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)
