"""IAM least privilege: each Lambda role only its S3 prefixes, the table, its secrets; no `*` in actions."""

from __future__ import annotations

import json
from typing import Any

from infra.functions import FUNCTIONS, SECRET_ENV


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(synth, role_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    for inline in synth.resources[role_id]["Properties"].get("Policies", []):
        statements += inline["PolicyDocument"]["Statement"]
    return statements


def by_action(statements: list[dict[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        for action in _listify(s["Action"]):
            out.setdefault(action, []).extend(_listify(s["Resource"]))
    return out


def object_prefixes(resources: list[Any], bucket_id: str) -> set[str]:
    """{"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/runs/*"]]} -> "runs/"."""
    prefixes = set()
    for r in resources:
        parts = r["Fn::Join"][1]
        assert parts[0] == {"Fn::GetAtt": [bucket_id, "Arn"]}, r
        suffix = parts[1]
        assert suffix.startswith("/") and suffix.endswith("*"), r
        prefixes.add(suffix[1:-1])
    return prefixes


def test_no_iam_action_anywhere_has_a_wildcard(synth):
    # but CDK's own BucketDeployment handler (s3:GetObject*, s3:List*, ...: CDK writes that grant; infra/nag.py)
    deploy = synth.stack.web.deploy_handler
    cdk_own = {
        synth.stack.get_logical_id(
            deploy.node.find_child("ServiceRole").node.find_child("DefaultPolicy").node.default_child
        )
    }
    for logical_id, policy in synth.of_type("AWS::IAM::Policy").items():
        if logical_id in cdk_own:
            continue
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in _listify(s["Action"]):
                assert "*" not in action, (logical_id, action)


def test_stage_roles_use_no_managed_policies(synth):
    for spec in FUNCTIONS:
        role_id = synth.logical_id(synth.stack.functions.fn[spec.id].role)
        assert "ManagedPolicyArns" not in synth.resources[role_id]["Properties"], spec.id


def test_each_lambda_touches_only_its_prefixes_table_secrets_and_targets(synth):
    stack = synth.stack
    bucket_id = synth.logical_id(stack.storage.bucket)
    table_id = synth.logical_id(stack.storage.table)
    sm_id = synth.logical_id(stack.workflow.state_machine)
    allowed_services = {"s3", "dynamodb", "logs", "xray", "secretsmanager", "states", "events", "sqs"}
    allowed_services.add("lambda")  # the async invokes (infra/constructs/invoke.py)
    dead_lettered = {fn.node.path for fn in stack.triggers.dead_lettered}
    dlq_arn = {"Fn::GetAtt": [synth.logical_id(stack.triggers.dead_letters), "Arn"]}

    for spec in FUNCTIONS:
        fn = stack.functions.fn[spec.id]
        role_id = synth.logical_id(fn.role)
        actions = by_action(role_statements(synth, role_id))
        assert {a.split(":")[0] for a in actions} <= allowed_services, spec.id
        if not (spec.invokes or spec.on_failure):  # which ones exactly: tests/infra/test_exports_infra.py
            assert not [a for a in actions if a.startswith("lambda:")], spec.id

        assert object_prefixes(actions.get("s3:GetObject", []), bucket_id) == set(spec.s3_read), spec.id
        assert object_prefixes(actions.get("s3:PutObject", []), bucket_id) == set(spec.s3_write), spec.id
        assert object_prefixes(actions.get("s3:DeleteObject", []), bucket_id) == set(spec.s3_delete), spec.id
        assert {a for a in actions if a.startswith("s3:")} <= {
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:ListBucket",
        }
        list_statements = [
            s for s in role_statements(synth, role_id) if "s3:ListBucket" in _listify(s["Action"])
        ]
        for s in list_statements:
            assert s["Resource"] == {"Fn::GetAtt": [bucket_id, "Arn"]}
            assert set(s["Condition"]["StringLike"]["s3:prefix"]) == {
                f"{p}*" for p in set(spec.s3_read) | set(spec.s3_write) | set(spec.s3_delete)
            }

        for action, resources in actions.items():
            if action.startswith("dynamodb:"):
                for r in resources:
                    assert table_id in json.dumps(r), (spec.id, action, r)
            if action.startswith("logs:"):
                own_log_group = {"Fn::GetAtt": [synth.logical_id(stack.functions.log_groups[spec.id]), "Arn"]}
                assert resources == [own_log_group], (spec.id, action, resources)
            if action.startswith("xray:"):
                assert action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
        assert "dynamodb:PutItem" in actions and "dynamodb:Query" in actions

        secrets = {
            r for a, rs in actions.items() if a.startswith("secretsmanager:") for r in map(json.dumps, rs)
        }
        wanted = {SECRET_ENV[k] for k in spec.secrets}
        assert len(secrets) == len(wanted), spec.id
        for key in spec.secrets:
            assert any(f":secret:storyreel/{key}-??????" in s for s in secrets), (spec.id, key)

        starts = actions.get("states:StartExecution", [])
        assert starts == ([{"Ref": sm_id}] if spec.starts_executions else []), spec.id
        put_events = actions.get("events:PutEvents", [])
        expected_bus = [{"Fn::GetAtt": [synth.logical_id(stack.bus), "Arn"]}]
        assert put_events == (expected_bus if spec.puts_events else []), spec.id
        # the EventBridge-invoked functions send what still fails after Lambda's async retries to the DLQ
        sqs_actions = {a: rs for a, rs in actions.items() if a.startswith("sqs:")}
        assert sqs_actions == ({"sqs:SendMessage": [dlq_arn]} if fn.node.path in dead_lettered else {}), (
            spec.id
        )


def test_state_machine_invokes_exactly_its_task_lambdas_and_no_batch_without_gpu(synth):
    stack = synth.stack
    role_id = synth.logical_id(stack.workflow.state_machine.role)
    actions = by_action(role_statements(synth, role_id))
    invoked = {r["Fn::GetAtt"][0] for r in actions["lambda:InvokeFunction"]}
    expected = {synth.logical_id(stack.functions.fn[s.id]) for s in FUNCTIONS if s.in_state_machine}
    assert invoked == expected
    assert not [a for a in actions if a.startswith("batch:")]
