"""The storyreel stack: one construct per concern, composed here."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_events as events
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.api import Api
from infra.constructs.gpu import GpuBatch
from infra.constructs.observability import Observability
from infra.constructs.storage import Storage
from infra.constructs.trigger import Triggers
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
        self.functions.grant_start_execution(self.workflow.state_machine)

        self.triggers = Triggers(
            self,
            "Triggers",
            self.storage.bucket,
            self.bus,
            self.functions.fn["Intake"],
            self.functions.fn["RenderRest"],
        )
        self.api = Api(self, "Api", cfg, self.functions.fn["Api"])
        self.observability = Observability(
            self, "Observability", self.workflow.state_machine, self.functions.fn, cfg.alarm_email
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
        add_suppressions(self)
