"""testkit.aws.atomic_dynamodb: with it, concurrent conditional writes in moto lose nothing (DynamoDB's
behaviour), which the concurrent benches (bench/load.py) and the revision/policy tests rely on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from testkit import aws as kit

WRITERS = 8
PUTS = 120


def _counter_race(client) -> tuple[int, int]:
    """PUTS optimistic increments (read, then a conditional put; retry on a conflict) from WRITERS threads:
    (successful puts, the counter's final value)."""
    key = {"pk": {"S": "counter"}}

    def one(_: int) -> int:
        while True:
            item = client.get_item(TableName="t", Key=key, ConsistentRead=True).get("Item")
            seen = int(item["v"]["N"]) if item else 0
            try:
                client.put_item(
                    TableName="t",
                    Item={**key, "v": {"N": str(seen + 1)}},
                    ConditionExpression="attribute_not_exists(pk) OR v = :v",
                    ExpressionAttributeValues={":v": {"N": str(seen)}},
                )
                return 1
            except client.exceptions.ConditionalCheckFailedException:
                continue

    with ThreadPoolExecutor(WRITERS) as pool:
        done = sum(pool.map(one, range(PUTS)))
    final = int(client.get_item(TableName="t", Key=key, ConsistentRead=True)["Item"]["v"]["N"])
    return done, final


def test_conditional_writes_lose_nothing_with_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    kit.atomic_dynamodb(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=kit.REGION)
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert _counter_race(client) == (PUTS, PUTS)
