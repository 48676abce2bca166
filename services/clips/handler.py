"""Clips Lambdas (the state machine's optional clips branch, after images):

- plan_handler: {"run_id"} -> {"items": [{"run_id", "scene"}], "max": concurrency} (the Map's items)
- start_handler: one Map item + "task_token" ($$.Task.Token, `.waitForTaskToken`): creates the scene's
  prediction with a webhook to STORYREEL_CLIPS_WEBHOOK_URL and returns; the state waits for the webhook
- fail_handler: {"run_id", "scene" (None: every pending scene), "error": the Catch's {"Error", "Cause"}}:
  the clip is recorded failed with why (a timeout, a refused start); the run goes on
- webhook_handler: a Lambda function URL (POST): Replicate's signed delivery -> the output downloaded into
  clips/ (bounded), then SendTaskSuccess, or SendTaskFailure with the clip's reason; a progress event
  (start, logs) is a SendTaskHeartbeat
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field
from storyreel.services.clips import step as clips_step
from storyreel.services.clips.webhooks import BadWebhook, signing_secret, verify
from storyreel.shared.aws.context import load_secrets, run_context, stage
from storyreel.shared.aws.env import client, state
from storyreel.shared.aws.events import StageEvent
from storyreel.shared.aws.observability import lambda_entry, logger
from storyreel.shared.contracts import ClipStatus
from storyreel.shared.errors import ConfigError

WEBHOOK_URL_ENV = "STORYREEL_CLIPS_WEBHOOK_URL"
TERMINAL = ("succeeded", "failed", "canceled")


class ClipStartEvent(StageEvent):
    scene: int = Field(ge=1, le=10)
    task_token: str = Field(min_length=1, max_length=1024)


class ClipFailEvent(StageEvent):
    scene: int | None = Field(default=None, ge=1, le=10)
    error: dict[str, Any] = Field(default_factory=dict)


@lambda_entry
@event_parser(model=StageEvent)
def plan_handler(event: StageEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    with stage(
        ctx, "clips", detail=f"{ctx.settings.clips.provider} {ctx.settings.clips.model or ''}".strip()
    ):
        return clips_step.plan_cloud(ctx)


@lambda_entry
@event_parser(model=ClipStartEvent)
def start_handler(event: ClipStartEvent, context: LambdaContext) -> dict[str, Any]:
    url = os.environ.get(WEBHOOK_URL_ENV)
    if not url:
        raise ConfigError(f"environment variable {WEBHOOK_URL_ENV} not set (the clips webhook's URL)")
    ctx, _ = run_context(event.run_id)
    with stage(ctx, f"clips.s{event.scene}"):
        prediction = clips_step.start_cloud(ctx, event.scene, event.task_token, url)
    return {"run_id": event.run_id, "scene": event.scene, "prediction_id": prediction}


def catch_reason(error: dict[str, Any]) -> str:
    """One line from a Catch's {"Error", "Cause"} (a Lambda's cause is its JSON error)."""
    kind = str(error.get("Error") or "error")
    cause = error.get("Cause")
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except json.JSONDecodeError:
            parsed = cause
        if isinstance(parsed, dict):
            cause = parsed.get("errorMessage") or parsed.get("Cause") or json.dumps(parsed)[:300]
        else:
            cause = parsed
    if kind == "States.HeartbeatTimeout":
        return "no word from Replicate within the heartbeat interval (the clip was given up)"
    if kind == "States.Timeout":
        return "the clip did not finish within the state machine's timeout"
    if kind == "ClipFailed" and cause:
        return str(cause)[:500]
    return f"{kind}: {cause}"[:500] if cause else kind


@lambda_entry
@event_parser(model=ClipFailEvent)
def fail_handler(event: ClipFailEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    reason = catch_reason(event.error)
    marked = clips_step.record_failure(ctx, event.scene, reason)
    logger.warning("clip failed", extra={"run_id": event.run_id, "scenes": marked, "reason": reason})
    return {"run_id": event.run_id, "failed": marked}


def _answer(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"status": status, "message": message}),
    }


@lambda_entry
def webhook_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """POST from Replicate (a Lambda function URL event, payload 2.0)."""
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "POST")
    if method != "POST":
        return _answer(405, "POST only")
    query = event.get("queryStringParameters") or {}
    run_id, task = query.get("run_id"), query.get("task")
    if not run_id or not task:
        return _answer(400, "run_id and task are required query parameters")
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
    load_secrets()
    try:
        prediction = verify(body, event.get("headers") or {}, signing_secret())
    except BadWebhook as exc:
        logger.warning("webhook refused", extra={"run_id": run_id, "reason": str(exc)})
        return _answer(401, str(exc))
    entry = state().cache_get(clips_step.TASK_PREFIX + task)
    if entry is None or entry.get("run_id") != run_id:
        return _answer(404, "no clip task with that id (finished long ago, or never started)")
    if entry.get("prediction_id") not in (None, prediction["id"]):
        return _answer(409, "the delivery is for another prediction than this task's")
    sfn = client("stepfunctions")
    token = entry["task_token"]
    if prediction.get("status") not in TERMINAL:
        _send(sfn.send_task_heartbeat, taskToken=token)
        return _answer(200, "heartbeat")
    if entry.get("done"):
        return _answer(200, "already finished")  # Replicate delivers at least once
    ctx, _ = run_context(run_id)
    clip = clips_step.finish_cloud(ctx, int(entry["scene"]), prediction)
    state().cache_put(clips_step.TASK_PREFIX + task, {**entry, "done": True}, clips_step.TASK_TTL_S)
    if clip.status == ClipStatus.done:
        output = {"run_id": run_id, "scene": entry["scene"], "status": "done", "video_key": clip.video_key}
        _send(sfn.send_task_success, taskToken=token, output=json.dumps(output))
    else:
        _send(sfn.send_task_failure, taskToken=token, error="ClipFailed", cause=(clip.reason or "")[:32000])
    return _answer(200, clip.status.value)


def _send(call: Any, **kwargs: Any) -> None:
    """A Step Functions callback; a token already finished or timed out is logged, not an error (the clip's
    own record is already written)."""
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            logger.warning("task token no longer waiting", extra={"code": code})
            return
        raise
