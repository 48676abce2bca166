"""Powertools for every Lambda: the logger, the metrics, the X-Ray tracer (imported on first use) and
`lambda_entry`, the decorator around each handler."""

from __future__ import annotations

import functools
import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

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


def lambda_entry(fn: Any) -> Any:
    """Powertools around a handler: structured logs with the Lambda context, an X-Ray segment, and the metrics
    flushed (EMF) when it returns. The X-Ray patches are applied before the first event (patch_traced)."""
    wrapped = logger.inject_lambda_context(tracer.capture_lambda_handler(metrics.log_metrics(fn)))

    @functools.wraps(wrapped)
    def entry(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        patch_traced()
        return wrapped(event, context, *args, **kwargs)

    return entry
