"""The cloud pipeline on one machine, for `make capacity` and `make bench-load`: the real state machine
(infra/statemachine/storyboard.asl.json) in moto's interpreter, the real Lambda handlers behind moto's Lambda
(testkit/aws.py's bridge), and the real vendor SDKs talking to the fake vendors of testkit/vendors
(OpenAI transcription + planning, Replicate images, Firecrawl + HN + Reddit evidence) at chosen latencies,
with 429s, 5xx and slow answers injected at chosen rates from a seeded generator.

It counts what a run asks of AWS: every boto3 call the handlers make (S3, DynamoDB, EventBridge, Step Functions,
Secrets Manager), by service and operation, and the state transitions of each execution (its history). Loopback
only: the fake vendors listen on 127.0.0.1, moto runs in-process.

What it is not: AWS. moto runs the executions on threads in one process and the bridge runs one handler at a
time (one Lambda "sandbox", see testkit.aws.install_lambda_bridge), so wall times here say nothing about AWS
throughput; the counts and the end states are what it measures.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from _pytest.monkeypatch import MonkeyPatch  # noqa: E402
from moto import mock_aws  # noqa: E402

from testkit.vendors.firecrawl import FakeFirecrawl  # noqa: E402
from testkit.vendors.forums import FakeWeb, make_threads  # noqa: E402
from testkit.vendors.openai import CONTEXT, FakeOpenAI, plan_json  # noqa: E402
from testkit.vendors.replicate import FakeReplicate  # noqa: E402
from testkit.vendors.server import FakeServer, Reply, Request  # noqa: E402

# Latencies of the real services (seconds), as the seed measured them (issue #3; bench/pipeline.py uses them / 10).
SEED_LATENCY_S = {"transcribe": 10.0, "chat": 4.0, "image": 4.0, "forum": 2.0}
FORUMS = ["reddit:r/videos", "reddit:r/NewTubers", "hackernews"]

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "storyreel",
    "POWERTOOLS_METRICS_NAMESPACE": "storyreel-bench",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_DEV": "0",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "AWS_LAMBDA_FUNCTION_NAME": "storyreel-bench",
}


def planning_reply(body: dict[str, Any]) -> str:
    """A valid answer to the planner's request: the context, or exactly the scenes it asks for."""
    if body["response_format"]["json_schema"]["name"] == "CreativeContextDraft":
        return json.dumps(CONTEXT)
    text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    m = re.search(r"write exactly (\d+) scenes", text)
    return plan_json(int(m.group(1)) if m else 3)


@dataclass
class Faults:
    """Per request to a fake vendor: a 429, a 5xx or a slow answer, at these rates (seeded)."""

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_slow: float = 0.0
    slow_s: float = 3.0
    seed: int = 7
    injected: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        with self._lock:
            x = self._rng.random()
        if x < self.rate_429:
            return "429"
        if x < self.rate_429 + self.rate_5xx:
            return "5xx"
        if x < self.rate_429 + self.rate_5xx + self.rate_slow:
            return "slow"
        return None


def _shape(server: FakeServer, vendor: str, latency: dict[str, float], faults: Faults) -> None:
    """Wrap a fake server's routing: a latency per route name and the injected faults (vendor error shapes)."""
    inner = server._reply

    def reply(req: Request) -> Reply:
        name = next((n for n, m, rx, _ in server.routes if m == req.method and rx.match(req.path)), "")
        kind = faults.draw() if name in latency else None
        if kind is not None:
            with faults._lock:
                faults.injected[f"{vendor} {kind}"] += 1
        if kind == "429":
            body: Any = (
                {"detail": "Request was throttled. Your rate limit resets in ~1s."}
                if vendor == "replicate"
                else {
                    "error": {
                        "message": "Rate limit reached",
                        "type": "requests",
                        "code": "rate_limit_exceeded",
                    }
                }
                if vendor == "openai"
                else {"success": False, "error": "Rate limit exceeded"}
            )
            return Reply(429, body, headers={"retry-after": "1"})
        if kind == "5xx":
            return Reply(503, {"error": {"message": "upstream unavailable", "type": "server_error"}})
        time.sleep(latency.get(name, 0.0) + (faults.slow_s if kind == "slow" else 0.0))
        return inner(req)

    server._reply = reply  # type: ignore[method-assign]


@dataclass
class Sim:
    """A started simulation: the fakes, the machine ARN and the counters."""

    openai: FakeOpenAI
    replicate: FakeReplicate
    firecrawl: FakeFirecrawl
    machine_arn: str
    calls: Counter  # (service, operation) -> count, every boto3 call the handlers made
    faults: Faults
    lambda_calls: list  # (function name, event) per Lambda invocation
    writes: Counter = field(default_factory=Counter)  # S3 key -> PutObject count
    queue: str = ""  # the SQS queue PreviewReady events land in

    def options(self, preset: str, **over: Any) -> dict[str, Any]:
        """Run options with every stage on its cloud provider, pointed at the fakes."""
        opts: dict[str, Any] = {
            "preset": preset,
            "transcription": {"provider": "openai", "max_retries": 3, "timeout_s": 20},
            "llm": {"provider": "openai", "max_retries": 3, "timeout_s": 20},
            "image_generation": {"provider": "replicate", "max_retries": 3},
            "virality": {
                "provider": "firecrawl",
                "forums": FORUMS,
                "topic_subreddits": False,
                "firecrawl_api_url": self.firecrawl.url,
                "hn_api_url": f"{self.firecrawl.url}/api/v1",
                "reddit_base_url": self.firecrawl.url,
                "time_budget_s": 8.0,
                "request_timeout_s": 5.0,
            },
        }
        for section, values in over.items():
            opts.setdefault(section, {}).update(values)
        return opts


IN_HANDLER = threading.local()  # set while a Lambda handler runs: only its boto3 calls are counted


def _count_calls(calls: Counter, writes: Counter) -> Any:
    lock = threading.Lock()

    def before(params: Any, model: Any, **_: Any) -> None:
        if not getattr(IN_HANDLER, "on", False):
            return
        service = model.service_model.service_name
        with lock:
            calls[(service, model.name)] += 1
            if service == "s3" and model.name == "PutObject":
                writes[params.get("Key", "")] += 1

    return before


def _carrying(submit: Any) -> Any:
    """ThreadPoolExecutor.submit that carries the caller's IN_HANDLER mark to the worker thread (boto3's
    managed copies and the providers' pools run a handler's calls on other threads)."""

    def wrapped(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        on = getattr(IN_HANDLER, "on", False)

        def run() -> Any:
            IN_HANDLER.on = on
            try:
                return fn(*args, **kwargs)
            finally:
                IN_HANDLER.on = False

        return submit(self, run)

    return wrapped


def _counted(resolve: Any) -> Any:
    """testkit.aws.resolve, its handlers marked as running (for the call counter)."""

    def wrapped(target: str) -> Any:
        fn = resolve(target)

        def run(event: Any, context: Any) -> Any:
            IN_HANDLER.on = True
            try:
                return fn(event, context)
            finally:
                IN_HANDLER.on = False

        return run

    return wrapped


@contextmanager
def simulation(*, scale: float = 0.05, faults: Faults | None = None) -> Iterator[Sim]:
    """Everything up: env, fake vendors at SEED_LATENCY_S x scale, moto with the stack's resources."""
    import logging

    from storyreel.services.intake.step import start_upload_once
    from storyreel.shared.aws.env import reset_clients
    from storyreel.shared.aws.stores import create_table

    import testkit.aws as kit

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    faults = faults or Faults()
    mp = MonkeyPatch()
    for k in [k for k in os.environ if k.startswith("STORYREEL_") and "__" in k]:
        mp.delenv(k)
    for k, v in {**AWS_ENV, "STORYREEL_BUCKET": kit.BUCKET, "STORYREEL_TABLE": kit.TABLE}.items():
        mp.setenv(k, v)
    mp.setenv("EVENT_BUS_NAME", kit.BUS)
    web = FakeWeb(latency_s=0.0)
    for forum in FORUMS:
        web.add(make_threads(forum, 6, topic="coffee roastery video"))
    lat = {k: v * scale for k, v in SEED_LATENCY_S.items()}
    with FakeOpenAI() as oai, FakeReplicate(latency=lat["image"]) as rep, FakeFirecrawl(web) as fc:
        oai.default_chat = planning_reply
        _shape(oai, "openai", {"transcriptions": lat["transcribe"], "chat": lat["chat"]}, faults)
        _shape(rep, "replicate", {"create-model": 0.0, "create-version": 0.0}, faults)
        _shape(fc, "firecrawl", {"search": lat["forum"], "scrape": lat["forum"]}, faults)
        for k, v in {
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": oai.base_url,
            "REPLICATE_API_TOKEN": "r8_bench",
            "REPLICATE_BASE_URL": rep.url,
            "REPLICATE_POLL_INTERVAL": str(max(0.02, lat["image"] / 4)),
            "FIRECRAWL_API_KEY": "fc-bench",
            "FIRECRAWL_API_URL": fc.url,
        }.items():
            mp.setenv(k, v)
        calls: Counter = Counter()
        writes: Counter = Counter()
        lambda_calls: list = []
        hook = _count_calls(calls, writes)
        try:
            with mock_aws(config=kit.MOTO_CONFIG):
                boto3.client("s3", region_name=kit.REGION).create_bucket(Bucket=kit.BUCKET)
                create_table(boto3.client("dynamodb", region_name=kit.REGION), kit.TABLE)
                boto3.client("events", region_name=kit.REGION).create_event_bus(Name=kit.BUS)
                reset_clients()
                start_upload_once.cache_clear()
                kit.atomic_dynamodb(mp)  # DynamoDB's atomic conditional writes (moto's are not: testkit.aws)
                mp.setattr(kit, "resolve", _counted(kit.resolve))
                mp.setattr(futures.ThreadPoolExecutor, "submit", _carrying(futures.ThreadPoolExecutor.submit))
                kit.install_lambda_bridge(mp, calls=lambda_calls)
                arns = kit.create_functions([name for name, _ in kit.FUNCTIONS.values()])
                arn = kit.create_state_machine(stretch_timeouts(kit.substituted_definition(arns)))
                mp.setenv("STATE_MACHINE_ARN", arn)
                # PreviewReady -> a queue (EventBridge's rule; the bench hands each event to RenderRest)
                sqs = boto3.client("sqs", region_name=kit.REGION)
                queue = sqs.create_queue(QueueName="preview-ready")["QueueUrl"]
                qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"
                ]
                ev = boto3.client("events", region_name=kit.REGION)
                ev.put_rule(
                    Name="preview",
                    EventBusName=kit.BUS,
                    EventPattern=json.dumps({"detail-type": ["PreviewReady"]}),
                )
                ev.put_targets(Rule="preview", EventBusName=kit.BUS, Targets=[{"Id": "q", "Arn": qarn}])
                reset_clients()
                # count from here on: the handlers' calls (the setup above is not a run's)
                boto3.DEFAULT_SESSION = None
                boto3.setup_default_session(region_name=kit.REGION)
                assert boto3.DEFAULT_SESSION is not None
                boto3.DEFAULT_SESSION.events.register("before-parameter-build.*.*", hook)
                reset_clients()
                yield Sim(oai, rep, fc, arn, calls, faults, lambda_calls, writes, queue)
        finally:
            reset_clients()
            start_upload_once.cache_clear()
            mp.undo()


def upload(key: str, opts: dict[str, Any], body: bytes) -> None:
    """Put the audio where the bucket's upload prefix is (what a client or the API's presigned PUT does)."""
    import testkit.aws as kit

    boto3.client("s3", region_name=kit.REGION).put_object(
        Bucket=kit.BUCKET, Key=key, Body=body, Metadata={"options": json.dumps(opts)}
    )


def deliver(key: str) -> dict[str, Any]:
    """The S3 Object Created event for `key`, delivered to the intake Lambda (what EventBridge does)."""
    from storyreel.services.intake.handler import handler as intake_handler

    import testkit.aws as kit

    etag = (
        boto3.client("s3", region_name=kit.REGION).head_object(Bucket=kit.BUCKET, Key=key)["ETag"].strip('"')
    )
    IN_HANDLER.on = True
    try:
        return intake_handler(kit.upload_event(key, etag=etag), kit.FakeLambdaContext("storyreel-intake"))
    finally:
        IN_HANDLER.on = False


# The Lambda bridge runs one invocation at a time (testkit.aws.install_lambda_bridge: one in-process sandbox),
# so under 50 concurrent runs a task's time includes its wait for every other run's invocations; AWS runs them
# side by side. A 50-run load test saw 10 executions end at a task's TimeoutSeconds that way (and moto's Map
# then failed them with States.Runtime instead of the States.Timeout the ASL catches). The bench stretches
# every task's TimeoutSeconds by this factor: its checks are the end states and counts under vendor faults,
# which the clients' own timeouts (2 s, the `slow` fault) exercise, not the state machine's task timeouts.
SANDBOX_TIMEOUT_STRETCH = 20


def stretch_timeouts(definition: str, factor: int = SANDBOX_TIMEOUT_STRETCH) -> str:
    """The ASL with every TimeoutSeconds and HeartbeatSeconds multiplied by `factor`."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: v * factor
                if k in ("TimeoutSeconds", "HeartbeatSeconds") and isinstance(v, int)
                else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return json.dumps(walk(json.loads(definition)))


def executions(arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    out: list[dict[str, Any]] = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        out.extend(page["executions"])
    return out


def history(execution_arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def transitions(events: list[dict[str, Any]]) -> int:
    """State transitions as Step Functions bills them: one per state entered (Map iterations included)."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def speech(text: str) -> bytes:
    """A spoken brief (espeak-ng), so the real audio checks pass."""
    import shutil
    import subprocess
    import tempfile

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is not installed: make sysdeps")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "brief.wav"
        subprocess.run([exe, "-s", "170", "-w", str(out), text], check=True, capture_output=True)
        return out.read_bytes()


def render_rest_pending() -> list[dict[str, Any]]:
    """Hand every PreviewReady event waiting in the queue to the RenderRest Lambda (what EventBridge does);
    returns the handler's answers."""
    from storyreel.services.intake.handler import render_rest_handler

    import testkit.aws as kit

    sqs = boto3.client("sqs", region_name=kit.REGION)
    url = sqs.get_queue_url(QueueName="preview-ready")["QueueUrl"]
    out: list[dict[str, Any]] = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        for msg in msgs:
            sent = json.loads(msg["Body"])
            event = {
                "version": "0",
                "id": sent["id"],
                "detail-type": sent["detail-type"],
                "source": sent["source"],
                "account": kit.ACCOUNT,
                "time": "2026-12-03T00:00:00Z",
                "region": kit.REGION,
                "resources": [],
                "detail": sent["detail"],
            }
            IN_HANDLER.on = True
            try:
                out.append(render_rest_handler(event, kit.FakeLambdaContext("storyreel-render-rest")))
            finally:
                IN_HANDLER.on = False
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
