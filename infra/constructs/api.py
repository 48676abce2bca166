"""REST API Gateway in front of one Lambda (Powertools APIGatewayRestResolver).

Routes: POST /runs, GET /runs, GET /runs/{id}, POST /runs/{id}/images, POST /runs/{id}/feedback.
Auth: with the web app (the default), a Lambda REQUEST authorizer (services/auth) on every method accepts a
Cognito JWT of the web client or an API key; the key source is AUTHORIZER, so API Gateway still checks each
machine client's key against its usage plan, and signed-in users are metered on the web app's own plan.
Without it (`-c web=false`): an API key with a usage plan (throttle + daily quota), or IAM (SigV4) with
`-c api_auth=iam`. CORS (preflight, and the gateway's own 4xx/5xx) for the web app's origins.
Requests are validated at the gateway (path parameters present; POST bodies a JSON object with at most
MAX_BODY_PROPERTIES keys); bodies over MAX_BODY_BYTES, floods from one IP and AWS's managed known-bad-input
patterns are blocked by a WAF web ACL on the stage (`-c api_waf=false` to leave it out), then the resolver's
pydantic models validate fully.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.auth import UserAuth
from infra.constructs.workflow import log_group

# The API's routes come from the OpenAPI document the resolver generates (committed, checked for drift in
# CI), so the gateway and the Lambda cannot drift. Without it there is no API to deploy: an error, not a guess.
OPENAPI_FILE = Path(__file__).resolve().parents[2] / "services" / "api" / "openapi.json"
_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def api_routes(openapi_file: Path = OPENAPI_FILE) -> tuple[tuple[str, str], ...]:
    if not openapi_file.is_file():
        raise FileNotFoundError(f"{openapi_file} is missing: run `make openapi` and commit it")
    paths = json.loads(openapi_file.read_text()).get("paths", {})
    routes = tuple(
        (verb.upper(), path) for path, ops in sorted(paths.items()) for verb in ops if verb.upper() in _VERBS
    )
    if not routes:
        raise ValueError(f"{openapi_file}: no paths")
    return routes


MAX_BODY_PROPERTIES = 32
MAX_BODY_BYTES = 16 * 1024  # all our bodies are small JSON; also WAF's default inspection size for API GW
RATE_LIMIT_PER_IP = 500  # requests per 5 minutes from one address
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"  # AWS managed rule group (200 WCU)
CORS_HEADERS = ["Authorization", "Content-Type", "X-Api-Key"]
CORS_MAX_AGE = Duration.hours(1)


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        cfg: InfraConfig,
        handler: lambda_.IFunction,
        users: UserAuth | None = None,
        web_origins: Sequence[str] = (),
    ) -> None:
        """`users`: sign-in for the web app (the authorizer); `web_origins`: the origins CORS allows."""
        super().__init__(scope, construct_id)
        access_logs = log_group(self, "AccessLogs", cfg)
        iam_auth = cfg.api_auth == "iam"
        self.api_key: apigw.IApiKey | None = None
        self.web_api_key: apigw.IApiKey | None = None
        self.authorizer: apigw.RequestAuthorizer | None = None
        if users is not None:
            if iam_auth:
                raise ValueError("the web app's sign-in needs api_auth=api_key")
            # no identity source and no result cache: a request carries a bearer token OR an API key, and a
            # REQUEST authorizer with identity sources answers 401 itself when one of them is missing
            self.authorizer = apigw.RequestAuthorizer(
                self,
                "Authorizer",
                handler=users.authorizer_fn,
                identity_sources=[],
                results_cache_ttl=Duration.seconds(0),
            )
            cfn_authorizer = self.authorizer.node.default_child
            if not isinstance(cfn_authorizer, apigw.CfnAuthorizer):
                raise TypeError(f"{self.authorizer.node.path}: no AWS::ApiGateway::Authorizer")
            cfn_authorizer.add_property_deletion_override("IdentitySource")
        if self.authorizer is not None:
            method_options = apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.CUSTOM,
                authorizer=self.authorizer,
                api_key_required=True,
            )
        else:
            method_options = apigw.MethodOptions(
                authorization_type=apigw.AuthorizationType.IAM if iam_auth else apigw.AuthorizationType.NONE,
                api_key_required=not iam_auth,
            )
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
            default_method_options=method_options,
            api_key_source_type=(
                apigw.ApiKeySourceType.AUTHORIZER if self.authorizer else apigw.ApiKeySourceType.HEADER
            ),
            default_cors_preflight_options=(
                apigw.CorsOptions(
                    allow_origins=list(web_origins),
                    allow_methods=["GET", "POST", "OPTIONS"],
                    allow_headers=CORS_HEADERS,
                    max_age=CORS_MAX_AGE,
                )
                if web_origins
                else None
            ),
        )
        if web_origins:
            # the gateway's own errors (401 from the authorizer, 403 for a bad key, 429 throttled) readable
            # by the web app's main origin
            for name, kind in (
                ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
                ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
            ):
                self.rest_api.add_gateway_response(
                    name, type=kind, response_headers={"Access-Control-Allow-Origin": f"'{web_origins[0]}'"}
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
        for verb, path in api_routes():
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

        self.web_acl: wafv2.CfnWebACL | None = None
        if cfg.api_waf:
            self.web_acl = self._web_acl()
            wafv2.CfnWebACLAssociation(
                self,
                "WafAssociation",
                resource_arn=self.rest_api.deployment_stage.stage_arn,
                web_acl_arn=self.web_acl.attr_arn,
            )

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
        if users is not None:
            self.web_usage_plan = self.rest_api.add_usage_plan(
                "WebUsagePlan",
                description="the web app: every signed-in user's requests (the authorizer's web key)",
                throttle=apigw.ThrottleSettings(
                    rate_limit=cfg.api_rate_limit, burst_limit=cfg.api_burst_limit
                ),
                quota=apigw.QuotaSettings(limit=cfg.web_quota_per_day, period=apigw.Period.DAY),
                api_stages=[
                    apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)
                ],
            )
            self.web_api_key = apigw.ApiKey(
                self,
                "WebKey",
                description="storyreel web app (sent by the authorizer for signed-in users, never by a browser)",
                value=users.web_key.secret_value.unsafe_unwrap(),  # a {{resolve:secretsmanager:...}} reference
            )
            self.web_usage_plan.add_api_key(self.web_api_key)

    def _web_acl(self) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        block = wafv2.CfnWebACL.RuleActionProperty(block={})
        return wafv2.CfnWebACL(
            self,
            "Waf",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("storyreel-api"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="body-size-limit",
                    priority=0,
                    action=block,
                    visibility_config=visibility("storyreel-api-body-size"),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                            comparison_operator="GT",
                            size=MAX_BODY_BYTES,
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                            ),
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                            ],
                        )
                    ),
                ),
                # AWS's managed "known bad inputs" group: request patterns of known exploits (Log4j JNDI
                # lookups, Java deserialization, localhost Host headers, ...); its own rules block
                wafv2.CfnWebACL.RuleProperty(
                    name="known-bad-inputs",
                    priority=2,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    visibility_config=visibility("storyreel-api-known-bad-inputs"),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=KNOWN_BAD_INPUTS
                        )
                    ),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-per-ip",
                    priority=1,
                    action=block,
                    visibility_config=visibility("storyreel-api-rate"),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=RATE_LIMIT_PER_IP
                        )
                    ),
                ),
            ],
        )


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
