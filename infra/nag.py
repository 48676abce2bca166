"""cdk-nag (AwsSolutions pack) findings this stack accepts, each acknowledged on the narrowest construct
with the reason. cdk-nag v3 runs as a CDK policy-validation plugin: anything not acknowledged here stops
synthesis. `ACKNOWLEDGED` collects (construct path, rule, reason) for the tests and the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.stack import StoryreelStack

PACK = "AwsSolutions"
ACKNOWLEDGED: list[tuple[str, str, str]] = []

XRAY = (
    "Resource::* is X-Ray's xray:PutTraceSegments/PutTelemetryRecords (added by active tracing): X-Ray has "
    "no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/"
    "list_awsx-ray.html)"
)
PREFIX = (
    "object ARNs are scoped to this function's key prefix ({prefix}) of the storyreel bucket: run ids are "
    "created at run time, so the prefix wildcard is the narrowest possible grant"
)
INDEX = (
    "the table's own indexes (gsi1 lists runs by time); the grant names this table only, `index/*` is how "
    "DynamoDB addresses its indexes"
)


def ack(construct: IConstruct, rule: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError(f"{rule}: every acknowledgment needs a reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason))
    ACKNOWLEDGED.append((construct.node.path, f"{PACK}-{rule}", reason))


def _ref(stack: Stack, construct: IConstruct, attr: str = "Arn") -> str:
    return f"<{stack.get_logical_id(construct.node.default_child)}.{attr}>"


def add_suppressions(stack: StoryreelStack) -> None:
    bucket = _ref(stack, stack.storage.bucket)
    table = _ref(stack, stack.storage.table)

    for spec_id, fn in stack.functions.fn.items():
        spec = stack.functions.specs[spec_id]
        ack(
            fn,
            "L1",
            "python3.13, not the newest runtime: pocketsphinx (the transcribe stage's speech check) ships "
            "arm64 wheels for CPython 3.13 but not 3.14, and every stage shares one runtime, one asset "
            "build and one Powertools layer",
        )
        ack(fn.role, "IAM5[Resource::*]", XRAY)
        for prefix in sorted(set(spec.s3_read) | set(spec.s3_write) | set(spec.s3_delete)):
            ack(fn.role, f"IAM5[Resource::{bucket}/{prefix}*]", PREFIX.format(prefix=prefix))
        ack(fn.role, f"IAM5[Resource::{table}/index/*]", INDEX)

    sm_role = stack.workflow.state_machine.role
    ack(
        sm_role,
        "IAM5[Resource::*]",
        "X-Ray tracing (xray:PutTraceSegments, GetSamplingRules, ...) and CloudWatch Logs vended delivery "
        "(logs:CreateLogDelivery, PutResourcePolicy, ...) accept only Resource * (Step Functions logging docs)"
        + (
            "; batch:DescribeJobs for the .sync GPU job has no resource-level permissions"
            if stack.gpu
            else ""
        ),
    )

    ack(
        stack.triggers.dead_letters,
        "SQS3",
        "this queue IS the dead-letter queue: EventBridge rule targets send events they cannot deliver here",
    )

    api = stack.api.rest_api
    ack(
        api,
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "API Gateway's account-level CloudWatch role (needed for stage execution logs, APIG6) uses the managed "
        "policy AWS documents for it; it can only write API Gateway's own log groups",
    )
    if stack.api.web_acl is None:
        ack(
            api,
            "APIG3",
            "WAF switched off with -c api_waf=false: the API stays key- (or IAM-) authenticated and throttled "
            "per stage and per usage plan",
        )
    auth = (
        "IAM (SigV4) authorization on every method"
        if stack.cfg.api_auth == "iam"
        else "every method requires an API key bound to a throttled usage plan with a daily quota"
    )
    for method in stack.api.methods:
        if stack.cfg.api_auth != "iam":
            ack(method, "APIG4", f"{auth}; switch to SigV4 with `-c api_auth=iam`")
        ack(method, "COG4", f"no end-user sign-in in this service: {auth}, not a Cognito user pool")

    if stack.gpu is not None:
        _gpu_suppressions(stack)


def _gpu_suppressions(stack: StoryreelStack) -> None:
    gpu = stack.gpu
    assert gpu is not None
    bucket = _ref(stack, stack.storage.bucket)
    table = _ref(stack, stack.storage.table)
    ack(gpu.job_role, f"IAM5[Resource::{bucket}/runs/*]", PREFIX.format(prefix="runs/"))
    ack(gpu.job_role, f"IAM5[Resource::{table}/index/*]", INDEX)
    model_bucket, _, model_prefix = (stack.cfg.gpu_model_uri or "")[len("s3://") :].partition("/")
    model_prefix = model_prefix.strip("/")
    model_objects = f"{model_prefix}/*" if model_prefix else "*"
    ack(
        gpu.job_role,
        f"IAM5[Resource::arn:<AWS::Partition>:s3:::{model_bucket}/{model_objects}]",
        "read-only on the diffusers model folder named by gpu_model_uri: a model is many files "
        "(model_index.json, unet/, vae/, ...) synced as a whole",
    )
    ack(
        gpu.job_definition.container.execution_role,
        "IAM5[Resource::*]",
        "the task execution role's ecr:GetAuthorizationToken accepts only Resource * (ECR docs); image pulls "
        "are scoped to the asset repository",
    )
    ack(
        gpu.compute_environment,
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]",
        "the ECS container-instance role AWS Batch documents for EC2 compute environments: it lets the GPU "
        "instances register with the cluster and pull images; job code runs under the separate job role",
    )
    ack(
        stack.workflow.state_machine.role,
        "IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job/*]",
        "batch:TerminateJob (used by the .sync integration to stop a cancelled run's job) on this "
        "account's jobs: job ids are created at run time",
    )
