"""Observability: alarms on failed, timed-out and throttled executions and on dead-lettered events (+ optional
e-mail), a dashboard of the stage Lambdas (durations, errors, throttles).
X-Ray tracing is switched on where each resource is made (Lambdas, state machine, API stage)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        state_machine: sfn.IStateMachine,
        functions: dict[str, lambda_.Function],
        alarm_email: str | None,
        dead_letters: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Alarms",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        action = cw_actions.SnsAction(self.topic)

        def alarm(construct_id: str, description: str, metric: cloudwatch.IMetric) -> cloudwatch.Alarm:
            """One or more in five minutes raises it, and it notifies the topic."""
            made = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_description=description,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            made.add_alarm_action(action)
            return made

        five_minutes = Duration.minutes(5)
        self.failed_executions = alarm(
            "FailedExecutions",
            "a storyreel run failed (Step Functions ExecutionsFailed >= 1 in 5 minutes)",
            state_machine.metric_failed(period=five_minutes, statistic="Sum"),
        )
        self.timed_out_executions = alarm(
            "TimedOutExecutions",
            "a storyreel run timed out",
            state_machine.metric_timed_out(period=five_minutes, statistic="Sum"),
        )

        # Step Functions refused a StartExecution (the account's start rate or open-executions quota binds):
        # the intake's start fails, Lambda retries the event, and it may end in the dead-letter queue.
        self.throttled_executions = alarm(
            "ThrottledExecutions",
            "Step Functions throttled a storyreel execution (docs/capacity.md: what binds and what to change)",
            state_machine.metric_throttled(period=five_minutes, statistic="Sum"),
        )
        self.dead_lettered: cloudwatch.Alarm | None = None
        if dead_letters is not None:
            # an upload or PreviewReady event that failed every retry: its run never started or never finished
            # its background renders; the message holds the event to replay (docs/deploy.md)
            self.dead_lettered = alarm(
                "DeadLetteredEvents",
                "an upload or render event failed every retry and sits in the dead-letter queue",
                dead_letters.metric_approximate_number_of_messages_visible(
                    period=five_minutes, statistic="Maximum"
                ),
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(),
                    state_machine.metric_succeeded(),
                    state_machine.metric_failed(),
                ],
                width=24,
            )
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Stage duration p90 (ms)",
                left=[fn.metric_duration(statistic="p90", label=name) for name, fn in functions.items()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Stage errors",
                left=[fn.metric_errors(label=name) for name, fn in functions.items()],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Stage throttles (a concurrency limit binds)",
                left=[fn.metric_throttles(label=name) for name, fn in functions.items()],
                width=24,
            )
        )
