"""moto fixtures for the AWS runtime tests: one bucket, one single-table DynamoDB table, env like in Lambda."""

from __future__ import annotations

import boto3
import pytest
from aws_testkit import BUCKET, BUS, MOTO_CONFIG, REGION, TABLE
from moto import mock_aws

from shared.aws_stores import create_table


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
        yield
