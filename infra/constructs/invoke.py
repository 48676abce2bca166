"""Asynchronous invokes between the stack's functions (infra.functions LambdaSpec `invokes`, `on_failure`):
the Api hands a queued export to the Export function (InvocationType=Event); what the Export function fails
to finish (a crash, a timeout, an event that aged out) goes to its on-failure destination, which records it."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations

from infra.functions import LambdaSpec
from infra.nag import ack

# An export that failed once fails again (its reason is recorded); retrying would encode the animatic twice.
ASYNC_RETRIES = 0
# A queued export older than this is not started: its destination records it failed (the user asks again).
MAX_EVENT_AGE = Duration.hours(1)


def function_name_env(target_id: str) -> str:
    """The environment variable naming function `target_id` to the functions that invoke it."""
    return f"{target_id.upper()}_FUNCTION_NAME"


def wire_async(fns: Mapping[str, lambda_.Function], specs: Mapping[str, LambdaSpec]) -> None:
    """lambda:InvokeFunction on exactly the functions each spec `invokes` (their unqualified ARNs; grant_invoke
    would add `<arn>:*`) with their names in its environment, and each `on_failure` destination."""
    for spec in specs.values():
        fn = fns[spec.id]
        for target_id in spec.invokes:
            target = fns[target_id]
            fn.add_environment(function_name_env(target_id), target.function_name)
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.function_arn])
            )
        if spec.on_failure is None:
            continue
        destination = fns[spec.on_failure]
        fn.configure_async_invoke(
            on_failure=destinations.LambdaDestination(destination),
            retry_attempts=ASYNC_RETRIES,
            max_event_age=MAX_EVENT_AGE,
        )
        role = fn.role
        if role is None:
            raise TypeError(f"{fn.node.path}: no execution role for its on-failure destination's grant")
        cfn = destination.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        ack(
            role,
            f"IAM5[Resource::<{fn.stack.get_logical_id(cfn)}.Arn>:*]",
            f"CDK's LambdaDestination grants invoke on the {spec.on_failure} function and its versions "
            "(`<arn>:*`): that one function only",
        )
