from __future__ import annotations

import json

from storyreel.shared.schema import SCHEMA_PATH, render


def test_shipped_schema_matches_the_models() -> None:
    assert SCHEMA_PATH.read_text() == render(), "run `make schema` and commit shared/schema/"


def test_schema_names_the_seed_fields() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    ctx = schema["$defs"]["CreativeContext"]["properties"]
    for name in (
        "intent",
        "vibe",
        "content_style",
        "target_audience",
        "visual_elements",
        "color_palette",
        "sound_preferences",
        "keywords",
    ):
        assert name in ctx
    scene = schema["$defs"]["Scene"]["properties"]
    assert {"start_frame", "end_frame", "transition", "duration", "description"} <= set(scene)
