"""The authorizer Lambda (services/auth/handler.py): a REQUEST authorizer event in, the policy API Gateway
reads out (principalId, an Allow on this method only, usageIdentifierKey, context); 401s as API Gateway wants."""

from __future__ import annotations

import pytest
from auth_testkit import CLIENT_ID, WEB_KEY
from storyreel.services.auth import handler as auth

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/v1/GET/runs/r-20261203-abc"


class Context:
    function_name = "storyreel-authorizer"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:storyreel-authorizer"
    aws_request_id = "req-authorizer"


def event(headers: dict[str, str]) -> dict:
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/runs/{run_id}",
        "path": "/runs/r-20261203-abc",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {},
        "pathParameters": {"run_id": "r-20261203-abc"},
        "stageVariables": {},
        "requestContext": {"accountId": "123456789012", "apiId": "abcdef1234", "stage": "v1"},
    }


@pytest.fixture
def env(pool, monkeypatch):
    monkeypatch.setenv("STORYREEL_COGNITO_ISSUER", pool.issuer)
    monkeypatch.setenv("STORYREEL_COGNITO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("STORYREEL_WEB_API_KEY_SECRET", "storyreel/web-api-key")
    monkeypatch.setattr(auth, "web_key", lambda: WEB_KEY)  # Secrets Manager, read through Powertools
    auth.user_pool.cache_clear()
    auth.jwks.cache_clear()
    yield pool
    auth.user_pool.cache_clear()
    auth.jwks.cache_clear()


def test_a_signed_in_user_is_allowed_on_this_method_with_the_web_key(env):
    out = auth.handler(event({"Authorization": f"Bearer {env.token()}"}), Context())
    assert out["principalId"] == "7d0c9a4e-1111-4222-8333-444455556666"
    assert out["usageIdentifierKey"] == WEB_KEY
    assert out["context"]["auth"] == "cognito" and out["context"]["sub"] == out["principalId"]
    (statement,) = out["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == [METHOD_ARN]


def test_a_machine_client_is_allowed_with_its_own_key(env):
    out = auth.handler(event({"x-api-key": "machine-key-value-000000000000"}), Context())
    assert out["principalId"] == "api-key"
    assert out["usageIdentifierKey"] == "machine-key-value-000000000000"
    assert out["context"] == {"auth": "api_key"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
def test_no_or_bad_credentials_raise_the_unauthorized_api_gateway_turns_into_401(env, headers):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        auth.handler(event(headers), Context())


def test_the_web_key_is_read_from_secrets_manager_by_its_arn(monkeypatch):
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters import base
    from moto import mock_aws

    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="storyreel-web-key", SecretString=WEB_KEY)[
            "ARN"
        ]
        monkeypatch.setenv("STORYREEL_WEB_API_KEY_SECRET", arn)  # the stack passes the secret's ARN
        parameters.clear_caches()
        try:
            assert auth.web_key() == WEB_KEY
        finally:  # the provider holds a client made under moto: no later test may reuse it
            parameters.clear_caches()
            base.DEFAULT_PROVIDERS.clear()
