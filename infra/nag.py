"""cdk-nag (AwsSolutions pack) findings this stack accepts, each acknowledged on the narrowest construct
with the reason. cdk-nag v3 runs as a CDK policy-validation plugin: anything not acknowledged here stops
synthesis. `ACKNOWLEDGED` collects (construct path, rule, reason) for the tests and the report.

checkov (an independent IaC scanner, run over the synthesized template by tests/infra/test_checks.py) reads
its suppressions from each resource's CloudFormation Metadata, `{"checkov": {"skip": [{"id": "CKV_AWS_117",
"comment": reason}]}}`; `checkov_skip` writes them (and `CHECKOV_SKIPPED` collects them for the tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from aws_cdk import Acknowledgment, CfnElement, CfnResource, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_batch as batch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_wafv2 as wafv2
from constructs import IConstruct, Node

from infra.config import InfraConfig
from infra.functions import LambdaSpec

PACK = "AwsSolutions"
ACKNOWLEDGED: list[tuple[str, str, str]] = []
CHECKOV_SKIPPED: list[tuple[str, str, str]] = []  # (construct path of the CfnResource, check id, reason)

XRAY = (
    "Resource::* is X-Ray's xray:PutTraceSegments/PutTelemetryRecords (added by active tracing): X-Ray has "
    "no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/"
    "list_awsx-ray.html)"
)
PREFIX = (
    "object ARNs are scoped to this function's key prefix ({prefix}) of the storyreel bucket: run ids are "
    "created at run time, so the prefix wildcard is the narrowest possible grant"
)
RUNTIME_L1 = (
    "python3.13, not the newest runtime: pocketsphinx (the transcribe stage's speech check) ships "
    "arm64 wheels for CPython 3.13 but not 3.14, and every stage shares one runtime, one asset "
    "build and one Powertools layer"
)
INDEX = (
    "the table's own indexes (gsi1 lists runs by time); the grant names this table only, `index/*` is how "
    "DynamoDB addresses its indexes"
)


# What the acknowledgments read off the stack. infra/stack.py's StoryreelStack has all of it; typing it here
# structurally keeps nag.py free of imports of the stack and of the constructs that call log_group_skips.
class _Storage(Protocol):
    @property
    def bucket(self) -> IConstruct: ...
    @property
    def table(self) -> IConstruct: ...
    @property
    def access_logs(self) -> IConstruct: ...


class _Functions(Protocol):
    @property
    def fn(self) -> Mapping[str, lambda_.Function]: ...
    @property
    def specs(self) -> Mapping[str, LambdaSpec]: ...
    @property
    def reserved_concurrency(self) -> Mapping[str, int | None]: ...


class _Workflow(Protocol):
    @property
    def state_machine(self) -> sfn.StateMachine: ...


class _Triggers(Protocol):
    @property
    def dead_letters(self) -> IConstruct: ...
    @property
    def dead_lettered(self) -> Iterable[IConstruct]: ...


class _Api(Protocol):
    @property
    def rest_api(self) -> apigw.RestApi: ...
    @property
    def web_acl(self) -> wafv2.CfnWebACL | None: ...
    @property
    def methods(self) -> Sequence[IConstruct]: ...


class _Web(Protocol):
    @property
    def bucket(self) -> IConstruct: ...
    @property
    def distribution(self) -> IConstruct: ...
    @property
    def deploy_handler(self) -> IConstruct | None: ...


class _Users(Protocol):
    @property
    def user_pool(self) -> IConstruct: ...
    @property
    def web_key(self) -> IConstruct: ...
    @property
    def authorizer_fn(self) -> lambda_.Function: ...


class _Gpu(Protocol):
    @property
    def job_role(self) -> IConstruct: ...
    @property
    def job_definition(self) -> batch.EcsJobDefinition: ...
    @property
    def compute_environment(self) -> IConstruct: ...


class SuppressedStack(Protocol):
    """The stack whose findings are acknowledged: its node, settings and the constructs nag.py names."""

    @property
    def node(self) -> Node: ...
    @property
    def cfg(self) -> InfraConfig: ...
    @property
    def storage(self) -> _Storage: ...
    @property
    def functions(self) -> _Functions: ...
    @property
    def workflow(self) -> _Workflow: ...
    @property
    def triggers(self) -> _Triggers: ...
    @property
    def api(self) -> _Api: ...
    @property
    def gpu(self) -> _Gpu | None: ...
    @property
    def web(self) -> _Web | None: ...
    @property
    def users(self) -> _Users | None: ...


def ack(construct: IConstruct, rule: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError(f"{rule}: every acknowledgment needs a reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason))
    ACKNOWLEDGED.append((construct.node.path, f"{PACK}-{rule}", reason))


def checkov_skip(construct: IConstruct, check: str, reason: str) -> None:
    """Suppress one checkov check on one resource (the construct's CfnResource), with the reason."""
    if not reason.strip():
        raise ValueError(f"{check}: every checkov suppression needs a reason")
    cfn = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{construct.node.path}: no CloudFormation resource to put {check} on")
    skips = [s for s in (cfn.get_metadata("checkov") or {}).get("skip", []) if s["id"] != check]
    cfn.add_metadata("checkov", {"skip": [*skips, {"id": check, "comment": reason}]})
    CHECKOV_SKIPPED.append((cfn.node.path, check, reason))


def _ref(construct: IConstruct, attr: str = "Arn") -> str:
    cfn = construct.node.default_child
    if not isinstance(cfn, CfnElement):
        raise TypeError(f"{construct.node.path}: no CloudFormation resource to refer to")
    return f"<{Stack.of(cfn).get_logical_id(cfn)}.{attr}>"


def add_suppressions(stack: SuppressedStack) -> None:
    bucket = _ref(stack.storage.bucket)
    table = _ref(stack.storage.table)

    for spec_id, fn in stack.functions.fn.items():
        spec = stack.functions.specs[spec_id]
        ack(fn, "L1", RUNTIME_L1)
        role = fn.role
        if role is None:
            raise TypeError(f"{fn.node.path}: no execution role to acknowledge its policies on")
        ack(role, "IAM5[Resource::*]", XRAY)
        for prefix in sorted(set(spec.s3_read) | set(spec.s3_write) | set(spec.s3_delete)):
            ack(role, f"IAM5[Resource::{bucket}/{prefix}*]", PREFIX.format(prefix=prefix))
        ack(role, f"IAM5[Resource::{table}/index/*]", INDEX)

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
        if stack.users is not None:
            ack(
                method,
                "COG4",
                "a Lambda REQUEST authorizer (services/auth) verifies the Cognito user pool's JWTs against its "
                "JWKS, or passes a machine client's API key to the usage plan: a REST method can require a "
                "Cognito authorizer and an API key together, never either one (docs/deploy.md)",
            )
            continue
        if stack.cfg.api_auth != "iam":
            ack(method, "APIG4", f"{auth}; switch to SigV4 with `-c api_auth=iam`")
        ack(
            method,
            "COG4",
            f"no end-user sign-in in this deployment (-c web=false): {auth}, not a Cognito pool",
        )

    if stack.gpu is not None:
        _gpu_suppressions(stack)
    if stack.web is not None and stack.users is not None:
        _web_suppressions(stack.web, stack.users, stack.cfg)
    add_checkov_skips(stack)


def _gpu_suppressions(stack: SuppressedStack) -> None:
    gpu = stack.gpu
    assert gpu is not None
    bucket = _ref(stack.storage.bucket)
    table = _ref(stack.storage.table)
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


BUCKET_DEPLOYMENT = (
    "CDK's own BucketDeployment handler (aws_s3_deployment, the construct that copies services/web/static "
    "and config.json into the web bucket during deployments)"
)


def _web_suppressions(web: _Web, users: _Users, cfg: InfraConfig) -> None:
    site = _ref(web.bucket)
    ack(
        web.distribution,
        "CFR1",
        "no geo restriction: the web app is for the team's users wherever they are; it serves only static "
        "files and every API call needs a signed-in user or an API key",
    )
    ack(
        web.distribution,
        "CFR2",
        "no WAF on the distribution: it serves static files only (GET/HEAD from a private bucket); the API "
        "it calls has its own regional WAF web ACL, and a CloudFront-scoped ACL exists only in us-east-1",
    )
    ack(
        web.distribution,
        "CFR4",
        "the default *.cloudfront.net certificate, whose TLS policy CloudFront fixes: a minimum of TLS 1.2 "
        "needs a custom domain with an ACM certificate in us-east-1, which this stack does not own",
    )
    ack(
        users.user_pool,
        "COG2",
        "MFA is optional (TOTP, no SMS): each user can turn it on, and the Plus plan's threat protection "
        "asks for more when a sign-in looks risky; requiring it for every viewer of a storyboard was not asked",
    )
    if not cfg.cognito_threat_protection:
        ack(
            users.user_pool,
            "COG8",
            "the Essentials feature plan, chosen with -c cognito_threat_protection=false: the Plus plan's "
            "threat protection is billed per monthly active user",
        )
    ack(
        users.web_key,
        "SMG4",
        "the web app's usage-plan key: the API key is created from this value, so a rotation would also "
        "have to replace the API key; only the authorizer can read it and it never leaves AWS",
    )
    fn = users.authorizer_fn
    ack(fn, "L1", RUNTIME_L1)
    if fn.role is None:
        raise TypeError(f"{fn.node.path}: no execution role to acknowledge its policies on")
    ack(fn.role, "IAM5[Resource::*]", XRAY)

    handler = web.deploy_handler
    if handler is None:
        return
    ack(handler, "L1", f"{BUCKET_DEPLOYMENT}: its runtime is CDK's choice and moves with aws-cdk-lib")
    role = handler.node.find_child("ServiceRole")
    ack(
        role,
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        f"{BUCKET_DEPLOYMENT}: CDK gives its role the basic execution policy, which writes its own logs only",
    )
    for finding, why in (
        ("Action::s3:GetBucket*", "reading"),
        ("Action::s3:GetObject*", "reading"),
        ("Action::s3:List*", "listing (aws s3 sync)"),
        ("Action::s3:Abort*", "aborting multipart uploads into"),
        ("Action::s3:DeleteObject*", "pruning files no longer in services/web/static from"),
        (f"Resource::{site}/*", "writing every object of"),
        (
            "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
            "reading the zipped files from CDK's bootstrap asset bucket for",
        ),
        ("Resource::*", "cloudfront:CreateInvalidation/GetInvalidation after copying into"),
    ):
        ack(
            role, f"IAM5[{finding}]", f"{BUCKET_DEPLOYMENT}, {why} the web bucket only; CDK writes this grant"
        )


# ---------------------------------------------------------------------------------------------- checkov
NO_VPC = (
    "the functions call only AWS APIs (S3, DynamoDB, Step Functions, EventBridge, Secrets Manager) over TLS "
    "with IAM, and the vendors' HTTPS APIs: nothing they use lives in a VPC, and a VPC would add NAT "
    "gateways (cost, one more failure point) for the vendor calls without protecting anything"
)
ENV_KEY = (
    "Lambda already encrypts environment variables at rest with an AWS managed key; these hold names only "
    "(bucket, table, bus, state machine, secret names, settings), never secret values: the code reads those "
    "from Secrets Manager at run time"
)
SYNC_DLQ = (
    "invoked synchronously ({by}): a Lambda dead-letter queue only ever receives failed asynchronous "
    "invocations; {failure}"
)
NOT_RESERVED = (
    "no reserved concurrency: {why}; reserving it would take capacity out of the account's pool for a "
    "stage that is idle most of the time (the cost guards are on Api and Images, infra/config.py)"
)
LOGS_KMS = (
    "CloudWatch Logs encrypts every log group at rest already; a customer managed KMS key adds a key, a key "
    "policy for the logs service and per-request cost, for operational logs (run ids, stage timings, errors; "
    "the state machine's log excludes execution data)"
)


def log_group_skips(log_group: IConstruct) -> None:
    """Every log group of the stack comes from infra.constructs.workflow.log_group(), which calls this."""
    checkov_skip(log_group, "CKV_AWS_158", LOGS_KMS)


def add_checkov_skips(stack: SuppressedStack) -> None:
    dead_lettered = {fn.node.path for fn in stack.triggers.dead_lettered}
    # the Export function and its on-failure destination (infra/constructs/invoke.py)
    destinations = {s.on_failure: s.id for s in stack.functions.specs.values() if s.on_failure}
    for spec_id, fn in stack.functions.fn.items():
        spec = stack.functions.specs[spec_id]
        checkov_skip(fn, "CKV_AWS_117", NO_VPC)
        checkov_skip(fn, "CKV_AWS_173", ENV_KEY)
        if spec.on_failure or spec_id in destinations:
            checkov_skip(
                fn,
                "CKV_AWS_116",
                f"invoked asynchronously; what fails goes to {spec.on_failure}, its on-failure destination "
                "(EventInvokeConfig, no retries), which records the export failed"
                if spec.on_failure
                else f"it is {destinations[spec_id]}'s on-failure destination: its own failure is logged and "
                "counted (Errors metric); the export it was recording stays as it was, never done",
            )
            checkov_skip(
                fn,
                "CKV_AWS_115",
                NOT_RESERVED.format(
                    why="it runs once per export a caller asks for (the Api's cost guard bounds them)"
                ),
            )
            continue
        if fn.node.path not in dead_lettered:
            by, failure = (
                (
                    "Step Functions lambda:invoke, RequestResponse",
                    "a failure is the task's error, which the "
                    "state machine's Retry and Catch (Mark run failed) handle",
                )
                if spec.in_state_machine
                else ("API Gateway's Lambda proxy integration", "a failure is the HTTP response")
            )
            checkov_skip(fn, "CKV_AWS_116", SYNC_DLQ.format(by=by, failure=failure))
        if stack.functions.reserved_concurrency.get(spec_id) is None:
            if spec_id in stack.functions.reserved_concurrency:
                why = f"switched off with -c {spec_id.lower()}_reserved_concurrency=none"
                checkov_skip(fn, "CKV_AWS_115", f"the cost guard on {spec_id} is {why} (infra/config.py)")
                continue
            why = (
                "its concurrency is bounded by the running executions, one per run"
                if spec.in_state_machine
                else "it runs once per upload or PreviewReady event and only starts an execution"
            )
            checkov_skip(fn, "CKV_AWS_115", NOT_RESERVED.format(why=why))

    if stack.gpu is not None:
        # CDK's own handler behind @aws-cdk/aws-ec2:restrictDefaultSecurityGroup (it strips the GPU VPC's
        # default security group of its rules)
        provider = stack.node.find_child("Custom::VpcRestrictDefaultSGCustomResourceProvider")
        handler = provider.node.find_child("Handler")
        once = (
            "CDK's custom-resource handler that removes the default security group's rules "
            "(@aws-cdk/aws-ec2:restrictDefaultSecurityGroup): CloudFormation calls it during deployments only"
        )
        checkov_skip(handler, "CKV_AWS_115", once + ", one invocation at a time")
        checkov_skip(handler, "CKV_AWS_116", once + ", synchronously: a failure fails the deployment")
        checkov_skip(handler, "CKV_AWS_117", once + "; it calls only the EC2 API")

    if stack.web is not None and stack.users is not None:
        _web_checkov_skips(stack.web, stack.users)

    checkov_skip(
        stack.api.rest_api.deployment_stage,
        "CKV_AWS_120",
        "responses are per-run status and newly created runs: a cache would serve stale run status, and an "
        "API Gateway cache is an always-on, per-hour billed cluster",
    )
    checkov_skip(
        stack.storage.access_logs,
        "CKV_AWS_18",
        "this is the access-log bucket: S3 server access logs must not be delivered into the bucket they "
        "describe (a loop); requests to it are in CloudTrail",
    )
    checkov_skip(
        stack.storage.access_logs,
        "CKV_AWS_21",
        "S3 server access logs are written once and expire after 90 days: versioning would keep copies of "
        "objects that are never overwritten",
    )
    checkov_skip(
        stack.triggers.dead_letters,
        "CKV_AWS_27",
        "encrypted at rest with SQS-managed SSE (SqsManagedSseEnabled; the check only looks for a KMS key): "
        "EventBridge cannot deliver to a queue under the AWS managed aws/sqs key, and a customer managed key "
        "adds cost for a queue of event envelopes",
    )


def _web_checkov_skips(web: _Web, users: _Users) -> None:
    checkov_skip(
        web.bucket,
        "CKV_AWS_21",
        "the web bucket holds build output deployed from git on every deploy (BucketDeployment prunes it): "
        "git is its history, and old versions would keep the bucket from being deleted with the stack",
    )
    checkov_skip(
        web.distribution,
        "CKV_AWS_68",
        "static files only from a private bucket; the API has its own regional WAF, and a CloudFront-scoped "
        "web ACL can only be created in us-east-1",
    )
    checkov_skip(
        web.distribution,
        "CKV_AWS_174",
        "the default *.cloudfront.net certificate: CloudFront fixes its TLS policy; TLS 1.2 minimum needs a "
        "custom domain and an ACM certificate in us-east-1",
    )
    checkov_skip(
        users.web_key,
        "CKV_AWS_149",
        "Secrets Manager encrypts it with the AWS managed key; a customer managed key would add a key policy "
        "and cost for one usage-plan key that only the authorizer reads",
    )
    fn = users.authorizer_fn
    checkov_skip(fn, "CKV_AWS_117", NO_VPC)
    checkov_skip(
        fn,
        "CKV_AWS_173",
        "Lambda encrypts environment variables at rest with an AWS managed key; these hold the issuer URL, "
        "the client id and the secret's ARN, never the key itself (read from Secrets Manager)",
    )
    checkov_skip(
        fn,
        "CKV_AWS_116",
        SYNC_DLQ.format(
            by="API Gateway's authorizer call", failure="a failure is the 401/500 API Gateway answers"
        ),
    )
    checkov_skip(
        fn,
        "CKV_AWS_115",
        "no reserved concurrency: API Gateway calls it once per request, so the stage's throttle (rate and "
        "burst limits, the usage plans) already bounds it",
    )
    handler = web.deploy_handler
    if handler is None:
        return
    for check, why in (
        ("CKV_AWS_115", "CloudFormation calls it during deployments only, a few times per deploy"),
        ("CKV_AWS_116", "invoked synchronously by CloudFormation: a failure fails the deployment"),
        ("CKV_AWS_117", "it calls only the S3 and CloudFront APIs"),
        ("CKV_AWS_173", "its one variable is the CA bundle path CDK sets, nothing secret"),
    ):
        checkov_skip(handler, check, f"{BUCKET_DEPLOYMENT}: {why}")
    policy = handler.node.find_child("ServiceRole").node.find_child("DefaultPolicy")
    checkov_skip(
        policy,
        "CKV_AWS_111",
        f"{BUCKET_DEPLOYMENT}: writes to the web bucket's objects and CloudFront invalidations, which CDK "
        "grants on Resource *",
    )
