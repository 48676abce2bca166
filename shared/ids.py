"""The two ids a user sees: a run id and a frame id. One format each, locally and in the cloud.

run id    20261125-141530-3f9a1c: UTC time, then 3 random bytes. Sortable, readable in the Step Functions
          console, and its execution name (so the pattern is also what Step Functions allows).
frame id  s3-end: the scene's 1-based index and the keyframe's role (start or end).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Annotated, Literal

from pydantic import Field

# A run id is also its Step Functions execution name: one rule for events, the API path, intake and the CLI.
RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
RunIdStr = Annotated[str, Field(pattern=RUN_ID_PATTERN)]

Role = Literal["start", "end"]
ROLES: tuple[Role, ...] = ("start", "end")
FRAME_ID_PATTERN = r"^s([1-9][0-9]{0,2})-(start|end)$"
_FRAME_ID = re.compile(FRAME_ID_PATTERN)


def new_run_id() -> str:
    """A new run's id: 20261125-141530-3f9a1c."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def frame_id(scene_index: int, role: Role | str) -> str:
    return f"s{scene_index}-{role}"


def parse_frame_id(fid: str) -> tuple[int, Role]:
    """ "s3-end" -> (3, "end"). Anything else is a ValueError naming the id and the form it should have."""
    match = _FRAME_ID.match(fid)
    if match is None:
        raise ValueError(f"{fid!r} is not a frame id (s<scene>-start or s<scene>-end, e.g. s1-start)")
    return int(match.group(1)), "start" if match.group(2) == "start" else "end"


def scene_of(fid: str) -> str:
    """ "s3-end" -> "s3": the scene a frame belongs to."""
    return f"s{parse_frame_id(fid)[0]}"


def group_by_scene(frame_ids: list[str]) -> list[list[str]]:
    """Frames grouped by scene, in the order given: a scene's end frame renders after (and from) its start."""
    groups: dict[str, list[str]] = {}
    for fid in frame_ids:
        groups.setdefault(scene_of(fid), []).append(fid)
    return list(groups.values())
