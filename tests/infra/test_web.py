"""The web app in the cloud (infra/constructs/web.py, auth.py, api.py): a private bucket behind CloudFront with
origin access control, config.json, the Cognito user pool and its PKCE client, the API's authorizer on every
route with API keys still working for machine clients, CORS for the web origin."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from infra.config import InfraConfig
from infra.constructs.api import api_routes
from infra.constructs.web import CONTENT_SECURITY_POLICY, Web
from infra.functions import AUTHORIZER


def _only(synth, cfn_type: str) -> tuple[str, dict]:
    (item,) = synth.of_type(cfn_type).items()
    return item


def _domain(synth) -> dict:
    dist_id = synth.logical_id(synth.stack.web.distribution)
    return {"Fn::GetAtt": [dist_id, "DomainName"]}


def test_web_bucket_is_private_encrypted_tls_only_and_logged(synth):
    bucket_id = synth.logical_id(synth.stack.web.bucket)
    props = synth.resources[bucket_id]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "AES256"
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synth.logical_id(synth.stack.storage.access_logs)
    }
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    deny_plain_http = [
        s
        for s in policy
        if s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    ]
    assert deny_plain_http
    # the only Allow: CloudFront's service principal, for this distribution (origin access control)
    allows = [s for s in policy if s["Effect"] == "Allow"]
    assert allows and all(s["Principal"] == {"Service": "cloudfront.amazonaws.com"} for s in allows)
    dist_id = synth.logical_id(synth.stack.web.distribution)
    for s in allows:
        assert s["Action"] == "s3:GetObject"
        assert dist_id in json.dumps(s["Condition"]["StringEquals"]["AWS:SourceArn"])


def test_distribution_uses_origin_access_control_https_and_security_headers(synth):
    assert not synth.of_type("AWS::CloudFront::CloudFrontOriginAccessIdentity")  # not the legacy OAI
    oac_id, oac = _only(synth, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    config = synth.resources[synth.logical_id(synth.stack.web.distribution)]["Properties"][
        "DistributionConfig"
    ]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert origin["DomainName"] == {
        "Fn::GetAtt": [synth.logical_id(synth.stack.web.bucket), "RegionalDomainName"]
    }
    assert config["DefaultRootObject"] == "index.html"
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"  # content only over HTTPS
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert config["Logging"]["Bucket"] == {
        "Fn::GetAtt": [synth.logical_id(synth.stack.storage.access_logs), "RegionalDomainName"]
    }
    policy_id, policy = _only(synth, "AWS::CloudFront::ResponseHeadersPolicy")
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": policy_id}
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ContentTypeOptions"]["Override"] is True
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert csp == CONTENT_SECURITY_POLICY and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


def _deployments(synth) -> dict[str, dict]:
    return {
        k: v["Properties"]
        for k, v in synth.resources.items()
        if v["Type"].startswith("Custom::CDKBucketDeployment")
    }


def test_config_json_tells_the_static_app_where_the_api_and_the_sign_in_are(synth):
    stack = synth.stack
    deployments = _deployments(synth)
    static = stack.web.static_dir
    has_files = static.is_dir() and any(p.is_file() for p in static.rglob("*"))
    assert len(deployments) == (3 if has_files else 1)
    (config,) = [d for d in deployments.values() if d["DistributionPaths"] == ["/config.json"]]
    assert config["SystemMetadata"] == {"cache-control": "no-cache"}
    assert config["Prune"] is False and config["RetainOnDelete"] is False
    assert config["DestinationBucketName"] == {"Ref": synth.logical_id(stack.web.bucket)}
    assert config["DistributionId"] == {"Ref": synth.logical_id(stack.web.distribution)}

    (key,) = config["SourceObjectKeys"]
    text = (synth.outdir / f"asset.{key.removesuffix('.zip')}" / "config.json").read_text()
    (markers,) = config["SourceMarkers"]
    for marker in markers:  # deploy-time values: each a quoted JSON string once CloudFormation fills it in
        text = text.replace(marker, json.dumps(marker))
    app = json.loads(text)
    resolved = {k: markers.get(v, v) if isinstance(v, str) else v for k, v in app.items()}
    assert set(app) == {
        "api_url",
        "region",
        "auth",
        "user_pool_id",
        "client_id",
        "cognito_domain",
        "redirect_uri",
        "logout_uri",
        "scopes",
    }
    assert resolved["auth"] == "cognito" and resolved["scopes"] == ["openid", "email", "profile"]
    as_text = {k: json.dumps(v) for k, v in resolved.items()}
    assert synth.logical_id(stack.api.rest_api) in as_text["api_url"] and "execute-api" in as_text["api_url"]
    assert synth.logical_id(stack.users.user_pool) in as_text["user_pool_id"]
    assert synth.logical_id(stack.users.client) in as_text["client_id"]
    assert synth.logical_id(stack.users.domain) in as_text["cognito_domain"]
    assert ".amazoncognito.com" in as_text["cognito_domain"]
    for uri in ("redirect_uri", "logout_uri"):
        assert json.dumps(_domain(synth)) in as_text[uri] and as_text[uri].endswith('/\\""]]}')


def test_static_files_deploy_with_index_no_cache_and_assets_short_lived(tmp_path):
    """A bare stack with a stand-in services/web/static (the app's own folder may still be empty)."""
    static = tmp_path / "static"
    for rel in ("index.html", "app.js", "css/site.css", "config.json"):
        (static / rel).parent.mkdir(parents=True, exist_ok=True)
        (static / rel).write_text("x")
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "WebOnly")
    logs = s3.Bucket(stack, "Logs", object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED)
    web = Web(stack, "Web", InfraConfig(), logs, static_dir=static)
    web.deploy({"api_url": "https://example.invalid/v1/"})
    t = Template.from_stack(stack)
    t.resource_count_is("Custom::CDKBucketDeployment", 3)
    t.has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "Exclude": ["index.html", "config.json"],  # the static folder's own config.json never ships
            "Prune": True,
            "SystemMetadata": {"cache-control": "public, max-age=300"},
            "DistributionPaths": ["/*"],
        },
    )
    t.has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "Exclude": ["*"],
            "Include": ["index.html"],
            "Prune": False,
            "SystemMetadata": {"cache-control": "no-cache"},
        },
    )
    t.has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "Prune": False,
            "SystemMetadata": {"cache-control": "no-cache"},
            "DistributionPaths": ["/config.json"],
        },
    )


def test_user_pool_signs_in_by_email_with_a_strong_password_optional_totp_and_threat_protection(synth):
    props = synth.resources[synth.logical_id(synth.stack.users.user_pool)]["Properties"]
    assert props["UsernameAttributes"] == ["email"]
    assert props["AutoVerifiedAttributes"] == ["email"]
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert props["MfaConfiguration"] == "OPTIONAL" and props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["UserPoolTier"] == "PLUS" and props["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert props["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}  # self sign-up off by default
    assert props["DeletionProtection"] == "ACTIVE"  # retain_data (default true)
    pool = synth.template["Resources"][synth.logical_id(synth.stack.users.user_pool)]
    assert pool["DeletionPolicy"] == "Retain"


def test_web_client_is_a_public_code_grant_client_with_the_cloudfront_and_local_callbacks(synth):
    props = synth.resources[synth.logical_id(synth.stack.users.client)]["Properties"]
    assert props["GenerateSecret"] is False  # a browser cannot keep a secret: PKCE instead
    assert props["AllowedOAuthFlows"] == ["code"]  # no implicit grant
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert props["AllowedOAuthScopes"] == ["openid", "email", "profile"]
    assert props["SupportedIdentityProviders"] == ["COGNITO"]
    assert props["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # passwords only on the hosted UI
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    web_url = {"Fn::Join": ["", ["https://", _domain(synth), "/"]]}
    assert props["CallbackURLs"] == [web_url, "http://localhost:8000/"]
    assert props["LogoutURLs"] == props["CallbackURLs"]


def test_hosted_ui_domain_prefix_is_lowercase_and_unique_per_account(synth):
    props = synth.resources[synth.logical_id(synth.stack.users.domain)]["Properties"]
    assert props["Domain"] == {"Fn::Join": ["-", ["storyreel", {"Ref": "AWS::AccountId"}]]}
    for bad in ("Storyreel", "my-aws-app", "-x", "a" * 64, "cognito1"):
        with pytest.raises(ValueError, match="cognito_domain_prefix"):
            InfraConfig(cognito_domain_prefix=bad).validate()
    InfraConfig(cognito_domain_prefix="storyreel-team-7").validate()


def test_every_route_uses_the_authorizer_and_the_api_key_for_its_usage_plan(synth):
    stack = synth.stack
    authorizer_id, authorizer = _only(synth, "AWS::ApiGateway::Authorizer")
    props = authorizer["Properties"]
    assert props["Type"] == "REQUEST"
    # no identity source and no cache: a request has a bearer token OR a key, never necessarily both
    assert props["AuthorizerResultTtlInSeconds"] == 0 and "IdentitySource" not in props
    assert synth.logical_id(stack.users.authorizer_fn) in json.dumps(props["AuthorizerUri"])
    rest = synth.resources[synth.logical_id(stack.api.rest_api)]["Properties"]
    assert rest["ApiKeySourceType"] == "AUTHORIZER"  # API Gateway checks the key the authorizer returns

    routes = set()
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        p = method["Properties"]
        if p["HttpMethod"] == "OPTIONS":
            assert p["AuthorizationType"] == "NONE" and p["Integration"]["Type"] == "MOCK"  # CORS preflight
            continue
        assert p["AuthorizationType"] == "CUSTOM" and p["AuthorizerId"] == {"Ref": authorizer_id}
        assert p["ApiKeyRequired"] is True
        routes.add(p["HttpMethod"])
    assert routes == {verb for verb, _ in api_routes()}
    assert len(
        [
            m
            for m in synth.of_type("AWS::ApiGateway::Method").values()
            if m["Properties"]["HttpMethod"] != "OPTIONS"
        ]
    ) == len(api_routes())


def test_machine_clients_keep_their_key_and_the_web_app_has_a_plan_of_its_own(synth):
    stack = synth.stack
    keys = synth.of_type("AWS::ApiGateway::ApiKey")
    machine_id = synth.logical_id(stack.api.api_key)
    web_id = synth.logical_id(stack.api.web_api_key)
    assert set(keys) == {machine_id, web_id}
    assert "Value" not in keys[machine_id]["Properties"]  # generated by API Gateway (ApiKeyId output)
    secret_id = synth.logical_id(stack.users.web_key)
    assert keys[web_id]["Properties"]["Value"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]
    }
    plan_of = {
        k["Properties"]["KeyId"]["Ref"]: k["Properties"]["UsagePlanId"]["Ref"]
        for k in synth.of_type("AWS::ApiGateway::UsagePlanKey").values()
    }
    assert set(plan_of) == {machine_id, web_id} and plan_of[machine_id] != plan_of[web_id]
    web_plan = synth.resources[plan_of[web_id]]["Properties"]
    assert web_plan["Quota"] == {"Limit": stack.cfg.web_quota_per_day, "Period": "DAY"}
    assert synth.template["Outputs"]["ApiKeyId"]["Value"] == {"Ref": machine_id}


def test_the_authorizer_reads_the_web_key_and_nothing_else(synth):
    stack = synth.stack
    fn = stack.users.authorizer_fn
    props = synth.resources[synth.logical_id(fn)]["Properties"]
    assert props["Handler"] == AUTHORIZER.handler and props["Architectures"] == ["arm64"]
    env = props["Environment"]["Variables"]
    assert env["STORYREEL_COGNITO_CLIENT_ID"] == {"Ref": synth.logical_id(stack.users.client)}
    assert env["STORYREEL_WEB_API_KEY_SECRET"] == {"Ref": synth.logical_id(stack.users.web_key)}
    issuer = json.dumps(env["STORYREEL_COGNITO_ISSUER"])
    assert "https://cognito-idp." in issuer and synth.logical_id(stack.users.user_pool) in issuer
    assert "STORYREEL_BUCKET" not in env and "STORYREEL_TABLE" not in env
    role_id = synth.logical_id(fn.role)
    actions: dict[str, list] = {}
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for s in policy["Properties"]["PolicyDocument"]["Statement"]:
                for a in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
                    actions.setdefault(a, []).append(s["Resource"])
    assert {a.split(":")[0] for a in actions} == {"logs", "xray", "secretsmanager"}
    for action, resources in actions.items():
        if action.startswith("secretsmanager:"):
            assert resources == [{"Ref": synth.logical_id(stack.users.web_key)}], action


def test_cors_allows_the_web_origins_on_preflight_gateway_errors_and_the_api_lambda(synth):
    stack = synth.stack
    preflights = [
        m
        for m in synth.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert len(preflights) >= len({path for _, path in api_routes()})
    for method in preflights:
        responses = json.dumps(method["Properties"]["Integration"]["IntegrationResponses"])
        assert json.dumps(_domain(synth)) in responses and "http://localhost:8000" in responses
        headers = method["Properties"]["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert "Authorization" in headers["method.response.header.Access-Control-Allow-Headers"]
    for response in synth.of_type("AWS::ApiGateway::GatewayResponse").values():
        value = response["Properties"]["ResponseParameters"][
            "gatewayresponse.header.Access-Control-Allow-Origin"
        ]
        assert json.dumps(_domain(synth)) in json.dumps(value)
    assert {
        r["Properties"]["ResponseType"] for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()
    } == {
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    }
    env = synth.resources[synth.logical_id(stack.functions.fn["Api"])]["Properties"]["Environment"][
        "Variables"
    ]
    assert env["STORYREEL_WEB_ORIGINS"] == {
        "Fn::Join": ["", ["https://", _domain(synth), ",http://localhost:8000"]]
    }


def test_outputs_name_the_web_url_the_hosted_ui_and_the_user_pool(synth):
    outputs = synth.template["Outputs"]
    assert outputs["WebUrl"]["Value"] == {"Fn::Join": ["", ["https://", _domain(synth), "/"]]}
    assert outputs["UserPoolId"]["Value"] == {"Ref": synth.logical_id(synth.stack.users.user_pool)}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": synth.logical_id(synth.stack.users.client)}
    hosted = json.dumps(outputs["HostedUiUrl"]["Value"])
    assert synth.logical_id(synth.stack.users.domain) in hosted and "amazoncognito.com" in hosted


def test_without_the_web_app_the_api_is_key_or_sigv4_only(synth_batch):
    assert synth_batch.stack.web is None and synth_batch.stack.users is None
    for cfn_type in (
        "AWS::CloudFront::Distribution",
        "AWS::Cognito::UserPool",
        "AWS::ApiGateway::Authorizer",
        "AWS::ApiGateway::GatewayResponse",
    ):
        assert not synth_batch.of_type(cfn_type), cfn_type
    for method in synth_batch.of_type("AWS::ApiGateway::Method").values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
    assert "WebUrl" not in synth_batch.template["Outputs"]


def test_web_sign_in_needs_api_key_auth_and_local_urls_are_checked():
    with pytest.raises(ValueError, match="web=false"):
        InfraConfig(api_auth="iam").validate()
    InfraConfig(api_auth="iam", web=False).validate()
    with pytest.raises(ValueError, match="web_local_url"):
        InfraConfig(web_local_url="http://evil.example/").validate()
    InfraConfig(web_local_url=None).validate()


def test_the_static_folder_is_the_web_apps(synth):
    assert synth.stack.web.static_dir == Path(__file__).resolve().parents[2] / "services" / "web" / "static"
    assert re.fullmatch(r"https://\$\{Token\[.*\]\}/", synth.stack.web.url)
