"""The authorizer's decision (services/auth/verify.py): real tokens, a real JWKS over HTTP, PyJWT verifying."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from auth_testkit import CLIENT_ID, KID, WEB_KEY, FakePool, new_key
from storyreel.services.auth.verify import API_KEY_PRINCIPAL, Unauthorized, UserPool, identify, verify_token


def _setup(pool: FakePool) -> tuple[UserPool, jwt.PyJWKClient]:
    user_pool = UserPool(issuer=pool.issuer, client_id=CLIENT_ID)
    return user_pool, jwt.PyJWKClient(user_pool.jwks_url, timeout=5)


def _who(pool: FakePool, headers: dict[str, str]):
    user_pool, jwks = _setup(pool)
    return identify(headers, user_pool, jwks, lambda: WEB_KEY)


def test_a_cognito_access_token_is_the_user_metered_on_the_web_key(pool):
    caller = _who(pool, {"Authorization": f"Bearer {pool.token()}"})
    assert caller.principal_id == "7d0c9a4e-1111-4222-8333-444455556666"
    assert caller.usage_key == WEB_KEY
    assert caller.context == {
        "auth": "cognito",
        "sub": caller.principal_id,
        "token_use": "access",
        "username": "ada",
    }
    assert pool.requests == ["/eu-west-1_TestPool1/.well-known/jwks.json"]


def test_an_id_token_for_the_client_is_accepted_too_and_the_header_name_is_case_insensitive(pool):
    caller = _who(pool, {"authorization": f"bearer {pool.token(use='id')}"})
    assert caller.context["auth"] == "cognito" and caller.context["token_use"] == "id"
    assert caller.context["email"] == "ada@example.com" and caller.context["username"] == "ada"


@pytest.mark.parametrize(
    ("why", "token_args"),
    [
        ("expired", {"lifetime_s": -60}),
        ("another issuer", {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"}),
        ("another client (access)", {"client_id": "some-other-client"}),
        ("another client (id)", {"use": "id", "aud": "some-other-client"}),
        ("a refresh-like token_use", {"token_use": "refresh"}),
        ("no sub", {"sub": None}),
    ],
)
def test_tokens_that_do_not_verify_are_unauthorized(pool, why, token_args):
    args = dict(token_args)
    claims = {k: v for k, v in args.items() if k not in ("use", "lifetime_s")}
    token_kwargs = {k: args[k] for k in ("use", "lifetime_s") if k in args}
    token = pool.token(**token_kwargs, **claims)
    if claims.get("sub", "") is None:  # a token without the claim at all
        _, body, _ = token.split(".")
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        payload.pop("sub")
        token = jwt.encode(payload, pool.key, algorithm="RS256", headers={"kid": KID})
    with pytest.raises(Unauthorized):
        _who(pool, {"Authorization": f"Bearer {token}"})


def test_a_token_signed_by_another_key_or_tampered_with_is_unauthorized(pool):
    forged = pool.token(key=new_key())  # the pool's kid, someone else's key: the signature fails
    with pytest.raises(Unauthorized, match="token rejected"):
        _who(pool, {"Authorization": f"Bearer {forged}"})
    unknown_kid = pool.token(key=new_key(), kid="not-in-the-jwks")
    with pytest.raises(Unauthorized):
        _who(pool, {"Authorization": f"Bearer {unknown_kid}"})
    header, body, signature = pool.token().split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["sub"] = "someone-else"
    evil = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        _who(pool, {"Authorization": f"Bearer {header}.{evil}.{signature}"})


def test_unsigned_and_symmetric_tokens_are_refused(pool):
    user_pool, jwks = _setup(pool)
    good = jwt.decode(pool.token(), options={"verify_signature": False})
    unsigned = jwt.encode(good, None, algorithm="none", headers={"kid": KID})
    with pytest.raises(Unauthorized):
        verify_token(unsigned, user_pool, jwks)
    hs = jwt.encode(good, "a-shared-secret-that-is-long-enough-32b", algorithm="HS256", headers={"kid": KID})
    with pytest.raises(Unauthorized):
        verify_token(hs, user_pool, jwks)


def test_a_machine_client_key_passes_through_to_the_usage_plan(pool):
    caller = _who(pool, {"X-Api-Key": "machine-key-value-000000000000"})
    assert caller.principal_id == API_KEY_PRINCIPAL
    assert caller.usage_key == "machine-key-value-000000000000"  # API Gateway checks it against its plans
    assert caller.context == {"auth": "api_key"}
    assert pool.requests == []  # no JWKS needed


def test_the_web_key_is_not_accepted_as_a_machine_key(pool):
    with pytest.raises(Unauthorized, match="web app's key"):
        _who(pool, {"x-api-key": WEB_KEY})


def test_a_bad_bearer_token_never_falls_back_to_the_api_key(pool):
    with pytest.raises(Unauthorized):
        _who(pool, {"Authorization": "Bearer not-a-jwt", "x-api-key": "machine-key-value-000000000000"})


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"x-api-key": ""}, {"Authorization": "Bearer "}]
)
def test_no_usable_credentials_are_unauthorized(pool, headers):
    with pytest.raises(Unauthorized):
        _who(pool, headers)


def test_an_unreachable_jwks_is_a_server_fault_not_a_401(pool):
    user_pool = UserPool(issuer="http://127.0.0.1:9/nowhere", client_id=CLIENT_ID)
    jwks = jwt.PyJWKClient(user_pool.jwks_url, timeout=1)
    with pytest.raises(jwt.PyJWKClientConnectionError):
        identify({"Authorization": f"Bearer {pool.token()}"}, user_pool, jwks, lambda: WEB_KEY)
