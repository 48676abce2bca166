"""What the state machine is started with: a run's input (its flags for the Choice states) and a background
render's input (the frames left, as Map items)."""

from __future__ import annotations

from typing import Any

from storyreel.shared.contracts import RunRecord
from storyreel.shared.errors import ConfigError
from storyreel.shared.ids import group_by_scene
from storyreel.shared.settings import Settings


def image_mode(settings: Settings) -> str:
    """How the state machine renders this run's frames: skip, batch (one GPU job) or map (a Lambda per scene)."""
    if not settings.images_enabled:
        return "skip"
    return "batch" if settings.image_generation.provider == "batch" else "map"


def clip_mode(settings: Settings) -> str:
    """How the state machine makes this run's clips: off, map (a Replicate prediction per scene, webhooked) or
    batch (one GPU job). diffusers is the local GPU path: in the cloud it is the batch provider."""
    provider = settings.clips.provider
    if provider == "diffusers":
        raise ConfigError("clips.provider diffusers runs on a local GPU; in the cloud use replicate or batch")
    return {"off": "off", "replicate": "map", "batch": "batch"}[provider]


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
            "clips": clip_mode(settings),
        },
    }
