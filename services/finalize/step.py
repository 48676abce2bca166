"""Finalize: storyboard.json and index.html from the run's blobs, and the rule that a failed run never looks
complete. The local runner and the Finalize/Fail Lambdas both come here.

`finalize` runs at the end of a run and again whenever frames land later (background render, `storyreel
images`), so the page and the JSON always show the frames as they are.
"""

from __future__ import annotations

import json
import time
from typing import Any

from storyreel.services.finalize.page import render_html
from storyreel.services.finalize.storyboard import apply_board, assemble
from storyreel.shared.contracts import RunError, RunRecord, RunStatus, StageTiming, Storyboard, utcnow
from storyreel.shared.errors import ConflictError
from storyreel.shared.pipeline import INDEX_HTML, STORYBOARD, RunContext
from storyreel.shared.stores import BlobStore, put_model


def finalize(ctx: RunContext, record: RunRecord) -> Storyboard:
    """Write storyboard.json and index.html for the run as its blobs are now."""
    board = assemble(ctx, record)
    put_model(ctx.blobs, ctx.key(STORYBOARD), board)
    ctx.blobs.put_bytes(ctx.key(INDEX_HTML), render_html(board).encode(), "text/html; charset=utf-8")
    return board


def withdraw(blobs: BlobStore, run_id: str) -> None:
    """A failed run must not look complete: drop the storyboard and page a preview or an earlier attempt wrote.
    The one place this rule lives (the local runner and the Fail Lambda call it)."""
    for name in (STORYBOARD, INDEX_HTML):
        blobs.delete(f"{run_id}/{name}")  # deleting nothing is not an error (files and S3 alike)


def mark_failed(record: RunRecord, stage: str, message: str, kind: str) -> RunRecord:
    """The run failed in `stage`: its status and reason (the caller saves it and withdraws the page)."""
    record.status = RunStatus.failed
    record.error = RunError(stage=stage, message=message[:2000], kind=kind)
    return record


def complete(ctx: RunContext, record: RunRecord, mode: str) -> Storyboard:
    """The cloud's last state: the run succeeded, its storyboard written (again, after a background render)."""
    if record.status not in (RunStatus.running, RunStatus.succeeded):  # succeeded: a retry of this state
        raise ConflictError(f"run {record.run_id} is {record.status.value}, cannot finalize it")
    expected = record.status
    t0 = time.perf_counter()
    record.status = RunStatus.succeeded
    if not ctx.settings.images_enabled:  # the state machine's "Images skipped" Pass state runs no Lambda
        record.stages["images"] = StageTiming(status="skipped", seconds=0.0, detail="skip_image_generation")
    rest = record.stages.get("render_rest")
    if mode == "render" and rest is not None and rest.started_at is not None:
        seconds = round((utcnow() - rest.started_at).total_seconds(), 3)
        record.stages["render_rest"] = rest.model_copy(update={"status": "succeeded", "seconds": seconds})
    record.stages["finalize"] = StageTiming(status="succeeded", started_at=utcnow())
    board = finalize(ctx, record)  # folds usage/<stage>.json into the board; apply_board copies it over
    record.stages["finalize"].seconds = round(time.perf_counter() - t0, 3)
    apply_board(record, board)
    ctx.state.save(record, expect_status=expected)
    return board


def catch_cause(error: dict[str, Any]) -> tuple[str, str]:
    """(error type, message) from a Catch's {Error, Cause}; a Lambda's Cause is its JSON error payload."""
    name = str(error.get("Error") or "States.TaskFailed")
    cause = error.get("Cause") or ""
    try:
        body = json.loads(cause) if isinstance(cause, str) and cause.startswith("{") else None
    except json.JSONDecodeError:
        body = None
    if isinstance(body, dict) and "errorMessage" in body:
        return str(body.get("errorType") or name), str(body["errorMessage"])
    return name, str(cause or name)


def failed_stage(record: RunRecord) -> str:
    """The stage a failed execution stopped in: it marked itself failed (shared.aws.context.stage); one killed
    by a timeout is still running."""
    by_status = {t.status: name for name, t in record.stages.items()}
    return by_status.get("failed") or by_status.get("running") or "unknown"
