"""Generate the JSON Schema of storyboard.json from the models: `python -m storyreel.shared.schema` (make schema).

The generated file is shipped in shared/schema/ and a test fails when it drifts from the models.
"""

from __future__ import annotations

import json
from pathlib import Path

from storyreel.shared.contracts import Storyboard

SCHEMA_PATH = Path(__file__).parent / "schema" / "storyboard.schema.json"


def storyboard_schema() -> dict:
    schema = Storyboard.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://storyreel.dev/schema/storyboard.schema.json"
    return schema


def render() -> str:
    return json.dumps(storyboard_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(render())
    print(f"wrote {SCHEMA_PATH}")
