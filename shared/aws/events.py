"""The events between the pieces: what a stage Lambda gets from the state machine, and what goes on the
EventBridge bus (PreviewReady: render the frames a preview left)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from storyreel.shared.aws.env import Env, client
from storyreel.shared.ids import RunIdStr

EVENT_SOURCE = "storyreel"
PREVIEW_READY = "PreviewReady"


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
