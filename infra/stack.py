"""The storyreel stack: one construct per concern, composed here."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_events as events
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.api import Api
from infra.constructs.auth import UserAuth
from infra.constructs.gpu import GpuBatch
from infra.constructs.observability import Observability
from infra.constructs.storage import Storage
from infra.constructs.trigger import Triggers
from infra.constructs.web import Web
from infra.constructs.workflow import StageFunctions, Workflow
from infra.nag import add_suppressions

GPU_DISABLED = "gpu-disabled"


class StoryreelStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, cfg: InfraConfig | None = None, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.cfg = cfg = cfg or InfraConfig.from_context(self.node)

        self.storage = Storage(self, "Storage", cfg)
        self.bus = events.EventBus(self, "Bus", description="storyreel run events (PreviewReady, ...)")
        self.functions = StageFunctions(self, "Stages", cfg, self.storage, self.bus)

        self.gpu: GpuBatch | None = None
        if cfg.gpu_enabled:
            self.gpu = GpuBatch(self, "Gpu", cfg, self.storage)
            queue_arn = self.gpu.job_queue.job_queue_arn
            definition_arn = self.gpu.job_definition.job_definition_arn
        else:
            # the ASL's batch branch is unreachable with API providers; these ARNs name nothing
            queue_arn = self.format_arn(service="batch", resource="job-queue", resource_name=GPU_DISABLED)
            definition_arn = self.format_arn(
                service="batch", resource="job-definition", resource_name=GPU_DISABLED
            )
        self.workflow = Workflow(self, "Workflow", cfg, self.functions, queue_arn, definition_arn)
        if self.gpu is not None:
            self.workflow.grant_batch_sync(queue_arn, definition_arn)
            self.functions.grant_gpu_submit(queue_arn, definition_arn)  # the API's GPU re-renders
        self.functions.grant_start_execution(self.workflow.state_machine)

        self.triggers = Triggers(
            self,
            "Triggers",
            self.storage.bucket,
            self.bus,
            self.functions.fn["Intake"],
            self.functions.fn["RenderRest"],
        )
        # the web app (S3 + CloudFront) and its sign-in (Cognito + the API's authorizer): infra/constructs/web.py
        self.web: Web | None = None
        self.users: UserAuth | None = None
        if cfg.web:
            self.web = Web(self, "Web", cfg, self.storage.access_logs)
            self.users = UserAuth(self, "Users", cfg, self.web.url)
        origins = (
            [self.web.origin, *([cfg.web_local_url.rstrip("/")] if cfg.web_local_url else [])]
            if self.web
            else []
        )
        self.api = Api(self, "Api", cfg, self.functions.fn["Api"], self.users, origins)
        if self.web is not None and self.users is not None:
            # the Api Lambda answers CORS for the same origins (Powertools CORSConfig, services/api)
            self.functions.fn["Api"].add_environment("STORYREEL_WEB_ORIGINS", ",".join(origins))
            self.web.deploy(web_app_config(self, self.users, self.web.url))
        self.observability = Observability(
            self,
            "Observability",
            self.workflow.state_machine,
            self.functions.fn,
            cfg.alarm_email,
            dead_letters=self.triggers.dead_letters,
        )

        CfnOutput(self, "BucketName", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "TableName", value=self.storage.table.table_name)
        CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
        CfnOutput(self, "EventBusName", value=self.bus.event_bus_name)
        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="storyreel API base URL")
        if self.api.api_key is not None:
            CfnOutput(
                self,
                "ApiKeyId",
                value=self.api.api_key.key_id,
                description="aws apigateway get-api-key --include-value --api-key <id> --query value --output text",
            )
        if self.web is not None and self.users is not None:
            CfnOutput(self, "WebUrl", value=self.web.url, description="the web app (sign in here)")
            CfnOutput(self, "HostedUiUrl", value=self.users.hosted_ui_url, description="Cognito hosted UI")
            CfnOutput(self, "UserPoolId", value=self.users.user_pool.user_pool_id)
            CfnOutput(self, "UserPoolClientId", value=self.users.client.user_pool_client_id)
        add_suppressions(self)


def web_app_config(stack: StoryreelStack, users: UserAuth, web_url: str) -> dict[str, object]:
    """/config.json: where the static app finds the API and the sign-in (services/web reads it)."""
    return {
        "api_url": stack.api.rest_api.url,
        "region": stack.region,
        "auth": "cognito",
        "user_pool_id": users.user_pool.user_pool_id,
        "client_id": users.client.user_pool_client_id,
        "cognito_domain": users.hosted_ui_url,
        "redirect_uri": web_url,
        "logout_uri": web_url,
        "scopes": ["openid", "email", "profile"],
    }
