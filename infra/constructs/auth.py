"""Sign-in for the web app: a Cognito user pool with its hosted UI, the web app's public client (authorization
code grant, no secret: the app sends a PKCE challenge), and the REST API's Lambda authorizer, which accepts
either a Cognito JWT of that client or an API key (services/auth; docs/deploy.md says why this design).

The web app's requests are metered on one usage-plan key of their own ("web key"): its value is generated into
Secrets Manager, the API key is created from it, and only the authorizer reads it (never a browser).
"""

from __future__ import annotations

import re

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import InfraConfig
from infra.constructs.workflow import RUNTIME, log_group, powertools_layer_arn
from infra.functions import AUTHORIZER

SCOPES = (cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE)
WEB_KEY_LENGTH = 40  # API Gateway keys: 20 to 128 characters


def default_domain_prefix(stack: Stack) -> str:
    """<stack name>-<account id>, lowercase: unique per account and region for each stack (a token)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", stack.stack_name.lower()).strip("-")
    for word in ("aws", "amazon", "cognito"):  # words Cognito refuses in a prefix
        slug = slug.replace(word, "")
    return Fn.join("-", [slug.strip("-")[:40] or "storyreel", Aws.ACCOUNT_ID])


class UserAuth(Construct):
    def __init__(self, scope: Construct, construct_id: str, cfg: InfraConfig, web_url: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        threat = cfg.cognito_threat_protection
        self.user_pool = cognito.UserPool(
            self,
            "Pool",
            self_sign_up_enabled=cfg.cognito_self_sign_up,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS if threat else cognito.FeaturePlan.ESSENTIALS,
            standard_threat_protection_mode=(
                cognito.StandardThreatProtectionMode.FULL_FUNCTION if threat else None
            ),
            deletion_protection=cfg.retain_data,
            removal_policy=RemovalPolicy.RETAIN if cfg.retain_data else RemovalPolicy.DESTROY,
        )
        self.domain = self.user_pool.add_domain(
            "HostedUi",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=cfg.cognito_domain_prefix or default_domain_prefix(stack)
            ),
        )
        self.redirect_urls = [web_url, *([cfg.web_local_url] if cfg.web_local_url else [])]
        self.client = self.user_pool.add_client(
            "WebApp",
            generate_secret=False,  # a public client: the browser holds no secret, PKCE protects the code
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True, implicit_code_grant=False),
                scopes=list(SCOPES),
                callback_urls=self.redirect_urls,
                logout_urls=self.redirect_urls,
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        # sign-in only through the hosted UI (no password flows on the client's own API): refresh tokens only
        cfn_client = self.client.node.default_child
        if not isinstance(cfn_client, cognito.CfnUserPoolClient):
            raise TypeError(f"{self.client.node.path}: no AWS::Cognito::UserPoolClient to restrict")
        cfn_client.add_property_override("ExplicitAuthFlows", ["ALLOW_REFRESH_TOKEN_AUTH"])

        self.issuer = Fn.join(
            "", ["https://cognito-idp.", Aws.REGION, ".", Aws.URL_SUFFIX, "/", self.user_pool.user_pool_id]
        )
        self.web_key = secretsmanager.Secret(
            self,
            "WebApiKey",
            description="storyreel: the web app's API Gateway usage-plan key (read by the API authorizer only)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=WEB_KEY_LENGTH, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.authorizer_fn = self._authorizer(cfg)

    def _authorizer(self, cfg: InfraConfig) -> lambda_.Function:
        spec = AUTHORIZER
        self.authorizer_logs = log_group(self, f"{spec.id}Logs", cfg)
        role = iam.Role(
            self,
            f"{spec.id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"storyreel {spec.id} Lambda",
        )
        self.authorizer_logs.grant_write(role)
        code = cfg.lambda_assets / spec.asset
        if not (code / "storyreel" / "services" / "auth").is_dir():
            raise FileNotFoundError(
                f"Lambda asset {code} is missing or incomplete: run `make lambda-assets` "
                "(or `python -m infra.bundle`) before synth"
            )
        fn = lambda_.Function(
            self,
            spec.id,
            role=role,
            description=f"storyreel {spec.id}: {spec.description}",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(code)),
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(self, cfg.powertools_layer_version)
                )
            ],
            environment={
                "POWERTOOLS_SERVICE_NAME": spec.service,
                "POWERTOOLS_METRICS_NAMESPACE": cfg.metrics_namespace,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "STORYREEL_COGNITO_ISSUER": self.issuer,
                "STORYREEL_COGNITO_CLIENT_ID": self.client.user_pool_client_id,
                "STORYREEL_WEB_API_KEY_SECRET": self.web_key.secret_arn,
            },
            log_group=self.authorizer_logs,
            logging_format=lambda_.LoggingFormat.JSON,
        )
        self.web_key.grant_read(fn)
        return fn

    @property
    def hosted_ui_url(self) -> str:
        return self.domain.base_url()
