"""The REST API's Lambda REQUEST authorizer: a Cognito JWT or an API key (services/auth/verify.py decides).

Environment (set by infra/constructs/auth.py): STORYREEL_COGNITO_ISSUER, STORYREEL_COGNITO_CLIENT_ID and
STORYREEL_WEB_API_KEY_SECRET (the Secrets Manager secret holding the web app's usage-plan key).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import jwt
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from storyreel.services.auth.verify import Unauthorized, UserPool, identify
from storyreel.shared.aws.observability import lambda_entry, logger

JWKS_LIFESPAN_S = 3600  # Cognito rotates its signing keys rarely; an unknown kid refetches the set anyway
JWKS_TIMEOUT_S = 5
WEB_KEY_MAX_AGE_S = 300


@cache
def user_pool() -> UserPool:
    return UserPool(
        issuer=os.environ["STORYREEL_COGNITO_ISSUER"], client_id=os.environ["STORYREEL_COGNITO_CLIENT_ID"]
    )


@cache
def jwks() -> jwt.PyJWKClient:
    return jwt.PyJWKClient(user_pool().jwks_url, lifespan=JWKS_LIFESPAN_S, timeout=JWKS_TIMEOUT_S)


def web_key() -> str:
    """The web app's usage-plan key (Powertools Parameters caches it for WEB_KEY_MAX_AGE_S)."""
    value = parameters.get_secret(os.environ["STORYREEL_WEB_API_KEY_SECRET"], max_age=WEB_KEY_MAX_AGE_S)
    if not isinstance(value, str) or not value:
        raise RuntimeError("the web API key secret is empty or not a string")
    return value


@lambda_entry
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    try:
        caller = identify(event.headers, user_pool(), jwks(), web_key)
    except Unauthorized as exc:
        logger.info("unauthorized", extra={"reason": str(exc), "path": event.path})
        raise Exception("Unauthorized") from None  # the exact message API Gateway turns into a 401
    arn = event.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=caller.principal_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=caller.context,
        usage_identifier_key=caller.usage_key,
        partition=arn.partition,
    )
    if arn.http_method is None:
        raise ValueError(f"methodArn without an HTTP method: {event.method_arn}")
    response.allow_route(http_method=arn.http_method, resource=arn.resource)  # this request only: no cache
    logger.info("authorized", extra={"auth": caller.context["auth"], "principal": caller.principal_id})
    return response.asdict()
