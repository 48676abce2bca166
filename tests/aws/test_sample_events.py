"""The SAM sample events in events/ (used by `make sam-invoke STAGE=<FunctionId>`) stay valid: each parses with
its handler's event model, and the API samples go through the API handler."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from storyreel.services.finalize.handler import FailEvent
from storyreel.services.intake.handler import PreviewReadyEvent
from storyreel.shared.aws.events import FinalizeEvent, ImagesEvent, StageEvent, TranscribeEvent

from testkit.aws import ROOT, FakeLambdaContext

EVENTS = ROOT / "events"
MODELS = {
    "transcribe": TranscribeEvent,
    "context": StageEvent,
    "choose": StageEvent,
    "scenes": StageEvent,
    "images": ImagesEvent,
    "virality": StageEvent,
    "learn": StageEvent,
    "finalize": FinalizeEvent,
    "fail": FailEvent,
    "intake": S3EventNotificationEventBridgeModel,
    "renderrest": PreviewReadyEvent,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_stage_sample_events_parse(name):
    MODELS[name].model_validate(json.loads((EVENTS / f"{name}.json").read_text()))


@pytest.mark.parametrize("path", sorted(EVENTS.glob("api*.json")), ids=lambda p: p.stem)
def test_api_sample_events_are_answered(aws, path):
    from storyreel.services.api.handler import handler

    out = handler(json.loads(path.read_text()), FakeLambdaContext("storyreel-api"))
    # the sample run does not exist in a fresh account: 404 for the run routes, 2xx for the rest
    assert out["statusCode"] in ((201,) if path.stem == "api" else (200,) if "list" in path.stem else (404,))
