"""Write the OpenAPI document generated from the API resolver: `python -m storyreel.services.api.openapi [path]`.

The committed copy (services/api/openapi.json) is checked against a fresh one in tests (drift fails CI)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

DOCUMENT = Path(__file__).with_name("openapi.json")


def render() -> str:
    from storyreel.services.api.handler import openapi_json

    return json.dumps(json.loads(openapi_json()), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DOCUMENT
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
