"""The clips branch of the real ASL in moto's interpreter: skipped when clips are off; on, a Map of
`.waitForTaskToken` tasks, each prediction created on the fake Replicate with a webhook, the fake's signed
delivery reaching the real webhook handler (through a local HTTP bridge standing in for the function URL),
which downloads the clip to S3 and calls SendTaskSuccess / SendTaskFailure on moto. A failed clip does not
fail the run."""

from __future__ import annotations

import base64
import json
import threading
import time

import boto3
import pytest
from moto import mock_aws
from storyreel.services.clips.webhooks import signing_secret
from storyreel.services.intake.step import start_upload_once
from storyreel.shared.aws.env import reset_clients, state
from storyreel.shared.aws.stores import create_table
from storyreel.shared.contracts import ClipStatus, RunStatus, Storyboard

from testkit.aws import (
    BUCKET,
    BUS,
    FUNCTIONS,
    MOTO_CONFIG,
    REGION,
    TABLE,
    FakeLambdaContext,
    blob,
    create_functions,
    create_state_machine,
    install_fakes,
    install_lambda_bridge,
    start_run,
    substituted_definition,
    wait,
)
from testkit.vendors.replicate import FakeReplicate
from testkit.vendors.server import FakeServer, Reply


class WebhookBridge(FakeServer):
    """Stands in for the webhook Lambda's function URL: each POST becomes a function URL event (payload 2.0)
    for the real handler, in-process (inside the same moto account)."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[dict] = []
        self._one_at_a_time = threading.Lock()  # one Lambda sandbox
        self.route("POST", "/", self._invoke, "webhook")

    def _invoke(self, req, m) -> Reply:
        from storyreel.services.clips.handler import webhook_handler

        event = {
            "version": "2.0",
            "rawPath": "/",
            "headers": req.headers,
            "queryStringParameters": {k: v[0] for k, v in req.query.items()},
            "requestContext": {"http": {"method": "POST", "path": "/"}},
            "body": base64.b64encode(req.body).decode(),
            "isBase64Encoded": True,
        }
        with self._one_at_a_time:
            answer = webhook_handler(event, FakeLambdaContext("storyreel-clipswebhook"))
        self.answers.append(answer)
        return Reply(answer["statusCode"], json.loads(answer["body"]))


@pytest.fixture
def clips_machine(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STORYREEL_BUCKET": BUCKET,
        "STORYREEL_TABLE": TABLE,
        "EVENT_BUS_NAME": BUS,
        "POWERTOOLS_SERVICE_NAME": "storyreel",
        "POWERTOOLS_METRICS_NAMESPACE": "storyreel-test",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "storyreel-test",
        "REPLICATE_API_TOKEN": "r8_test_token",
        "REPLICATE_POLL_INTERVAL": "0.02",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws(config=MOTO_CONFIG), FakeReplicate(latency=0.2) as replicate, WebhookBridge() as bridge:
        monkeypatch.setenv("REPLICATE_BASE_URL", replicate.url)
        monkeypatch.setenv("STORYREEL_CLIPS_WEBHOOK_URL", bridge.url + "/")
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
        reset_clients()
        start_upload_once.cache_clear()
        signing_secret.cache_clear()
        calls: list = []
        install_fakes(monkeypatch)
        install_lambda_bridge(monkeypatch, calls=calls)
        arns = create_functions([name for name, _ in FUNCTIONS.values()])
        monkeypatch.setenv("STATE_MACHINE_ARN", create_state_machine(substituted_definition(arns)))
        yield {"replicate": replicate, "bridge": bridge, "calls": calls}
        reset_clients()
        start_upload_once.cache_clear()
        signing_secret.cache_clear()


OPTIONS = {"pipeline": {"scenes": 3, "limit_images": None, "virality_evaluation": False}}


def test_the_clips_branch_is_skipped_when_clips_are_off(clips_machine):
    run_id = start_run(OPTIONS)
    done = wait(run_id)
    assert done["status"] == "SUCCEEDED"
    assert "Make clips?" in done["entered"] and "Plan clips" not in done["entered"]
    assert not clips_machine["replicate"].requests
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert all(s.clip is None for s in board.scenes)


def test_clips_on_make_one_webhooked_prediction_per_scene(clips_machine):
    opts = {**OPTIONS, "clips": {"provider": "replicate", "model": "google/veo-3.1", "max_concurrency": 2}}
    run_id = start_run(opts)
    done = wait(run_id, timeout=90)
    assert done["status"] == "SUCCEEDED", done
    entered = done["entered"]
    assert entered.count("Start scene clip") == 3 and "Record clip failure" not in entered
    assert entered.index("Make clips per scene") < entered.index("Finalize storyboard")

    replicate = clips_machine["replicate"]
    creates = replicate.matching("POST", "/v1/models/google/veo-3.1/predictions")
    assert len(creates) == 3
    for create in creates:
        hook = create.json["webhook"]
        assert hook.startswith(clips_machine["bridge"].url) and "task=" in hook
        assert "Task.Token" not in hook and len(hook) < 300  # the token is not in the URL
        assert "completed" in create.json["webhook_events_filter"]
    completed = [d for d in replicate.webhook_deliveries if d["event"] == "completed"]
    assert sorted(d["status"] for d in completed) == [200, 200, 200]

    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert [s.clip.status for s in board.scenes] == [ClipStatus.done] * 3
    assert board.scenes[0].clip.video_key == "clips/s1.mp4"
    assert blob(run_id, "clips/s1.mp4")[4:8] == b"ftyp"
    assert board.scenes[0].clip.cost_usd == pytest.approx(0.40 * board.scenes[0].clip.seconds)
    assert state().get(run_id).status == RunStatus.succeeded


def test_a_failed_clip_does_not_fail_the_run(clips_machine):
    clips_machine["replicate"].fail_prompts["scene 2 of"] = "the model refused the keyframes"
    opts = {**OPTIONS, "clips": {"provider": "replicate"}}
    run_id = start_run(opts)
    done = wait(run_id, timeout=90)
    assert done["status"] == "SUCCEEDED", done
    assert done["entered"].count("Record clip failure") == 1
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert [s.clip.status for s in board.scenes] == [ClipStatus.done, ClipStatus.failed, ClipStatus.done]
    assert board.scenes[1].clip.reason == "the model failed: the model refused the keyframes"
    assert board.status == RunStatus.succeeded


def test_a_forged_webhook_is_refused_and_the_genuine_one_finishes_the_clip(clips_machine):
    replicate = clips_machine["replicate"]
    replicate.never_finish = True  # only the start events go out by themselves
    run_id = start_run(
        {**OPTIONS, "pipeline": {**OPTIONS["pipeline"], "scenes": 3}, "clips": {"provider": "replicate"}}
    )
    deadline = time.monotonic() + 60
    while len(replicate.webhooks) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(replicate.webhooks) == 3
    time.sleep(0.3)  # the tasks' tokens are recorded with their prediction ids
    replicate.never_finish = False
    pid, url = next(iter(replicate.webhooks.items()))
    wrong = "whsec_" + base64.b64encode(b"not-the-account-secret").decode()
    assert replicate.deliver(pid, url, "completed", secret=wrong) == 401
    assert replicate.deliver(pid, url.replace("task=", "task=x"), "completed") == 404
    for pid, url in replicate.webhooks.items():
        assert replicate.deliver(pid, url, "completed") == 200
    assert replicate.deliver(pid, url, "completed") == 200  # at least once: a repeat changes nothing
    done = wait(run_id, timeout=90)
    assert done["status"] == "SUCCEEDED"
    board = Storyboard.model_validate_json(blob(run_id, "storyboard.json"))
    assert [s.clip.status for s in board.scenes] == [ClipStatus.done] * 3
