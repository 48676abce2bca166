"""Names and helpers shared by the tests in tests/aws (imported as a plain module: pytest puts this dir on
sys.path)."""

from __future__ import annotations

import ast
import base64
import contextlib
import functools
import inspect
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import types
import zipfile
from pathlib import Path
from typing import Any

import boto3
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.shared.contracts import (
    CreativeContext,
    Evidence,
    Frame,
    OptimizerDecision,
    Scene,
    ScenePlan,
    Segment,
    SourceStatus,
    Transcript,
    ViralityComponent,
    ViralityReport,
)
from storyreel.shared.pipeline import DECISION, RunContext
from storyreel.shared.stores import put_model

from infra.functions import FUNCTIONS as INFRA_FUNCTIONS

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

ROOT = Path(__file__).resolve().parents[2]
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


# --------------------------------------------------------------------------- fakes (deterministic, tiny)
BRIEF = (
    "We want a sixty second video for young runners about our new trail shoe. "
    "Start with a question, show the mud and the mountains, end on the logo. Keep it upbeat."
)


class FakeTranscriber:
    name = "fake"

    def transcribe(self, audio_path: Path, language: str | None) -> Transcript:
        return Transcript(
            text=BRIEF, duration_s=12.0, segments=[Segment(start=0, end=12, text=BRIEF)], provider="fake"
        )


class FakePlanner:
    name = "fake"

    def extract_context(self, transcript: Transcript) -> CreativeContext:
        return CreativeContext(
            title="Trail shoe teaser",
            subject="trail shoe",
            intent="sell",
            vibe="upbeat",
            content_style="short-form story",
            target_audience="young runners",
            keywords=["trail", "running", "shoe"],
            color_palette=["mud brown", "sky blue"],
        )

    def write_scenes(self, transcript, context, variant, n_scenes) -> ScenePlan:
        scenes = [
            Scene(
                index=i,
                title=f"Scene {i}",
                description=f"scene {i} of the trail shoe",
                start_frame=Frame(
                    role="start", prompt=f"scene {i} start, {variant.get('hook_style', 'plain')}"
                ),
                end_frame=Frame(role="end", prompt=f"scene {i} end"),
                duration=4.0,
            )
            for i in range(1, n_scenes + 1)
        ]
        return ScenePlan(scenes=scenes, variant=variant, hook="Ever run through mud?")


PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100"
    "0005fe02fea35f0f0000000049454e44ae426082"
)


class FakeImages:
    name = "fake"
    model = "fake-1"
    placeholder = False
    supports_init_image = True

    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = fail or set()

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        return [
            ImageResult(r.frame_id, None, 0.0, r.seed, error="refused by fake")
            if r.frame_id in self.fail
            else ImageResult(r.frame_id, PNG_1x1, 0.0, r.seed, model=self.model)
            for r in requests
        ]


class FakeEvidence:
    name = "fake-forums"

    def gather(self, keywords, config):
        ev = [
            Evidence(source="hackernews", title=f"{k} thread", url=f"https://example.test/{k}")
            for k in keywords
        ]
        return ev, [SourceStatus(source="hackernews", ok=True, items=len(ev))]


def fake_evaluate(transcript, context, variant, source, config) -> ViralityReport:
    evidence, sources = source.gather(context.keywords, config) if source else ([], [])
    comp = ViralityComponent(name="hook", score=60.0, weight=1.0, explanation="opens with a question")
    forum = [ViralityComponent(name="forums", score=50.0, weight=1.0, explanation="fake", evidence=evidence)]
    return ViralityReport(
        score=55.0 if source else 60.0,
        confidence=0.5,
        components=[comp, *(forum if source else [])],
        sources=sources,
        variant=variant,
        method="content+forums" if source else "content-only",
    )


def fake_choose(ctx: RunContext) -> OptimizerDecision:
    decision = OptimizerDecision(variant={"hook_style": "question"})
    put_model(ctx.blobs, ctx.key(DECISION), decision)
    return decision


def fake_learn(ctx: RunContext) -> None:
    policy, version = ctx.state.get_policy("thompson")
    policy["updates"] = policy.get("updates", 0) + 1
    ctx.state.put_policy("thompson", policy, version)


def fake_feedback(state, run_id, engagement, config=None, record=None) -> None:
    policy, version = state.get_policy("thompson")
    policy.setdefault("feedback", {})[run_id] = engagement.views
    state.put_policy("thompson", policy, version)


def is_stub(fn: Any) -> bool:
    """True when a function's body is only `raise NotImplementedError` (the foundation's placeholders)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError):
        return False
    body = [
        n for n in tree.body[0].body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
    ]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Raise)
        and "NotImplementedError" in ast.unparse(body[0].exc or ast.Constant(None))
    )


def install_fakes(monkeypatch, image_provider: FakeImages | None = None) -> dict[str, Any]:
    """Providers through RunContext.overrides; stubbed step internals (other branches are writing them) replaced
    by small fakes only while they are stubs. Returns the overrides (the local runner takes the same ones)."""
    import storyreel.services.optimizer.step as optimizer_step
    import storyreel.services.virality.step as virality_step
    import storyreel.shared.aws.context as runtime

    try:
        import storyreel.services.transcribe.audio  # noqa: F401
    except ModuleNotFoundError:
        fake_audio = types.ModuleType("storyreel.services.transcribe.audio")
        fake_audio.check_audio = lambda path, max_minutes: None
        monkeypatch.setitem(sys.modules, "storyreel.services.transcribe.audio", fake_audio)
    for module, name, fake in (
        (virality_step, "evaluate", fake_evaluate),
        (optimizer_step, "choose", fake_choose),
        (optimizer_step, "learn", fake_learn),
        (optimizer_step, "feedback", fake_feedback),
    ):
        if is_stub(getattr(module, name)):
            monkeypatch.setattr(module, name, fake)
    overrides = {
        "transcriber": FakeTranscriber(),
        "planner": FakePlanner(),
        "image_provider": image_provider or FakeImages(),
        "evidence_source": FakeEvidence(),
    }
    monkeypatch.setattr(runtime, "OVERRIDES", overrides)
    return overrides


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
def install_batch_bridge(monkeypatch, image_provider: Any, jobs: list | None = None) -> None:
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
            code = worker.main([], overrides={"image_provider": image_provider})
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
