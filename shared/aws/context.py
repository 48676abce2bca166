"""A stage Lambda's run: its settings (resolved once, when the run is created, and stored in its record), its
provider keys, the RunContext over S3 and DynamoDB, and the timing of each stage.

A run's settings are resolved when it is created (embedded defaults < preset < environment < the caller's
options) and stored in its record; every stage reloads them with `load_settings` from the environment merged
with the stored options, so a run keeps the settings it started with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import storyreel.shared.errors as shared_errors
from aws_lambda_powertools.metrics import MetricUnit
from storyreel.shared.aws.env import Env, blobs, state
from storyreel.shared.aws.observability import logger, metrics
from storyreel.shared.contracts import RunRecord, StageTiming, utcnow
from storyreel.shared.errors import ConfigError, StoryreelError
from storyreel.shared.pipeline import RunContext
from storyreel.shared.settings import PRESETS, Settings, load_settings, validate_settings


def load_secrets() -> list[str]:
    """The provider keys the stack grants this function, via the one loader (shared/secrets.py). A secret that
    cannot be read is logged and skipped: only the provider that needs it fails, naming its variable."""
    from storyreel.shared.secrets import load_provider_keys

    return load_provider_keys(
        on_unreadable=lambda message: logger.warning("provider key not loaded: " + message)
    )


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
    )
    return ctx, record


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
