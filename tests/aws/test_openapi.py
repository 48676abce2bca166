"""The committed OpenAPI document matches the resolver (drift fails), and schemathesis, driven by the committed
document, finds no 5xx (and no answer outside the document) when its requests go through the Lambda handler
in-process as API Gateway events."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
import schemathesis
from aws_testkit import FakeLambdaContext, apigw_event
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.api.openapi import DOCUMENT, render

schema = schemathesis.openapi.from_path(DOCUMENT)


def test_committed_document_matches_the_resolver():
    assert DOCUMENT.read_text(encoding="utf-8") == render(), "OpenAPI drift: run `make openapi` and commit it"


def invoke(case) -> schemathesis.Response:
    """Serialise the case like an HTTP client would, hand it to the Lambda as API Gateway does, wrap the answer."""
    from services.api.handler import handler

    kwargs = case.as_transport_kwargs(base_url="http://api.test")
    request = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
    ).prepare()
    url = urlsplit(request.url)
    body, binary = request.body, False
    if isinstance(body, bytes):
        try:
            body = body.decode()
        except UnicodeDecodeError:  # API Gateway hands binary bodies over base64-encoded
            body, binary = base64.b64encode(body).decode(), True
    event = apigw_event(
        request.method,
        unquote(url.path),
        body=body if body is not None else None,
        query=dict(parse_qsl(url.query)) or None,
        headers=dict(request.headers),
    )
    event["body"], event["isBase64Encoded"] = body, binary
    out = handler(event, FakeLambdaContext("storyreel-api"))
    headers = {k: [v] for k, v in (out.get("headers") or {}).items()}
    for k, vs in (out.get("multiValueHeaders") or {}).items():
        headers[k] = list(vs)
    return schemathesis.Response(
        status_code=out["statusCode"],
        headers=headers,
        content=(out.get("body") or "").encode(),
        request=request,
        elapsed=0.0,
        verify=False,
    )


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_has_no_server_errors(case, aws):
    response = invoke(case)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    json.loads(response.content or b"null")  # every answer is JSON
