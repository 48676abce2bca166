"""storyreel doctor (against the fake vendors) and Lambda key loading (moto Secrets Manager / SSM)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from storyreel.shared.errors import ConfigError
from storyreel.shared.secrets import load_provider_keys
from storyreel.shared.settings import Settings

from storyreel.doctor import format_checks, run_doctor
from testkit.vendors.firecrawl import FakeFirecrawl, firecrawl_error
from testkit.vendors.forums import FakeForums, FakeWeb
from testkit.vendors.openai import openai_error
from testkit.vendors.replicate import replicate_error


def settings(**kw) -> Settings:
    return Settings.model_validate(kw)


def test_all_local_needs_nothing() -> None:
    checks = run_doctor(settings(), {})
    assert [c.provider for c in checks] == [
        "local",
        "transcriber",
        "openai",
        "replicate",
        "stability",
        "forums",
    ]
    assert all(c.ok for c in checks)
    assert checks[0].used_for == "transcribe, context+scenes, images (sketch)"
    assert "all providers ready" in format_checks(checks)


def test_missing_keys_are_named() -> None:
    s = settings(transcription={"provider": "openai"}, image_generation={"provider": "replicate"})
    by = {c.provider: c for c in run_doctor(s, {})}
    assert by["openai"].status == "missing" and by["openai"].detail == "OPENAI_API_KEY is not set"
    assert by["replicate"].status == "missing" and "REPLICATE_API_TOKEN" in by["replicate"].detail
    assert by["stability"].status == "unused"
    table = format_checks(list(by.values()))
    assert "2 problem(s): openai, replicate" in table


def test_live_checks_hit_each_vendor(openai_server, replicate_server, stability_server) -> None:
    env = {
        "OPENAI_API_KEY": "sk-test-key",
        "OPENAI_BASE_URL": openai_server.base_url,
        "REPLICATE_API_TOKEN": "r8_test_token",
        "REPLICATE_BASE_URL": replicate_server.url,
        "STABILITY_API_KEY": "sk-stability-test",
        "STABILITY_BASE_URL": stability_server.url,
    }
    s = settings(llm={"provider": "openai"}, image_generation={"provider": "replicate"})
    by = {c.provider: c for c in run_doctor(s, env)}
    assert by["openai"].status == "ok" and by["openai"].detail.startswith("1 models visible")
    assert by["replicate"].status == "ok" and by["replicate"].detail == "account tester"
    assert openai_server.seen("GET /v1/models")[0].headers["authorization"] == "Bearer sk-test-key"
    assert replicate_server.seen("GET /v1/account")[0].headers["authorization"] == "Bearer r8_test_token"
    assert not stability_server.requests  # unused: no call

    s = settings(image_generation={"provider": "stability"})
    (stab,) = [c for c in run_doctor(s, env) if c.provider == "stability"]
    assert stab.status == "ok"
    assert (
        stability_server.seen("GET /v1/user/account")[0].headers["authorization"]
        == "Bearer sk-stability-test"
    )


def test_live_failures_in_plain_words(openai_server, replicate_server) -> None:
    openai_server.fault(
        "models", openai_error(401, "Incorrect API key", "invalid_request_error", "invalid_api_key")
    )
    replicate_server.fault("account", replicate_error(401, "Invalid token", "Unauthenticated"))
    env = {
        "OPENAI_API_KEY": "bad",
        "OPENAI_BASE_URL": openai_server.base_url,
        "REPLICATE_API_TOKEN": "bad",
        "REPLICATE_BASE_URL": replicate_server.url,
    }
    s = settings(llm={"provider": "openai"}, image_generation={"provider": "replicate"})
    by = {c.provider: c for c in run_doctor(s, env)}
    assert by["openai"].status == "fail" and "rejected the API key" in by["openai"].detail
    assert by["replicate"].status == "fail" and "rejected the API token" in by["replicate"].detail
    assert "2 problem(s)" in format_checks(list(by.values()))


# =========================================================================== secrets
@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_keys_from_secrets_manager_and_ssm(aws) -> None:
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="storyreel/openai", SecretString="sk-from-secrets-manager")
    sm.create_secret(
        Name="storyreel/stability", SecretString=json.dumps({"STABILITY_API_KEY": "sk-stab-json"})
    )
    boto3.client("ssm").put_parameter(
        Name="/storyreel/replicate", Value="r8_from_ssm", Type="SecureString", Overwrite=True
    )
    env = {
        "STORYREEL_OPENAI_SECRET": "storyreel/openai",
        "STORYREEL_REPLICATE_SECRET": "ssm:/storyreel/replicate",
        "STORYREEL_STABILITY_SECRET": "storyreel/stability",
    }
    assert load_provider_keys(env, max_age=60) == [
        "OPENAI_API_KEY",
        "REPLICATE_API_TOKEN",
        "STABILITY_API_KEY",
    ]
    assert env["OPENAI_API_KEY"] == "sk-from-secrets-manager"
    assert env["REPLICATE_API_TOKEN"] == "r8_from_ssm"
    assert env["STABILITY_API_KEY"] == "sk-stab-json"

    # cached: a rotated secret is not re-read within max_age (warm Lambdas do not call Secrets Manager again)
    sm.put_secret_value(SecretId="storyreel/openai", SecretString="sk-rotated")
    again = {"STORYREEL_OPENAI_SECRET": "storyreel/openai"}
    load_provider_keys(again, max_age=60)
    assert again["OPENAI_API_KEY"] == "sk-from-secrets-manager"


def test_explicit_env_wins_and_missing_secret_is_clear(aws) -> None:
    env = {"STORYREEL_OPENAI_SECRET": "nope/missing", "OPENAI_API_KEY": "sk-explicit"}
    assert load_provider_keys(env) == []
    assert env["OPENAI_API_KEY"] == "sk-explicit"
    with pytest.raises(ConfigError, match="cannot read secret nope/missing"):
        load_provider_keys({"STORYREEL_OPENAI_SECRET": "nope/missing"}, max_age=0)


def test_cli_doctor_exits_non_zero_on_a_missing_key(tmp_path) -> None:
    from click.testing import CliRunner

    from storyreel.cli import cli

    config = tmp_path / "c.yaml"
    config.write_text("llm:\n  provider: openai\n")
    result = CliRunner().invoke(cli, ["doctor", "--config", str(config), "--offline"])
    assert result.exit_code != 0
    assert "OPENAI_API_KEY is not set" in result.output and "1 problem(s): openai" in result.output


# =========================================================================== doctor: forum evidence
@pytest.fixture
def firecrawl_server():
    with FakeFirecrawl() as server:
        yield server


@pytest.fixture
def forums_server():
    with FakeForums(FakeWeb()) as server:
        yield server


def forum_check(checks, name: str):
    (check,) = [c for c in checks if c.provider == name]
    return check


def test_forums_unused_when_virality_is_off() -> None:
    s = settings(pipeline={"virality_evaluation": False}, virality={"provider": "firecrawl"})
    check = forum_check(run_doctor(s, {"FIRECRAWL_API_KEY": "fc-x"}), "forums")
    assert check.status == "unused" and check.used_for == "-"
    assert "virality_evaluation is off" in check.detail and "virality.provider: firecrawl" in check.detail


def test_forums_auto_without_firecrawl_asks_no_forum() -> None:
    check = forum_check(run_doctor(settings(), {}), "forums")
    assert check.status == "unused" and check.ok
    assert "FIRECRAWL_API_KEY" in check.detail and "virality.provider: public" in check.detail


def test_firecrawl_chosen_without_key_is_missing() -> None:
    checks = run_doctor(settings(virality={"provider": "firecrawl"}), {})
    check = forum_check(checks, "firecrawl")
    assert check.status == "missing" and check.detail.startswith("FIRECRAWL_API_KEY is not set: export")
    assert "1 problem(s): firecrawl" in format_checks(checks)


def test_firecrawl_bad_url_fails() -> None:
    s = settings(virality={"provider": "firecrawl", "firecrawl_api_url": "localhost:3002"})
    check = forum_check(run_doctor(s, {}), "firecrawl")
    assert check.status == "fail" and "is not an http(s) URL" in check.detail


def test_firecrawl_live_check_reads_credits(firecrawl_server) -> None:
    # provider auto + a key in the environment: Firecrawl is the source, and doctor asks it for credits
    s = settings(virality={"firecrawl_api_url": firecrawl_server.url})
    check = forum_check(run_doctor(s, {"FIRECRAWL_API_KEY": "fc-test"}), "firecrawl")
    assert check.status == "ok", check.detail
    assert check.detail == f"4200 credits left at {firecrawl_server.url}"
    assert check.used_for == "virality evidence (auto)"
    (req,) = firecrawl_server.seen("GET /v2/team/credit-usage")
    assert req.headers["authorization"] == "Bearer fc-test"


def test_firecrawl_live_check_bad_key(firecrawl_server) -> None:
    firecrawl_server.fault("credits", firecrawl_error(401, "Unauthorized: Invalid token"))
    s = settings(virality={"provider": "firecrawl", "firecrawl_api_url": firecrawl_server.url})
    check = forum_check(run_doctor(s, {"FIRECRAWL_API_KEY": "fc-bad"}), "firecrawl")
    assert check.status == "fail"
    assert check.detail == "Firecrawl rejected the API key (401): check FIRECRAWL_API_KEY"


def test_firecrawl_offline_sends_nothing(firecrawl_server) -> None:
    s = settings(virality={"provider": "firecrawl", "firecrawl_api_url": firecrawl_server.url})
    check = forum_check(run_doctor(s, {"FIRECRAWL_API_KEY": "fc-test"}, live=False), "firecrawl")
    assert check.status == "ok" and "live check skipped" in check.detail
    assert not firecrawl_server.requests


def test_public_forums_live_check_each_api(forums_server) -> None:
    url = forums_server.url
    s = settings(
        virality={
            "provider": "public",
            "forums": ["reddit:r/videos", "hackernews"],
            "hn_api_url": f"{url}/api/v1",
            "reddit_base_url": url,
        }
    )
    checks = run_doctor(s, {})
    hn, reddit = forum_check(checks, "hn-algolia"), forum_check(checks, "reddit-json")
    assert hn.status == "ok" and hn.detail.startswith("hackernews answered")
    assert reddit.status == "ok" and reddit.detail.startswith("reddit:r/videos answered")
    assert hn.used_for == reddit.used_for == "virality evidence (public)"
    assert len(forums_server.seen("/api/v1/search")) == 1
    assert len(forums_server.seen("/r/videos/search.json")) == 1


def test_public_forum_down_fails(forums_server) -> None:
    forums_server.web.malformed.add("hn-api")
    url = forums_server.url
    s = settings(
        virality={
            "provider": "public",
            "forums": ["hackernews"],
            "topic_subreddits": False,  # (topic subreddits would need Reddit too)
            "hn_api_url": f"{url}/api/v1",
        },
    )
    checks = run_doctor(s, {})
    hn = forum_check(checks, "hn-algolia")
    assert hn.status == "fail" and hn.detail == "hn-algolia: malformed JSON body"
    assert not [c for c in checks if c.provider == "reddit-json"]  # no reddit forum configured
    assert "1 problem(s): hn-algolia" in format_checks(checks)


def test_live_checks_do_not_retry(replicate_server) -> None:
    """A check reports what it saw once; the replicate SDK's client would retry a 503 several times."""
    replicate_server.fault("account", replicate_error(503, "busy", "Service Unavailable"))
    env = {"REPLICATE_API_TOKEN": "r8_x", "REPLICATE_BASE_URL": replicate_server.url}
    s = settings(image_generation={"provider": "replicate"})
    by = {c.provider: c for c in run_doctor(s, env)}
    assert by["replicate"].status == "fail"
    assert len(replicate_server.matching("GET", "/v1/account")) == 1
