"""Stack options from CDK context (cdk.json `context`, or `-c key=value`), validated in one place."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # keep this module importable without starting jsii (the bench uses it)
    from constructs import Node

ROOT = Path(__file__).resolve().parent.parent
IMAGE_PROVIDERS = ("replicate", "stability", "openai", "batch")
API_AUTH = ("api_key", "iam")
# The cloud's transcriber: openai (the zip Lambda), or whisper: the Transcribe function becomes a container image
# carrying faster-whisper (infra/images/transcribe; the zip cannot hold it: docs/transcribe.md)
TRANSCRIBERS = ("openai", "whisper")
# a Cognito hosted-UI domain prefix: lowercase letters, digits and hyphens, globally unique per region, and
# Cognito refuses prefixes containing these words
COGNITO_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
COGNITO_RESERVED = ("aws", "amazon", "cognito")


@dataclass(frozen=True)
class InfraConfig:
    image_provider: str = "replicate"  # "batch" creates the GPU resources (Batch + VPC + image asset)
    images_max_concurrency: int = 10  # the images Map's MaxConcurrency
    lambda_assets: Path = ROOT / ".lambda-assets"  # built by `make lambda-assets`
    gpu_build_context: Path = ROOT  # the worker image builds from the repository root ...
    gpu_dockerfile: str = "services/images/gpu/Dockerfile"  # ... with this Dockerfile (relative to it)
    gpu_model_uri: str | None = None  # s3://bucket/prefix holding the diffusers model (model_index.json)
    gpu_instance_types: tuple[str, ...] = ("g5.xlarge",)
    gpu_max_vcpus: int = 16
    gpu_spot: bool = False
    powertools_layer_version: int = 38
    secret_prefix: str = "storyreel/"  # secret names: storyreel/openai, storyreel/replicate, ...
    metrics_namespace: str = "Storyreel"
    api_auth: str = "api_key"  # or "iam" (SigV4)
    api_rate_limit: float = 10.0
    api_burst_limit: int = 20
    api_quota_per_day: int = 5000
    api_waf: bool = True  # WAF web ACL on the stage: body size limit, per-IP rate limit, known bad inputs
    # Reserved concurrency, a cost guard on the two functions whose load comes from outside.
    # Api: as many as the stage's burst limit, so API Gateway's own throttle (a clean 429) answers a flood
    # before Lambda throttles; Images: two runs rendering at full width (Map MaxConcurrency) at once; every
    # further scene waits in the Map's Retry on Lambda.TooManyRequestsException instead of spending more
    # provider money in parallel. Reserved concurrency comes out of the account's pool, which must keep 100
    # unreserved: in an account with a low concurrency quota pass `-c api_reserved_concurrency=none` (or
    # images_...=none; cdk.json: "none").
    api_reserved_concurrency: int | None = 20
    images_reserved_concurrency: int | None = 20
    log_retention_days: int = 30
    uploads_expire_days: int = 7
    alarm_email: str | None = None
    retain_data: bool = True  # RETAIN bucket/table on stack delete
    # The web app (infra/constructs/web.py, auth.py): S3 + CloudFront, a Cognito user pool and hosted UI, and
    # the API's authorizer (a Cognito JWT or an API key). Needs api_auth=api_key.
    web: bool = True
    web_local_url: str | None = "http://localhost:8000/"  # `storyreel serve`: also a callback URL and origin
    cognito_domain_prefix: str | None = None  # default: <stack name>-<account id>
    cognito_self_sign_up: bool = False  # default: an admin invites users (aws cognito-idp admin-create-user)
    cognito_threat_protection: bool = True  # the Plus feature plan with threat protection enforced (billed)
    web_quota_per_day: int = 20000  # the web app's usage plan (all signed-in users together)
    # transcription.provider on every Lambda; "whisper" deploys the Transcribe function as a container image
    transcriber: str = "openai"
    # with transcriber=whisper, transcription.model: s3://bucket/prefix (a CTranslate2 model folder; the function
    # may read that prefix only) or a faster-whisper size (fetched from the Hugging Face Hub on every cold start)
    whisper_model: str = "base.en"
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # -> STORYREEL_<SECTION>__<KEY>

    @classmethod
    def from_context(cls, node: Node) -> InfraConfig:
        def get(key: str, default: Any) -> Any:
            value = node.try_get_context(key)
            return default if value is None else value

        def as_bool(value: Any) -> bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")

        settings = get("settings", {})
        if isinstance(settings, str):  # -c settings='{"llm": {"provider": "openai"}}'
            settings = json.loads(settings)
        types = get("gpu_instance_types", list(cls.gpu_instance_types))
        if isinstance(types, str):
            types = [t.strip() for t in types.split(",") if t.strip()]
        email = get("alarm_email", None)

        def reserved(key: str, default: int | None) -> int | None:
            value = node.try_get_context(key)
            if value is None:
                return default
            return None if str(value).strip().lower() in ("none", "off", "false") else int(value)

        cfg = cls(
            image_provider=str(get("image_provider", cls.image_provider)),
            images_max_concurrency=int(get("images_max_concurrency", cls.images_max_concurrency)),
            lambda_assets=(ROOT / str(get("lambda_assets", cls.lambda_assets))).resolve(),
            gpu_build_context=(ROOT / str(get("gpu_build_context", cls.gpu_build_context))).resolve(),
            gpu_dockerfile=str(get("gpu_dockerfile", cls.gpu_dockerfile)),
            gpu_model_uri=str(get("gpu_model_uri", "")) or None,
            gpu_instance_types=tuple(types),
            gpu_max_vcpus=int(get("gpu_max_vcpus", cls.gpu_max_vcpus)),
            gpu_spot=as_bool(get("gpu_spot", cls.gpu_spot)),
            powertools_layer_version=int(get("powertools_layer_version", cls.powertools_layer_version)),
            secret_prefix=str(get("secret_prefix", cls.secret_prefix)),
            metrics_namespace=str(get("metrics_namespace", cls.metrics_namespace)),
            api_auth=str(get("api_auth", cls.api_auth)),
            api_rate_limit=float(get("api_rate_limit", cls.api_rate_limit)),
            api_burst_limit=int(get("api_burst_limit", cls.api_burst_limit)),
            api_quota_per_day=int(get("api_quota_per_day", cls.api_quota_per_day)),
            api_waf=as_bool(get("api_waf", cls.api_waf)),
            api_reserved_concurrency=reserved("api_reserved_concurrency", cls.api_reserved_concurrency),
            images_reserved_concurrency=reserved(
                "images_reserved_concurrency", cls.images_reserved_concurrency
            ),
            log_retention_days=int(get("log_retention_days", cls.log_retention_days)),
            uploads_expire_days=int(get("uploads_expire_days", cls.uploads_expire_days)),
            alarm_email=str(email) if email else None,
            retain_data=as_bool(get("retain_data", cls.retain_data)),
            web=as_bool(get("web", cls.web)),
            web_local_url=_optional(get("web_local_url", cls.web_local_url)),
            cognito_domain_prefix=_optional(get("cognito_domain_prefix", None)),
            cognito_self_sign_up=as_bool(get("cognito_self_sign_up", cls.cognito_self_sign_up)),
            cognito_threat_protection=as_bool(
                get("cognito_threat_protection", cls.cognito_threat_protection)
            ),
            web_quota_per_day=int(get("web_quota_per_day", cls.web_quota_per_day)),
            transcriber=str(get("transcriber", cls.transcriber)),
            whisper_model=str(get("whisper_model", cls.whisper_model)).strip(),
            settings=settings,
        )
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if self.image_provider not in IMAGE_PROVIDERS:
            raise ValueError(
                f"context image_provider={self.image_provider!r}: choose one of {IMAGE_PROVIDERS}"
            )
        if self.api_auth not in API_AUTH:
            raise ValueError(f"context api_auth={self.api_auth!r}: choose one of {API_AUTH}")
        if not 1 <= self.images_max_concurrency <= 40:
            raise ValueError("context images_max_concurrency must be 1..40")
        for key in ("api_reserved_concurrency", "images_reserved_concurrency"):
            value = getattr(self, key)
            if value is not None and not 1 <= value <= 1000:
                raise ValueError(f"context {key}={value}: 1..1000, or none for no reservation")
        if (
            self.images_reserved_concurrency is not None
            and self.images_reserved_concurrency < self.images_max_concurrency
        ):
            raise ValueError(
                f"context images_reserved_concurrency={self.images_reserved_concurrency} is below "
                f"images_max_concurrency={self.images_max_concurrency}: one run's Map would throttle itself"
            )
        if self.gpu_model_uri is not None and not self.gpu_model_uri.startswith("s3://"):
            raise ValueError(f"context gpu_model_uri={self.gpu_model_uri!r}: expected s3://bucket/prefix")
        if self.web and self.api_auth != "api_key":
            raise ValueError(
                f"context web=true needs api_auth=api_key (signed-in users and API keys), not "
                f"{self.api_auth!r}: pass -c web=false with api_auth={self.api_auth}"
            )
        prefix = self.cognito_domain_prefix
        if prefix is not None and (
            not COGNITO_PREFIX.match(prefix) or any(word in prefix for word in COGNITO_RESERVED)
        ):
            raise ValueError(
                f"context cognito_domain_prefix={prefix!r}: 1-63 lowercase letters, digits and hyphens, "
                f"not starting or ending with a hyphen, without {'/'.join(COGNITO_RESERVED)}"
            )
        if self.web_local_url is not None and not re.match(r"^http://localhost(:\d+)?/$", self.web_local_url):
            raise ValueError(
                f"context web_local_url={self.web_local_url!r}: expected http://localhost:<port>/ (or none)"
            )
        if not isinstance(self.settings, dict) or not all(
            isinstance(v, dict) for v in self.settings.values()
        ):
            raise ValueError('context settings must look like {"section": {"key": value}}')
        if self.transcriber not in TRANSCRIBERS:
            raise ValueError(f"context transcriber={self.transcriber!r}: choose one of {TRANSCRIBERS}")
        given = self.settings.get("transcription", {})
        if given.get("provider", self.transcriber) != self.transcriber:
            raise ValueError(
                f"context settings.transcription.provider={given['provider']!r}: the cloud's transcriber is "
                f"-c transcriber=openai|whisper (now {self.transcriber!r}), not a setting"
            )
        if self.whisper_transcribe:
            if given.get("model", self.whisper_model) != self.whisper_model:
                raise ValueError(
                    f"context settings.transcription.model={given['model']!r}: with transcriber=whisper the "
                    f"model is -c whisper_model=s3://bucket/prefix (now {self.whisper_model!r})"
                )
            if not self.whisper_model or (self.whisper_model_s3 is not None and not self.whisper_model_s3[0]):
                raise ValueError(
                    f"context whisper_model={self.whisper_model!r}: expected s3://bucket/prefix (a CTranslate2 "
                    "model folder) or a faster-whisper size such as base.en"
                )

    @property
    def whisper_transcribe(self) -> bool:
        """The Transcribe function is the container image carrying faster-whisper (infra/images/transcribe)."""
        return self.transcriber == "whisper"

    @property
    def whisper_model_s3(self) -> tuple[str, str] | None:
        """(bucket, prefix without slashes) when whisper_model is s3://..., else None."""
        if not self.whisper_model.startswith("s3://"):
            return None
        bucket, _, prefix = self.whisper_model[len("s3://") :].partition("/")
        return bucket, prefix.strip("/")

    @property
    def gpu_enabled(self) -> bool:
        return self.image_provider == "batch"

    def settings_env(self) -> dict[str, str]:
        """STORYREEL_<SECTION>__<KEY> overrides (values as YAML/JSON scalars, read by shared.settings)."""
        env = {"STORYREEL_IMAGE_GENERATION__PROVIDER": self.image_provider}
        env["STORYREEL_IMAGE_GENERATION__CONCURRENCY"] = str(self.images_max_concurrency)
        env["STORYREEL_TRANSCRIPTION__PROVIDER"] = self.transcriber  # settings may repeat it, not change it
        if self.whisper_transcribe:
            env["STORYREEL_TRANSCRIPTION__MODEL"] = self.whisper_model
        for section, values in self.settings.items():
            for key, value in values.items():
                env[f"STORYREEL_{section.upper()}__{key.upper()}"] = (
                    value if isinstance(value, str) else json.dumps(value)
                )
        return env

    def secret_name(self, key: str) -> str:
        return f"{self.secret_prefix}{key}"


def _optional(value: object) -> str | None:
    """A context string where "none" (or empty) means unset."""
    text = "" if value is None else str(value).strip()
    return None if text.lower() in ("", "none", "off", "false") else text
