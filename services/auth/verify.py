"""Who is calling the API: a signed-in user (a Cognito JWT, verified against the user pool's JWKS with PyJWT)
or a machine client (an API key, which API Gateway itself checks against the usage plan).

The API's key source is AUTHORIZER: API Gateway meters and checks the key this module returns as
`usageIdentifierKey`. A user's request is metered on the web key (one key shared by the web app's usage plan,
read from Secrets Manager, never sent to a browser); a machine client's own `x-api-key` is passed through,
and API Gateway refuses it (403) when it is not a key of a usage plan on the stage.

What the API handler reads (requestContext.authorizer.*): `principalId` and `sub` (the Cognito user's `sub`)
with `auth` = "cognito"; or `auth` = "api_key" and then requestContext.identity.apiKeyId names the client.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

BEARER = "bearer "
API_KEY_HEADER = "x-api-key"
AUTHORIZATION = "authorization"
API_KEY_PRINCIPAL = "api-key"
ALGORITHMS = ["RS256"]  # what Cognito signs its tokens with
REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "token_use"]


class Unauthorized(Exception):
    """No credentials, or credentials that do not verify: API Gateway answers 401."""


@dataclass(frozen=True)
class UserPool:
    issuer: str  # https://cognito-idp.<region>.amazonaws.com/<user pool id>
    client_id: str  # the web app's client: tokens issued to any other client are refused

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"


@dataclass(frozen=True)
class Caller:
    principal_id: str
    usage_key: str  # the API key value API Gateway meters this request on (usageIdentifierKey)
    context: dict[str, str]  # -> requestContext.authorizer.<key> in the API's event


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header by name, case-insensitively (HTTP header names are)."""
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def verify_token(token: str, pool: UserPool, jwks: jwt.PyJWKClient) -> dict[str, Any]:
    """The claims of a Cognito access or ID token issued by `pool` to its client; Unauthorized otherwise.

    A JWKS that cannot be fetched raises PyJWKClientConnectionError: a server fault (500), not a bad token."""
    try:
        key = jwks.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            issuer=pool.issuer,
            options={"require": REQUIRED_CLAIMS, "verify_aud": False},  # aud: only ID tokens have one
        )
    except jwt.PyJWKClientConnectionError:
        raise
    except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
        raise Unauthorized(f"token rejected: {exc}") from exc
    use = claims["token_use"]
    if use == "access":
        issued_to = claims.get("client_id")
    elif use == "id":
        issued_to = claims.get("aud")
    else:
        raise Unauthorized(f"token_use {use!r} is neither access nor id")
    if issued_to != pool.client_id:
        raise Unauthorized("token issued to another client")
    return claims


def identify(
    headers: Mapping[str, str] | None,
    pool: UserPool,
    jwks: jwt.PyJWKClient,
    web_key: Callable[[], str],
) -> Caller:
    """A bearer token wins (and must verify: no falling back to a key); else an API key; else Unauthorized."""
    authorization = header(headers, AUTHORIZATION)
    if authorization is not None:
        if not authorization.lower().startswith(BEARER):
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        claims = verify_token(authorization[len(BEARER) :].strip(), pool, jwks)
        sub = str(claims["sub"])
        context = {"auth": "cognito", "sub": sub, "token_use": str(claims["token_use"])}
        for name in ("username", "cognito:username", "email"):
            if isinstance(claims.get(name), str):
                context[name.replace("cognito:", "")] = claims[name]
        return Caller(principal_id=sub, usage_key=web_key(), context=context)
    api_key = header(headers, API_KEY_HEADER)
    if api_key:
        # the web key meters signed-in users; presented as a machine key it would pass as a client of its own
        if hmac.compare_digest(api_key.encode(), web_key().encode()):
            raise Unauthorized("the web app's key is not a client key")
        return Caller(principal_id=API_KEY_PRINCIPAL, usage_key=api_key, context={"auth": "api_key"})
    raise Unauthorized("no Authorization bearer token and no x-api-key")
