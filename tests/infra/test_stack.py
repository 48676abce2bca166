"""The synthesized template: resources present, storage security, Lambdas, state machine, triggers, API."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match, Template

from infra.constructs.api import api_routes
from infra.constructs.trigger import UPLOAD_PATTERN_FILE
from infra.constructs.workflow import ASL_FILE
from infra.functions import AUTHORIZER, FUNCTIONS, SECRET_ENV


def test_resources_present_and_no_gpu_by_default(synth):
    t = Template.from_json(synth.template)
    # the stage functions, the API's authorizer and CDK's BucketDeployment handler (the web app's files)
    t.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS) + 2)
    t.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    t.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    t.resource_count_is("AWS::Events::Rule", 2)
    t.resource_count_is("AWS::ApiGateway::RestApi", 1)
    # failed, timed-out and throttled executions; dead-lettered events
    t.resource_count_is("AWS::CloudWatch::Alarm", 4)
    for gpu_type in ("AWS::Batch::ComputeEnvironment", "AWS::Batch::JobQueue", "AWS::EC2::VPC"):
        t.resource_count_is(gpu_type, 0)
    # bucket EventBridge notifications are native: no custom-resource Lambda for them
    assert not synth.of_type("Custom::S3BucketNotifications")


def test_blob_bucket_is_private_encrypted_ssl_only_and_eventbridge_enabled(synth):
    bucket_id = synth.logical_id(synth.stack.storage.bucket)
    props = synth.resources[bucket_id]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "AES256"
    assert props["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synth.logical_id(synth.stack.storage.access_logs)
    }
    uploads = [r for r in props["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "uploads/"]
    assert uploads and uploads[0]["ExpirationInDays"] == 7 and uploads[0]["Status"] == "Enabled"

    policies = [
        p
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    (policy,) = policies
    deny_insecure = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert deny_insecure, "bucket must deny requests without TLS"


def test_table_has_pk_sk_ttl_and_point_in_time_recovery(synth):
    Template.from_json(synth.template).has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "Replicas": [
                Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
            ],
        },
    )


def test_every_lambda_is_arm64_traced_with_the_powertools_layer_and_its_handler(synth):
    functions = synth.stack.functions
    for spec in FUNCTIONS:
        props = synth.resources[synth.logical_id(functions.fn[spec.id])]["Properties"]
        assert props["Handler"] == spec.handler
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.13"
        assert props["TracingConfig"] == {"Mode": "Active"}
        (layer,) = props["Layers"]
        layer_arn = json.dumps(layer)
        assert ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:" in layer_arn
        env = props["Environment"]["Variables"]
        for name in ("STORYREEL_BUCKET", "STORYREEL_TABLE", "EVENT_BUS_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
            assert name in env, (spec.id, name)
        assert env["POWERTOOLS_SERVICE_NAME"] == spec.service
        assert env["STORYREEL_IMAGE_GENERATION__PROVIDER"] == "replicate"
        assert env["STORYREEL_LLM__PROVIDER"] == "openai"  # cdk.json settings -> env overrides
        secret_vars = {v for v in env if v in SECRET_ENV.values()}
        assert secret_vars == {SECRET_ENV[k] for k in spec.secrets}, spec.id
        assert ("STATE_MACHINE_ARN" in env) == spec.starts_executions, spec.id


def test_state_machine_definition_substitutions_are_all_resolved(synth):
    sm_id = synth.logical_id(synth.stack.workflow.state_machine)
    props = synth.resources[sm_id]["Properties"]
    assert "DefinitionS3Location" in props  # DefinitionBody.from_file: the ASL file is an asset
    subs = props["DefinitionSubstitutions"]
    asl_text = ASL_FILE.read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", asl_text))
    missing = placeholders - set(subs)
    assert not missing, f"ASL placeholders the stack does not substitute: {sorted(missing)}"

    functions = synth.stack.functions
    for spec in FUNCTIONS:
        if spec.in_state_machine:
            assert subs[spec.substitution] == {"Fn::GetAtt": [synth.logical_id(functions.fn[spec.id]), "Arn"]}
        else:
            assert spec.substitution not in subs
    assert subs["ImagesMaxConcurrency"] == "10"

    # substituted as CloudFormation will, the definition is valid JSON with a number for MaxConcurrency
    resolved = re.sub(
        r"\$\{(\w+)\}",
        lambda m: (
            subs[m.group(1)]
            if isinstance(subs[m.group(1)], str)
            else f"arn:aws:lambda:eu-west-1:123456789012:function:{m.group(1)}"
        ),
        asl_text,
    )
    definition = json.loads(resolved)
    assert "StartAt" in definition and "$" + "{" not in resolved
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_upload_rule_matches_uploads_on_the_bucket_and_targets_intake(synth):
    stack = synth.stack
    rule = synth.resources[synth.logical_id(stack.triggers.upload_rule)]["Properties"]
    pattern = rule["EventPattern"]
    file_pattern = json.loads(UPLOAD_PATTERN_FILE.read_text())
    assert pattern["source"] == file_pattern["source"] == ["aws.s3"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": synth.logical_id(stack.storage.bucket)}]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "uploads/"}]
    assert "EventBusName" not in rule  # S3 publishes to the default bus
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [synth.logical_id(stack.functions.fn["Intake"]), "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": [synth.logical_id(stack.triggers.dead_letters), "Arn"]
    }


def test_preview_ready_rule_on_the_storyreel_bus_starts_the_background_render(synth):
    stack = synth.stack
    rule = synth.resources[synth.logical_id(stack.triggers.preview_rule)]["Properties"]
    # what shared.aws.events.put_events sends: Source "storyreel", DetailType "PreviewReady"
    assert rule["EventPattern"] == {"source": ["storyreel"], "detail-type": ["PreviewReady"]}
    assert rule["EventBusName"] == {"Ref": synth.logical_id(stack.bus)}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [synth.logical_id(stack.functions.fn["RenderRest"]), "Arn"]}


def test_api_routes_need_an_api_key_and_validate_requests(synth):
    methods = synth.of_type("AWS::ApiGateway::Method")
    resources = synth.of_type("AWS::ApiGateway::Resource")
    api_fn = synth.logical_id(synth.stack.functions.fn["Api"])

    def path_of(ref):
        if "Fn::GetAtt" in ref:  # root
            return ""
        res = resources[ref["Ref"]]["Properties"]
        return f"{path_of(res['ParentId'])}/{res['PathPart']}"

    routes = set()
    for method in methods.values():
        p = method["Properties"]
        if p["HttpMethod"] == "OPTIONS":  # CORS preflight (tests/infra/test_web.py)
            continue
        routes.add((p["HttpMethod"], path_of(p["ResourceId"])))
        assert p["ApiKeyRequired"] is True
        assert "RequestValidatorId" in p
        assert api_fn in json.dumps(p["Integration"]["Uri"])
        assert p["Integration"]["Type"] == "AWS_PROXY"
        if p["HttpMethod"] == "POST":
            assert "application/json" in p["RequestModels"]
    assert routes == set(api_routes())  # the committed OpenAPI document's, when there is one
    assert routes >= {
        ("POST", "/runs"),
        ("GET", "/runs"),
        ("GET", "/runs/{run_id}"),
        ("POST", "/runs/{run_id}/images"),
        ("POST", "/runs/{run_id}/feedback"),
    }
    plans = synth.of_type("AWS::ApiGateway::UsagePlan").values()
    assert len(plans) == 2  # machine clients' and the web app's (tests/infra/test_web.py)
    for plan in plans:
        assert plan["Properties"]["Throttle"]["RateLimit"] > 0
        assert plan["Properties"]["Quota"]["Period"] == "DAY"
    (stage,) = synth.of_type("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["TracingEnabled"] is True
    assert "AccessLogSetting" in stage["Properties"]
    (model,) = synth.of_type("AWS::ApiGateway::Model").values()
    assert model["Properties"]["Schema"]["type"] == "object"


def test_failed_execution_alarm_watches_the_state_machine(synth):
    sm_id = synth.logical_id(synth.stack.workflow.state_machine)
    alarm_id = synth.logical_id(synth.stack.observability.failed_executions)
    props = synth.resources[alarm_id]["Properties"]
    assert props["MetricName"] == "ExecutionsFailed"
    assert props["Namespace"] == "AWS/States"
    assert props["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": sm_id}}]
    assert props["AlarmActions"]


def test_dead_lettered_events_and_throttled_executions_raise_alarms(synth):
    obs = synth.stack.observability
    queue_id = synth.logical_id(synth.stack.triggers.dead_letters)
    dlq = synth.resources[synth.logical_id(obs.dead_lettered)]["Properties"]
    assert (dlq["Namespace"], dlq["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert dlq["Threshold"] == 1 and dlq["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert dlq["AlarmActions"]
    throttled = synth.resources[synth.logical_id(obs.throttled_executions)]["Properties"]
    assert (throttled["Namespace"], throttled["MetricName"]) == ("AWS/States", "ExecutionThrottled")
    assert throttled["AlarmActions"]


def test_waf_on_the_api_stage_blocks_big_bodies_and_floods(synth):
    (acl_id, acl), *_ = synth.of_type("AWS::WAFv2::WebACL").items()
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    size = rules["body-size-limit"]["Statement"]["SizeConstraintStatement"]
    assert size["ComparisonOperator"] == "GT" and size["Size"] == 16 * 1024
    assert size["FieldToMatch"]["Body"]["OversizeHandling"] == "MATCH"  # too big to inspect -> blocked
    assert rules["body-size-limit"]["Action"] == {"Block": {}}
    assert rules["rate-per-ip"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    (assoc,) = synth.of_type("AWS::WAFv2::WebACLAssociation").values()
    assert assoc["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    stage_id = synth.logical_id(synth.stack.api.rest_api.deployment_stage)
    assert stage_id in json.dumps(assoc["Properties"]["ResourceArn"])


def test_api_routes_follow_the_openapi_document(tmp_path):
    doc = tmp_path / "openapi.json"
    doc.write_text(json.dumps({"paths": {"/runs": {"get": {}, "post": {}}, "/runs/{run_id}": {"get": {}}}}))
    assert set(api_routes(doc)) == {("GET", "/runs"), ("POST", "/runs"), ("GET", "/runs/{run_id}")}
    with pytest.raises(FileNotFoundError, match="make openapi"):
        api_routes(tmp_path / "absent.json")


def test_every_handler_in_the_stack_imports_and_is_callable() -> None:
    """infra/functions.py names each Lambda's handler as a string: a typo would deploy a broken function."""
    import importlib

    for spec in (*FUNCTIONS, AUTHORIZER):
        module = importlib.import_module(spec.module)
        assert callable(getattr(module, spec.function, None)), spec.handler


def test_the_api_and_its_waf_refuse_bodies_at_the_same_size() -> None:
    from storyreel.services.api.handler import MAX_BODY_BYTES as HANDLER_LIMIT

    from infra.constructs.api import MAX_BODY_BYTES as WAF_LIMIT

    assert WAF_LIMIT == HANDLER_LIMIT


def test_waf_runs_aws_known_bad_inputs_rules(synth):
    (acl,) = synth.of_type("AWS::WAFv2::WebACL").values()
    rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
    managed = rules["known-bad-inputs"]
    assert managed["Statement"]["ManagedRuleGroupStatement"] == {
        "VendorName": "AWS",
        "Name": "AWSManagedRulesKnownBadInputsRuleSet",
    }
    assert managed["OverrideAction"] == {"None": {}}  # the group's own block actions apply
    assert len({r["Priority"] for r in rules.values()}) == len(rules)


def test_api_and_images_have_reserved_concurrency_as_configured(synth):
    cfg = synth.stack.cfg
    for spec in FUNCTIONS:
        props = synth.resources[synth.logical_id(synth.stack.functions.fn[spec.id])]["Properties"]
        expected = {"Api": cfg.api_reserved_concurrency, "Images": cfg.images_reserved_concurrency}.get(
            spec.id
        )
        assert props.get("ReservedConcurrentExecutions") == expected, spec.id
    assert cfg.images_reserved_concurrency >= cfg.images_max_concurrency  # one run never throttles itself


def test_throttled_images_tasks_wait_for_a_slot_instead_of_failing_the_run():
    asl = json.loads(ASL_FILE.read_text())
    branch = asl["States"]["Scenes, images and virality"]["Branches"][0]["States"]
    for task in (
        branch["Render frames per scene"]["ItemProcessor"]["States"]["Render scene frames"],
        asl["States"]["Render the rest per scene"]["ItemProcessor"]["States"][
            "Render remaining scene frames"
        ],
    ):
        (throttle,) = [r for r in task["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert task["Retry"].index(throttle) == 0 and throttle["ErrorEquals"] == [
            "Lambda.TooManyRequestsException"
        ]
        waits = [
            min(throttle["IntervalSeconds"] * throttle["BackoffRate"] ** i, throttle["MaxDelaySeconds"])
            for i in range(throttle["MaxAttempts"])
        ]
        assert sum(waits) >= 600  # longer than one Images invocation may take (its 600 s timeout)


def test_reserved_concurrency_is_configurable_and_checked():
    from infra.config import InfraConfig

    with pytest.raises(ValueError, match="below images_max_concurrency"):
        InfraConfig(images_max_concurrency=10, images_reserved_concurrency=5).validate()
    with pytest.raises(ValueError, match=r"1\.\.1000"):
        InfraConfig(api_reserved_concurrency=0).validate()
    InfraConfig(api_reserved_concurrency=None, images_reserved_concurrency=None).validate()


def test_upload_and_render_rest_functions_dead_letter_failed_async_invocations(synth):
    stack = synth.stack
    dlq = {"Fn::GetAtt": [synth.logical_id(stack.triggers.dead_letters), "Arn"]}
    for spec in FUNCTIONS:
        props = synth.resources[synth.logical_id(stack.functions.fn[spec.id])]["Properties"]
        expected = {"TargetArn": dlq} if spec.id in ("Intake", "RenderRest") else None
        assert props.get("DeadLetterConfig") == expected, spec.id


def test_blob_bucket_is_versioned_and_old_versions_expire(synth):
    props = synth.resources[synth.logical_id(synth.stack.storage.bucket)]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = [r for r in props["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in r]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30 and rule["ExpiredObjectDeleteMarker"]
    assert "Prefix" not in rule  # the whole bucket
