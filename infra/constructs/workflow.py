"""Workflow: one Lambda per stage (arm64, Powertools layer, X-Ray) and the Step Functions state machine
loaded from infra/statemachine/storyboard.asl.json with definition substitutions."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Size, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.bundle import requirements
from infra.config import ROOT, InfraConfig
from infra.constructs.docker import docker_excludes
from infra.constructs.invoke import wire_async
from infra.constructs.storage import Storage
from infra.functions import (
    FUNCTIONS,
    SECRET_ENV,
    TRANSCRIBE_IMAGE_DOCKERFILE,
    TRANSCRIBE_IMAGE_EPHEMERAL_MB,
    TRANSCRIBE_IMAGE_MEMORY_MB,
    TRANSCRIBE_IMAGE_PACKAGES,
    LambdaSpec,
)
from infra.nag import ack, checkov_skip, log_group_skips

STATEMACHINE_DIR = Path(__file__).resolve().parent.parent / "statemachine"
ASL_FILE = STATEMACHINE_DIR / "storyboard.asl.json"
RUNTIME = lambda_.Runtime.PYTHON_3_13
POWERTOOLS_ACCOUNT = "017000801446"  # AWS-managed Powertools for AWS Lambda (Python) layers
# Where a GPU re-render goes (read by services/api): set only when the stack has the GPU queue
GPU_QUEUE_ENV = "STORYREEL_GPU_JOB_QUEUE"
GPU_DEFINITION_ENV = "STORYREEL_GPU_JOB_DEFINITION"


def powertools_layer_arn(scope: Construct, version: int) -> str:
    stack = Stack.of(scope)
    py = RUNTIME.name.replace(".", "")  # python3.13 -> python313
    return (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{py}-arm64:{version}"
    )


class StageFunctions(Construct):
    """Every Lambda in infra.functions.FUNCTIONS, with its grants. `self.fn[id]` -> Function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        cfg: InfraConfig,
        storage: Storage,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cfg = cfg
        self.storage = storage
        self.bus = bus
        self.layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", powertools_layer_arn(self, cfg.powertools_layer_version)
        )
        self.secrets = {
            key: secretsmanager.Secret.from_secret_name_v2(self, f"Secret-{key}", cfg.secret_name(key))
            for key in SECRET_ENV
        }
        # cost guards (infra/config.py says why these two); None: no reservation
        self.reserved_concurrency: dict[str, int | None] = {
            "Api": cfg.api_reserved_concurrency,
            "Images": cfg.images_reserved_concurrency,
        }
        self.fn: dict[str, lambda_.Function] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        self.specs: dict[str, LambdaSpec] = {}
        self.urls: dict[str, lambda_.CfnUrl] = {}
        for spec in FUNCTIONS:
            self.fn[spec.id] = self._function(spec)
            self.specs[spec.id] = spec
            if spec.function_url:
                self.urls[spec.id] = self._url(spec)
        wire_async(self.fn, self.specs)  # the Api -> Export invoke, the Export's on-failure destination
        if "ClipsWebhook" in self.urls:  # where the clips start Lambda tells Replicate to deliver
            self.fn["ClipsStart"].add_environment(
                "STORYREEL_CLIPS_WEBHOOK_URL", self.urls["ClipsWebhook"].attr_function_url
            )

    def physical_name(self, spec: LambdaSpec) -> str | None:
        """A fixed name for a function behind a URL (<stack>-<id>), so its URL can name it without a reference
        (see _url); every other function keeps the name CloudFormation makes up."""
        return f"{Stack.of(self).stack_name}-{spec.id}"[:64] if spec.function_url else None

    def _url(self, spec: LambdaSpec) -> lambda_.CfnUrl:
        """A function URL for a vendor's webhook: no IAM auth (Replicate cannot sign SigV4); the handler refuses
        any delivery whose Standard Webhooks signature does not check out.

        Built from the L1 resources: the URL names its function by its fixed name and waits for the invoke
        permission (which references the function), not for the function itself. The direct reference CDK's
        add_function_url makes (GetAtt or DependsOn) makes checkov 3.3.30 fail to write its JSON report (its
        CKV2_AWS_75 result carries a tuple key), which would leave the template unchecked."""
        fn = self.fn[spec.id]
        name = self.physical_name(spec)
        assert name is not None  # spec.function_url
        fn.add_permission(
            "InvokeFunctionUrl",
            principal=iam.AnyPrincipal(),
            action="lambda:InvokeFunctionUrl",
            function_url_auth_type=lambda_.FunctionUrlAuthType.NONE,
        )
        url = lambda_.CfnUrl(self, f"{spec.id}Url", auth_type="NONE", target_function_arn=name)
        url.node.add_dependency(fn.node.find_child("InvokeFunctionUrl"))
        checkov_skip(
            url,
            "CKV_AWS_258",
            f"{spec.id} is a vendor webhook: Replicate cannot send IAM-signed requests; every delivery is "
            "verified in the handler (HMAC-SHA256 webhook-signature with the account's whsec_ secret, "
            "timestamp within 5 minutes)",
        )
        return url

    def _code(self, spec: LambdaSpec) -> lambda_.Code:
        path = self.cfg.lambda_assets / spec.asset
        if not (path / "storyreel" / "shared").is_dir() or not (path / "storyreel" / "services").is_dir():
            raise FileNotFoundError(
                f"Lambda asset {path} is missing or incomplete: run `make lambda-assets` "
                "(or `python -m infra.bundle`) before synth"
            )
        return lambda_.Code.from_asset(str(path))

    def _function(self, spec: LambdaSpec) -> lambda_.Function:
        logs_of_fn = log_group(self, f"{spec.id}Logs", self.cfg)
        self.log_groups[spec.id] = logs_of_fn
        env = {
            "STORYREEL_BUCKET": self.storage.bucket.bucket_name,
            "STORYREEL_TABLE": self.storage.table.table_name,
            "EVENT_BUS_NAME": self.bus.event_bus_name,
            "POWERTOOLS_SERVICE_NAME": spec.service,
            "POWERTOOLS_METRICS_NAMESPACE": self.cfg.metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **self.cfg.settings_env(),
        }
        for key in spec.secrets:
            env[SECRET_ENV[key]] = self.cfg.secret_name(key)
        if spec.secrets:  # holds a vendor key, so it calls vendor HTTP APIs: trace httpx too
            env["STORYREEL_TRACE_HTTP"] = "1"
        # own role per function: its log group, its prefixes, the table, its secrets; no managed policies
        role = iam.Role(
            self,
            f"{spec.id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"storyreel {spec.id} Lambda",
        )
        logs_of_fn.grant_write(role)
        common = dict(
            function_name=self.physical_name(spec),
            role=role,
            description=f"storyreel {spec.id}: {spec.description}",
            architecture=lambda_.Architecture.ARM_64,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            environment=env,
            log_group=logs_of_fn,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=self.reserved_concurrency.get(spec.id),
        )
        fn: lambda_.Function
        if spec.id == "Transcribe" and self.cfg.whisper_transcribe:
            # the container image with faster-whisper (infra/images/transcribe): same handler, role and env
            fn = lambda_.DockerImageFunction(
                self,
                spec.id,
                code=transcribe_image_code(),
                memory_size=TRANSCRIBE_IMAGE_MEMORY_MB,
                ephemeral_storage_size=Size.mebibytes(TRANSCRIBE_IMAGE_EPHEMERAL_MB),
                **common,  # type: ignore[arg-type]
            )
            self._grant_whisper_model(role)
        else:
            fn = lambda_.Function(
                self,
                spec.id,
                runtime=RUNTIME,
                handler=spec.handler,
                code=self._code(spec),
                memory_size=spec.memory_mb,
                layers=[self.layer],
                ephemeral_storage_size=(
                    Size.mebibytes(spec.ephemeral_mb) if spec.ephemeral_mb != 512 else None
                ),
                **common,  # type: ignore[arg-type]
            )
        self.storage.grant_objects(fn, read=spec.s3_read, write=spec.s3_write, delete=spec.s3_delete)
        self.storage.grant_table(fn)
        for key in spec.secrets:
            self.secrets[key].grant_read(fn)
        if spec.puts_events:
            self.bus.grant_put_events_to(fn)
        return fn

    def _grant_whisper_model(self, role: iam.Role) -> None:
        """Read-only on the S3 prefix holding the Whisper model (whisper_model=s3://...): its objects and a
        listing of that prefix (services/transcribe/models.py lists, sums, then downloads into /tmp)."""
        located = self.cfg.whisper_model_s3
        if located is None:  # a faster-whisper size: fetched from the Hugging Face Hub, no S3 grant
            return
        bucket_name, prefix = located
        bucket = s3.Bucket.from_bucket_name(self, "WhisperModelBucket", bucket_name)
        objects = f"{prefix}/*" if prefix else "*"
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(objects)])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}} if prefix else None,
            )
        )
        ack(
            role,
            f"IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket_name}/{objects}]",
            "read-only on the Whisper model folder named by whisper_model: a CTranslate2 model is several files "
            "(model.bin, config.json, tokenizer.json, vocabulary.*) downloaded as a whole",
        )

    def grant_task_results(self, scope: Construct, state_machine: sfn.StateMachine) -> None:
        """Functions that finish `.waitForTaskToken` tasks get states:SendTask* on that machine only, as a
        policy of their own: the function does not wait for it (its role's default policy it does), which keeps
        the template acyclic (the machine invokes ClipsStart, whose environment names the webhook's URL)."""
        for spec_id, spec in self.specs.items():
            if spec.sends_task_results:
                role = self.fn[spec_id].role
                assert role is not None  # every function here gets its own role (_function)
                iam.Policy(
                    scope,
                    f"{spec_id}TaskResults",
                    statements=[
                        iam.PolicyStatement(
                            actions=[
                                "states:SendTaskSuccess",
                                "states:SendTaskFailure",
                                "states:SendTaskHeartbeat",
                            ],
                            resources=[state_machine.state_machine_arn],
                        )
                    ],
                    roles=[role],
                )

    def grant_start_execution(self, state_machine: sfn.StateMachine) -> None:
        """Functions that start runs get STATE_MACHINE_ARN and states:StartExecution on that machine only."""
        for spec_id, spec in self.specs.items():
            if spec.starts_executions:
                fn = self.fn[spec_id]
                fn.add_environment("STATE_MACHINE_ARN", state_machine.state_machine_arn)
                state_machine.grant_start_execution(fn)

    def grant_gpu_submit(self, job_queue_arn: str, job_definition_arn: str) -> None:
        """Functions that submit GPU jobs (a frame re-render on diffusers) get the queue and job definition in
        their environment and batch:SubmitJob on exactly those two."""
        for spec_id, spec in self.specs.items():
            if spec.submits_gpu_jobs:
                fn = self.fn[spec_id]
                fn.add_environment(GPU_QUEUE_ENV, job_queue_arn)
                fn.add_environment(GPU_DEFINITION_ENV, job_definition_arn)
                fn.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["batch:SubmitJob"], resources=[job_queue_arn, job_definition_arn]
                    )
                )


class Workflow(Construct):
    """The state machine from the ASL file; each task Lambda's ARN substituted in."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        cfg: InfraConfig,
        functions: StageFunctions,
        gpu_job_queue_arn: str,
        gpu_job_definition_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        substitutions = {
            spec.substitution: functions.fn[spec.id].function_arn
            for spec in functions.specs.values()
            if spec.in_state_machine
        }
        substitutions["GpuJobQueueArn"] = gpu_job_queue_arn
        substitutions["GpuJobDefinitionArn"] = gpu_job_definition_arn
        substitutions["ImagesMaxConcurrency"] = str(cfg.images_max_concurrency)
        self.substitutions = substitutions

        self.log_group = log_group(self, "ExecutionLogs", cfg)
        self.state_machine = sfn.StateMachine(
            self,
            "Storyboard",
            state_machine_type=sfn.StateMachineType.STANDARD,  # .sync Batch jobs, one execution per run
            definition_body=sfn.DefinitionBody.from_file(str(ASL_FILE)),
            definition_substitutions=substitutions,
            tracing_enabled=True,
            timeout=Duration.hours(2),
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        functions.grant_task_results(self, self.state_machine)
        # lambda:InvokeFunction on the unqualified ARNs only (grant_invoke would add `<arn>:*`)
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[
                    functions.fn[spec.id].function_arn
                    for spec in functions.specs.values()
                    if spec.in_state_machine
                ],
            )
        )

    def grant_batch_sync(self, job_queue_arn: str, job_definition_arn: str) -> None:
        """What `arn:aws:states:::batch:submitJob.sync` needs, per the Step Functions docs."""
        stack = Stack.of(self)
        role = self.state_machine.role
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["batch:SubmitJob"], resources=[job_queue_arn, job_definition_arn])
        )
        role.add_to_principal_policy(
            # DescribeJobs has no resource-level permissions; TerminateJob is scoped to jobs
            iam.PolicyStatement(actions=["batch:DescribeJobs"], resources=["*"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["batch:TerminateJob"],
                resources=[stack.format_arn(service="batch", resource="job", resource_name="*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForBatchJobsRule",
                    )
                ],
            )
        )


def transcribe_image_code() -> lambda_.DockerImageCode:
    """The Transcribe container image, staged at synth (no Docker needed) and built by `cdk deploy` from the
    repository root, filtered by the Dockerfile's own .dockerignore; its REQUIREMENTS are the transcribe group's
    pins plus TRANSCRIBE_IMAGE_PACKAGES (infra/functions.py), one a line."""
    return lambda_.DockerImageCode.from_image_asset(
        str(ROOT),
        file=TRANSCRIBE_IMAGE_DOCKERFILE,
        build_args={"REQUIREMENTS": "\n".join(requirements("transcribe", extra=TRANSCRIBE_IMAGE_PACKAGES))},
        platform=ecr_assets.Platform.LINUX_ARM64,
        exclude=docker_excludes(ROOT / TRANSCRIBE_IMAGE_DOCKERFILE),
        ignore_mode=IgnoreMode.DOCKER,
    )


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise ValueError(f"context log_retention_days={days}: choose one of {sorted(_RETENTION)}")
    return _RETENTION[days]


def log_group(scope: Construct, construct_id: str, cfg: InfraConfig) -> logs.LogGroup:
    """Every log group of the stack: the configured retention, removed with the stack (and checkov's
    KMS finding suppressed with its reason, infra/nag.py)."""
    made = logs.LogGroup(
        scope, construct_id, retention=retention(cfg.log_retention_days), removal_policy=RemovalPolicy.DESTROY
    )
    log_group_skips(made)
    return made
