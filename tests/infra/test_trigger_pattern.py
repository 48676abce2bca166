"""The upload rule's pattern file, substituted as the stack does, against a real S3 "Object Created" event.

Matched with moto's EventBridge pattern engine (the one its rules use to deliver events; moto 5.2's
TestEventPattern API is a stub that returns nothing)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from moto.events.models import EventPattern

from infra.constructs.trigger import UPLOAD_PATTERN_FILE, pattern_dict

EVENT = json.loads((Path(__file__).resolve().parent / "s3_object_created.json").read_text())
BUCKET = EVENT["detail"]["bucket"]["name"]


def pattern_for(bucket: str) -> str:
    """What the stack puts on the rule (trigger.py), with the bucket name resolved."""
    pattern = pattern_dict(
        UPLOAD_PATTERN_FILE, {"BucketName": bucket}, require_detail={"bucket": {"name": [bucket]}}
    )
    return json.dumps(pattern)


def event_with(**changes) -> dict:
    event = copy.deepcopy(EVENT)
    for path, value in changes.items():
        node = event
        *parents, leaf = path.split("__")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return event


@pytest.mark.parametrize(
    ("event", "matches"),
    [
        (EVENT, True),
        (event_with(detail__object__key="runs/abc/frames/s1-start.png"), False),  # our own outputs
        (event_with(detail__bucket__name="someone-elses-bucket"), False),
        (event_with(**{"detail-type": "Object Deleted"}), False),
    ],
)
def test_upload_pattern_matches_only_new_uploads_on_our_bucket(event, matches):
    assert EventPattern.load(pattern_for(BUCKET)).matches_event(event) is matches
