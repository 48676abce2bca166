"""The web app in the cloud: services/web/static/ in a private S3 bucket behind CloudFront (origin access
control), and a config.json beside it telling the same static files where the API and the sign-in are.

Caching: index.html and config.json are `no-cache` (a browser revalidates them on every load, so a deploy or
a changed stack output is seen at once); every other file is `public, max-age=300`; each deploy invalidates
CloudFront. The app's files carry no content hashes, so a long max-age would mix old and new files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct, IConstruct

from infra.config import InfraConfig
from infra.constructs.workflow import log_group

STATIC_DIR = Path(__file__).resolve().parents[2] / "services" / "web" / "static"
CONFIG_FILE = "config.json"  # the app reads /config.json
INDEX = "index.html"
ASSET_MAX_AGE = Duration.minutes(5)
HSTS_MAX_AGE = Duration.days(730)
# The app talks to its own origin, the API (execute-api), S3 (presigned upload and image URLs) and the
# Cognito hosted UI (the token endpoint); no inline scripts, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https://*.amazonaws.com",
        "media-src 'self' blob: https://*.amazonaws.com",
        "connect-src 'self' https://*.amazonaws.com https://*.amazoncognito.com",
        "form-action 'self' https://*.amazoncognito.com",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    )
)


class Web(Construct):
    """`url` (https://<distribution>/, the redirect URI) and `origin` (the same without the slash: CORS)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        cfg: InfraConfig,
        log_bucket: s3.IBucket,
        static_dir: Path = STATIC_DIR,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cfg = cfg
        self.static_dir = static_dir
        # build output deployed from git: emptied by the deployments when the stack goes (retain_on_delete
        # False), so it can always be deleted with it, and not versioned (old copies would block that)
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="web/",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="storyreel web: HSTS, CSP, no sniffing, no framing, strict referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(
                    protection=True, mode_block=True, override=True
                ),
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment="storyreel web app",
            default_root_object=INDEX,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,  # honours the files' Cache-Control
                response_headers_policy=self.headers,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}/"
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.deployments: list[s3deploy.BucketDeployment] = []
        self.deploy_logs = log_group(self, "DeployLogs", cfg)

    def deploy(self, app_config: Mapping[str, Any]) -> None:
        """The static files as they are in the checkout, and config.json written from `app_config`."""
        files = [p for p in self.static_dir.rglob("*") if p.is_file()] if self.static_dir.is_dir() else []
        if files:
            site = s3deploy.Source.asset(str(self.static_dir))
            self._deployment(
                "Assets",
                site,
                cache=[s3deploy.CacheControl.set_public(), s3deploy.CacheControl.max_age(ASSET_MAX_AGE)],
                exclude=[INDEX, CONFIG_FILE],  # theirs, below (and kept by this one's prune)
                prune=True,
                paths=["/*"],
            )
            self._deployment(
                "Index",
                site,
                cache=[s3deploy.CacheControl.no_cache()],
                exclude=["*"],
                include=[INDEX],
                paths=["/", f"/{INDEX}"],
            )
        else:
            Annotations.of(self).add_warning_v2(
                "storyreel:web-static-empty",
                f"{self.static_dir} holds no files: only {CONFIG_FILE} is deployed",
            )
        self._deployment(
            "Config",
            s3deploy.Source.json_data(CONFIG_FILE, dict(app_config)),
            cache=[s3deploy.CacheControl.no_cache()],
            paths=[f"/{CONFIG_FILE}"],
        )

    def _deployment(
        self,
        construct_id: str,
        source: s3deploy.ISource,
        *,
        cache: list[s3deploy.CacheControl],
        paths: list[str],
        exclude: list[str] | None = None,
        include: list[str] | None = None,
        prune: bool = False,
    ) -> None:
        deployment = s3deploy.BucketDeployment(
            self,
            construct_id,
            destination_bucket=self.bucket,
            sources=[source],
            cache_control=cache,
            exclude=exclude,
            include=include,
            prune=prune,
            retain_on_delete=False,
            distribution=self.distribution,
            distribution_paths=paths,
            log_group=self.deploy_logs,
            memory_limit=256,
        )
        self.deployments.append(deployment)

    @property
    def deploy_handler(self) -> IConstruct | None:
        """CDK's singleton Lambda that copies the files (one for every BucketDeployment of the stack)."""
        stack = Stack.of(self)
        found = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
        return found[0] if found else None
