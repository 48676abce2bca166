"""What every Lambda handler shares: Powertools logger/tracer/metrics, the stores from the environment, a run's
context with its settings, and stage timings.

Environment (set by the CDK stack):
  STORYREEL_BUCKET    the bucket (uploads/ and runs/ prefixes)
  STORYREEL_TABLE     the single DynamoDB table (runs, policy, cache, idempotency records)
  STATE_MACHINE_ARN   the storyboard state machine (intake starts it)
  EVENT_BUS_NAME      where PreviewReady events go (finalize, the API)
  STORYREEL_*__*      settings overrides, e.g. STORYREEL_IMAGE_GENERATION__PROVIDER=replicate

A run's settings are resolved once, when the run is created (embedded defaults < preset < environment <
the caller's options) and stored in its record; every stage reloads them with `load_settings` from the
environment merged with the stored options, so a run keeps the settings it started with.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

import storyreel.shared.errors as shared_errors
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field
from storyreel.shared.aws_stores import DynamoStateStore, S3BlobStore
from storyreel.shared.contracts import RunRecord, StageTiming, group_by_scene, utcnow
from storyreel.shared.errors import ConfigError, StoryreelError
from storyreel.shared.pipeline import RunContext
from storyreel.shared.settings import PRESETS, Settings, load_settings, validate_settings

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "storyreel"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "storyreel"))


# --------------------------------------------------------------------------- tracing
# Nothing of the X-Ray SDK is imported at cold start; the handler's first invocation pays for it, once:
# - its recorder (aws_xray_sdk.core: asyncio and wrapt come with it) is built on the Tracer's first use, behind
#   _XRayOnFirstUse, the Tracer's provider;
# - the libraries are patched by patch_traced(), which every handler runs before its first event (lambda_entry)
#   and client() before making a client. Patching botocore imports botocore.client, patching httpx imports
#   httpx: at import time that was most of a handler's cold start (and boto3 is only imported for a client).
# Patch only what a function uses: every handler talks to AWS through botocore; only the stages that hold a
# vendor key (infra sets STORYREEL_TRACE_HTTP on them) make httpx calls. Patching before the first event
# keeps today's coverage: the httpx patch replaces httpx.Client, so it has to come before any SDK subclasses
# it (the providers import openai and co. inside the invocation), and every boto3 client, Powertools' own
# (Parameters, idempotency) included, makes its calls through the patched botocore.
_TRACED = ("botocore", "httpx") if os.environ.get("STORYREEL_TRACE_HTTP") == "1" else ("botocore",)


class _XRayOnFirstUse:
    """The Tracer's provider: the X-Ray SDK's global recorder, imported on first attribute access, set up as
    Powertools sets up its default provider (patch/patch_all through the SDK, subsegments streamed one by one).
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(_xray_recorder(), name)


@cache
def _xray_recorder() -> Any:
    from aws_xray_sdk.core import patch, patch_all, xray_recorder

    xray_recorder.patch = patch
    xray_recorder.patch_all = patch_all
    if not tracer.disabled:  # what Tracer._disable_xray_trace_batching does for its own X-Ray provider
        xray_recorder.configure(streaming_threshold=0)
    return xray_recorder


tracer = Tracer(
    service=os.environ.get("POWERTOOLS_SERVICE_NAME", "storyreel"),
    auto_patch=False,
    # Powertools types provider= as its BaseProvider ABC, yet its own default provider is the X-Ray SDK's
    # recorder, which is no BaseProvider either: the Tracer only calls the recorder's methods
    provider=_XRayOnFirstUse(),  # type: ignore[arg-type]
)


@cache
def patch_traced() -> None:
    """Patch _TRACED for X-Ray, once per sandbox (a no-op when tracing is disabled)."""
    tracer.patch(modules=_TRACED)


EVENT_SOURCE = "storyreel"
PREVIEW_READY = "PreviewReady"
RUN_PREFIX = "runs/"
UPLOAD_PREFIX = "uploads/"
API_UPLOAD_PREFIX = "uploads/api/"  # uploads/api/<run_id>/<file>: the upload of a run created by POST /runs

# Providers injected into every RunContext the handlers build (tests only; empty in Lambda).
OVERRIDES: dict[str, Any] = {}


# --------------------------------------------------------------------------- environment
@dataclass(frozen=True)
class Env:
    bucket: str
    table: str
    state_machine_arn: str | None
    event_bus_name: str | None

    @classmethod
    def load(cls) -> Env:
        missing = [n for n in ("STORYREEL_BUCKET", "STORYREEL_TABLE") if not os.environ.get(n)]
        if missing:
            raise ConfigError(f"environment variable(s) not set: {', '.join(missing)}")
        return cls(
            bucket=os.environ["STORYREEL_BUCKET"],
            table=os.environ["STORYREEL_TABLE"],
            state_machine_arn=os.environ.get("STATE_MACHINE_ARN") or None,
            event_bus_name=os.environ.get("EVENT_BUS_NAME") or None,
        )

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigError(f"environment variable {name.upper()} not set")
        return value


# Clients live for the life of the Lambda sandbox (created on first use, not at import: small cold starts).
@cache
def client(service: str) -> Any:
    import boto3  # from the runtime; its import (the bench's biggest baseline) is paid by the first client

    patch_traced()
    return boto3.client(service)


def blobs(env: Env | None = None) -> S3BlobStore:
    env = env or Env.load()
    return S3BlobStore(env.bucket, prefix=RUN_PREFIX, client=client("s3"))


def uploads(env: Env | None = None) -> S3BlobStore:
    env = env or Env.load()
    return S3BlobStore(env.bucket, prefix=UPLOAD_PREFIX, client=client("s3"))


def state(env: Env | None = None) -> DynamoStateStore:
    env = env or Env.load()
    return DynamoStateStore(env.table, client=client("dynamodb"))


def reset_clients() -> None:
    """Forget cached clients (tests switch moto accounts between cases)."""
    client.cache_clear()


def new_run_id() -> str:
    """Sortable and readable in the Step Functions console: 20261125-141530-3f9a1c."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


# --------------------------------------------------------------------------- secrets
def load_secrets() -> list[str]:
    """The provider keys the stack grants this function, via the one loader (shared/secrets.py). A secret that
    cannot be read is logged and skipped: only the provider that needs it fails, naming its variable."""
    from storyreel.shared.secrets import load_provider_keys

    return load_provider_keys(
        on_unreadable=lambda message: logger.warning("provider key not loaded: " + message)
    )


# --------------------------------------------------------------------------- settings and context
def resolve_settings(
    options: dict[str, Any] | None = None, preset: str | None = None, origin: str = "run options"
) -> Settings:
    """A new run's settings: defaults < preset < environment (STORYREEL_*) < the caller's options.
    An error names `origin` (the options' own layer is checked first)."""
    cli = dict(options or {})
    validate_settings(cli, origin)
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown preset '{preset}' (choose one of: {', '.join(PRESETS)})")
    if preset and "preset" not in cli:
        cli["preset"] = preset
    return load_settings(cli=cli, environ=os.environ)


def run_settings(record: RunRecord) -> Settings:
    """A running run's settings: the environment merged with the options stored at its creation."""
    return load_settings(cli=record.options, environ=os.environ)


def run_context(run_id: str, env: Env | None = None) -> tuple[RunContext, RunRecord]:
    env = env or Env.load()
    load_secrets()
    store = state(env)
    record = store.get(run_id)
    ctx = RunContext(
        run_id=run_id,
        settings=run_settings(record),
        blobs=blobs(env),
        state=store,
        overrides=dict(OVERRIDES),
    )
    return ctx, record


def image_mode(settings: Settings) -> str:
    """How the state machine renders this run's frames: skip, batch (one GPU job) or map (a Lambda per scene)."""
    if not settings.images_enabled:
        return "skip"
    return "batch" if settings.image_generation.provider == "batch" else "map"


def scene_items(run_id: str, frame_ids: list[str]) -> list[dict[str, Any]]:
    """Frames grouped by scene, in order: the state machine's Map items ({"run_id", "frames": [...]})."""
    return [{"run_id": run_id, "frames": group} for group in group_by_scene(frame_ids)]


def render_input(run_id: str, frame_ids: list[str], settings: Settings) -> dict[str, Any]:
    """The state machine's input for a background render of `frame_ids` (mode=render)."""
    return {
        "run_id": run_id,
        "mode": "render",
        "flags": {"images": "batch" if settings.image_generation.provider == "batch" else "map"},
        "scenes": {"items": scene_items(run_id, frame_ids), "frames": frame_ids},
    }


def execution_input(record: RunRecord, audio_key: str, settings: Settings) -> dict[str, Any]:
    """The state machine's input: run id, the audio's blob key and the flags its Choice states read."""
    return {
        "run_id": record.run_id,
        "mode": "run",
        "audio_key": audio_key,
        "flags": {
            "images": image_mode(settings),
            "virality_evidence": settings.pipeline.virality_evaluation,
        },
    }


# --------------------------------------------------------------------------- stage timings
@contextmanager
def stage(ctx: RunContext, name: str, detail: str = "") -> Iterator[StageTiming]:
    """Time a stage: `running` when it starts, `succeeded` or `failed` (with the error) when it ends, and a
    Powertools metric per stage (seconds, and a failure count)."""
    metric = name.split(".")[0]  # images.s1, images.s2, ...: one metric, "images"
    timing = StageTiming(status="running", started_at=utcnow(), detail=detail)
    ctx.state.record_stage(ctx.run_id, name, timing)  # one map entry: parallel Lambdas never clash
    t0 = time.perf_counter()
    try:
        yield timing
    except Exception as exc:
        timing.status, timing.seconds = "failed", round(time.perf_counter() - t0, 3)
        timing.detail = f"{type(exc).__name__}: {exc}"[:500]
        ctx.state.record_stage(ctx.run_id, name, timing)  # one map entry: parallel Lambdas never clash
        metrics.add_metric(name=f"{metric}_failed", unit=MetricUnit.Count, value=1)
        raise
    timing.status, timing.seconds = "succeeded", round(time.perf_counter() - t0, 3)
    ctx.state.record_stage(ctx.run_id, name, timing)  # one map entry: parallel Lambdas never clash
    metrics.add_metric(name=f"{metric}_seconds", unit=MetricUnit.Seconds, value=timing.seconds)


def error_kind(error_type: str) -> str:
    """The RunError kind for a Lambda errorType: our error classes carry it, anything else is internal."""
    cls = getattr(shared_errors, error_type, None)
    if isinstance(cls, type) and issubclass(cls, StoryreelError):
        return cls.kind
    return "internal"


# --------------------------------------------------------------------------- events
# A run id is also its Step Functions execution name: one rule for events, the API path and intake.
RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
RunIdStr = Annotated[str, Field(pattern=RUN_ID_PATTERN)]


class StageEvent(BaseModel):
    """What a stage Lambda gets from the state machine: ids and keys only."""

    model_config = ConfigDict(extra="ignore")

    run_id: RunIdStr


class TranscribeEvent(StageEvent):
    audio_key: str = Field(min_length=1, description="the audio's blob key, relative to runs/")


class FinalizeEvent(StageEvent):
    mode: Literal["run", "render"] = Field(default="run", description="render: after a background render")


class ImagesEvent(StageEvent):
    """One Map item: one scene's frames, e.g. {"run_id": "...", "frames": ["s1-start", "s1-end"]}."""

    frames: list[str] = Field(min_length=1, max_length=2)


def put_events(entries: list[dict[str, Any]], env: Env) -> None:
    bus = env.require("event_bus_name")
    resp = client("events").put_events(
        Entries=[{**e, "EventBusName": bus, "Source": EVENT_SOURCE} for e in entries]
    )
    if resp.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused {resp['FailedEntryCount']} event(s): {resp['Entries']}")


def preview_ready(run_id: str, frames: list[str], reason: str, env: Env) -> None:
    """Ask for the render of `frames` (the ones a preview left pending) in the background."""
    put_events(
        [
            {
                "DetailType": PREVIEW_READY,
                "Detail": json.dumps({"run_id": run_id, "frames": frames, "reason": reason}),
            }
        ],
        env,
    )


def lambda_entry(fn: Any) -> Any:
    """Powertools around a handler: structured logs with the Lambda context, an X-Ray segment, and the metrics
    flushed (EMF) when it returns. The X-Ray patches are applied before the first event (patch_traced)."""
    wrapped = logger.inject_lambda_context(tracer.capture_lambda_handler(metrics.log_metrics(fn)))

    @functools.wraps(wrapped)
    def entry(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        patch_traced()
        return wrapped(event, context, *args, **kwargs)

    return entry
