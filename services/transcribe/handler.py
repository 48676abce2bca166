"""Transcribe Lambda: {"run_id", "audio_key"} -> transcript.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from storyreel.services.transcribe import step as transcribe_step
from storyreel.shared.aws.context import run_context, stage
from storyreel.shared.aws.events import TranscribeEvent
from storyreel.shared.aws.observability import lambda_entry


@lambda_entry
@event_parser(model=TranscribeEvent)
def handler(event: TranscribeEvent, context: LambdaContext) -> dict[str, Any]:
    ctx, _ = run_context(event.run_id)
    with stage(ctx, "transcribe") as timing:
        transcript = transcribe_step.run(ctx, event.audio_key)
        timing.detail = transcribe_step.describe(transcript)  # on the run record, as the local runner puts it
        if transcript.audio_warning is not None:
            timing.detail += f"; {transcript.audio_warning.message}"
    return {"run_id": event.run_id, "duration_s": transcript.duration_s, "segments": len(transcript.segments)}
