"""moto fixtures for the AWS runtime tests: one bucket, one single-table DynamoDB table, env like in Lambda."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from storyreel.services.intake.step import start_upload_once as _start_upload_once
from storyreel.shared.aws.env import reset_clients
from storyreel.shared.aws.events import PREVIEW_READY
from storyreel.shared.aws.stores import create_table

from testkit.aws import (
    BUCKET,
    BUS,
    FUNCTIONS,
    MOTO_CONFIG,
    REGION,
    TABLE,
    create_functions,
    create_state_machine,
    install_fakes,
    install_lambda_bridge,
    substituted_definition,
)


@pytest.fixture
def aws_env(monkeypatch):
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
        "POWERTOOLS_DEV": "0",
        "AWS_LAMBDA_FUNCTION_NAME": "storyreel-test",
    }.items():
        monkeypatch.setenv(name, value)
    for name in list(__import__("os").environ):
        if name.startswith("STORYREEL_") and "__" in name:
            monkeypatch.delenv(name)


@pytest.fixture
def aws(aws_env):
    """A moto account with the bucket, the table and the event bus the stack creates."""
    with mock_aws(config=MOTO_CONFIG):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
        reset_clients()
        _start_upload_once.cache_clear()
        yield
        reset_clients()
        _start_upload_once.cache_clear()


@pytest.fixture
def machine(aws, monkeypatch):
    """Lambda functions + the state machine in moto, the bridge and the fakes installed."""
    calls: list = []
    install_fakes(monkeypatch)
    install_lambda_bridge(monkeypatch, calls=calls)
    arns = create_functions([name for name, _ in FUNCTIONS.values()])
    arn = create_state_machine(substituted_definition(arns))
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    # a rule that catches PreviewReady into a queue, to see the background render being asked for
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="preview-ready")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(
        Name="preview", EventBusName=BUS, EventPattern=json.dumps({"detail-type": [PREVIEW_READY]})
    )
    events.put_targets(Rule="preview", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
    return {"arn": arn, "calls": calls, "queue": queue}
