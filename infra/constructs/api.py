"""REST API Gateway in front of one Lambda (Powertools APIGatewayRestResolver).

Routes: POST /runs, GET /runs, GET /runs/{id}, POST /runs/{id}/images, POST /runs/{id}/feedback.
Auth: an API key with a usage plan (throttle + daily quota), or IAM (SigV4) with `-c api_auth=iam`.
Requests are validated at the gateway (path parameters present; POST bodies a JSON object of bounded
size), then fully by the resolver's pydantic models in the Lambda.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.workflow import retention

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/runs"),
    ("GET", "/runs"),
    ("GET", "/runs/{id}"),
    ("POST", "/runs/{id}/images"),
    ("POST", "/runs/{id}/feedback"),
)
MAX_BODY_PROPERTIES = 32


class Api(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, cfg: InfraConfig, handler: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(cfg.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        iam_auth = cfg.api_auth == "iam"
        self.api_key: apigw.IApiKey | None = None
        self.rest_api = apigw.RestApi(
            self,
            "Rest",
            description="storyreel runs API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                throttling_rate_limit=cfg.api_rate_limit,
                throttling_burst_limit=cfg.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
            default_method_options=apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM if iam_auth else apigw.AuthorizationType.NONE,
                api_key_required=not iam_auth,
            ),
        )
        body_model = self.rest_api.add_model(
            "JsonObject",
            content_type="application/json",
            model_name="JsonObject",
            schema=apigw.JsonSchema(
                schema=apigw.JsonSchemaVersion.DRAFT4,
                title="JsonObject",
                type=apigw.JsonSchemaType.OBJECT,
                max_properties=MAX_BODY_PROPERTIES,
            ),
        )
        body_validator = self.rest_api.add_request_validator(
            "BodyAndParams", validate_request_body=True, validate_request_parameters=True
        )
        params_validator = self.rest_api.add_request_validator(
            "Params", validate_request_body=False, validate_request_parameters=True
        )
        integration = apigw.LambdaIntegration(handler, proxy=True)

        self.methods: list[apigw.Method] = []
        for verb, path in ROUTES:
            resource = self.rest_api.root.resource_for_path(path)
            params = {f"method.request.path.{p}": True for p in _path_params(path)}
            if verb == "POST":
                method = resource.add_method(
                    verb,
                    integration,
                    request_validator=body_validator,
                    request_models={"application/json": body_model},
                    request_parameters=params or None,
                )
            else:
                method = resource.add_method(
                    verb, integration, request_validator=params_validator, request_parameters=params or None
                )
            self.methods.append(method)

        if not iam_auth:
            self.usage_plan = self.rest_api.add_usage_plan(
                "UsagePlan",
                throttle=apigw.ThrottleSettings(
                    rate_limit=cfg.api_rate_limit, burst_limit=cfg.api_burst_limit
                ),
                quota=apigw.QuotaSettings(limit=cfg.api_quota_per_day, period=apigw.Period.DAY),
                api_stages=[
                    apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)
                ],
            )
            self.api_key = self.rest_api.add_api_key("Key", description="storyreel API key")
            self.usage_plan.add_api_key(self.api_key)


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
