"""Triggers: S3 Object Created under uploads/ -> intake Lambda (default bus, pattern from a JSON file),
and "PreviewReady" on the storyreel bus -> render_rest Lambda (background render of pending frames)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

STATEMACHINE_DIR = Path(__file__).resolve().parent.parent / "statemachine"
UPLOAD_PATTERN_FILE = STATEMACHINE_DIR / "upload_rule_pattern.json"
EVENT_SOURCE = "storyreel"  # what shared.aws.events.put_events sends as Source
PREVIEW_READY = "PreviewReady"
_PATTERN_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def pattern_dict(
    path: Path, substitutions: dict[str, Any], require_detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON pattern file with every "${Name}" string replaced by substitutions[Name]; `require_detail`
    entries are added to `detail` where the file does not constrain them itself."""

    def sub(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: sub(v) for k, v in node.items()}
        if isinstance(node, list):
            return [sub(v) for v in node]
        if isinstance(node, str) and node.startswith("${") and node.endswith("}"):
            name = node[2:-1]
            if name not in substitutions:
                raise KeyError(f"{path.name}: no substitution for ${{{name}}}")
            return substitutions[name]
        return node

    raw = json.loads(path.read_text())
    if require_detail:
        raw["detail"] = {**require_detail, **raw.get("detail", {})}
    unknown = set(raw) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"{path.name}: unsupported top-level keys {sorted(unknown)}")
    return sub(raw)


def load_event_pattern(
    path: Path, substitutions: dict[str, Any], require_detail: dict[str, Any] | None = None
) -> events.EventPattern:
    raw = pattern_dict(path, substitutions, require_detail)
    return events.EventPattern(**{_PATTERN_FIELDS[k]: v for k, v in raw.items()})


class Triggers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        bucket: s3.IBucket,
        bus: events.IEventBus,
        intake: lambda_.Function,
        render_rest: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        # events EventBridge could not deliver (after its retries) land here instead of vanishing
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )

        def target(fn: lambda_.IFunction) -> targets.LambdaFunction:
            return targets.LambdaFunction(
                fn, dead_letter_queue=self.dead_letters, retry_attempts=4, max_event_age=Duration.hours(2)
            )

        # EventBridge invokes both functions asynchronously: its dead-letter queue only catches events it
        # could not hand to Lambda; an invocation that Lambda accepted and that still fails after Lambda's own
        # two retries goes to the function's dead-letter queue, the same queue, instead of vanishing
        self.dead_lettered = (intake, render_rest)
        for fn in self.dead_lettered:
            cfn_fn = fn.node.default_child
            if not isinstance(cfn_fn, lambda_.CfnFunction):
                raise TypeError(f"{fn.node.path}: no AWS::Lambda::Function to set the dead-letter queue on")
            cfn_fn.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
                target_arn=self.dead_letters.queue_arn
            )
            fn.add_to_role_policy(  # what a Lambda DLQ needs, no more (grant_send_messages adds reads)
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn])
            )
        self.upload_rule = events.Rule(
            self,
            "UploadCreated",
            description="S3 Object Created under uploads/ -> intake (creates the run, starts the execution)",
            # the runtime owns the pattern file; the stack pins it to this bucket in any case (S3 sends the
            # events of every EventBridge-enabled bucket to the same default bus)
            event_pattern=load_event_pattern(
                UPLOAD_PATTERN_FILE,
                {"BucketName": bucket.bucket_name},
                require_detail={"bucket": {"name": [bucket.bucket_name]}},
            ),
            targets=[target(intake)],
        )
        self.preview_rule = events.Rule(
            self,
            "PreviewReady",
            description="a preview run finished with frames pending -> render the rest",
            event_bus=bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[PREVIEW_READY]),
            targets=[target(render_rest)],
        )
