"""cfn-lint, cdk-nag and checkov on the synthesized template; every cdk-nag acknowledgment and every checkov
suppression carries a reason."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file
from infra_testkit import CHECKOV, tool

from infra import nag

# CDK emits DependsOn on each role next to the GetAtt that already orders it (mk/infra.mk ignores it too)
CFN_LINT_IGNORE = ["W3005"]


def test_cfn_lint_is_clean(synth):
    template = synth.outdir / f"{synth.stack.stack_name}.template.json"
    matches = lint_file(template, config=ManualArgs(ignore_checks=CFN_LINT_IGNORE, regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_cdk_nag_aws_solutions_pack_passes(synth):
    # CDK adds its own "CloudFormation Validate" report when it finds something (cfn-lint, above, covers it)
    reports = {r["pluginName"]: r for r in synth.validation_report["pluginReports"]}
    report = reports["AwsSolutions"]
    assert report["conclusion"] == "success", [v["ruleName"] for v in report.get("violations", [])]


def test_every_acknowledgment_is_scoped_and_justified(synth):
    stack_path = synth.stack.node.path
    mine = [a for a in nag.ACKNOWLEDGED if a[0].startswith(stack_path + "/")]
    assert mine
    for path, rule, reason in mine:
        assert path != stack_path, f"{rule} acknowledged for the whole stack"
        assert rule.startswith("AwsSolutions-")
        assert len(reason.split()) >= 8, (path, rule, reason)
    rules = {rule for _, rule, _ in mine}
    assert "AwsSolutions-IAM5[Resource::*]" in rules  # X-Ray, per role


def test_cdk_nag_stops_synthesis_on_an_unacknowledged_finding(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Bad")
    s3.Bucket(stack, "NoLogsNoSsl")  # S1 (no access logs) and S10 (SSL not enforced)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-S1"):
        app.synth()


# ------------------------------------------------------------------------------------------------ checkov
# checkov, an independent IaC scanner (its own venv: `make iac-tools`), over the synthesized template: every
# failed check is fixed or suppressed on its resource with a written reason (infra/nag.py checkov_skip).
def checkov(template: Path) -> dict:
    exe = tool(CHECKOV, "run `make iac-tools` (make test does)")
    done = subprocess.run(
        [str(exe), "-f", str(template), "--framework", "cloudformation", "-o", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: some check failed
    report = json.loads(done.stdout)
    (report,) = report if isinstance(report, list) else [report]
    assert report["check_type"] == "cloudformation"
    assert report["summary"]["parsing_errors"] == 0
    return report


def _template(s) -> Path:
    return s.outdir / f"{s.stack.stack_name}.template.json"


@pytest.mark.parametrize("which", ["synth", "synth_batch"])
def test_checkov_finds_nothing_unsuppressed(which, request):
    s = request.getfixturevalue(which)
    report = checkov(_template(s))
    failed = [
        f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]
    ]
    summary = report["summary"]
    print(
        f"{which}: checkov {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped"
    )
    assert failed == [], "\n".join(failed)

    # every suppression written into the template was used by a check that would have failed
    skipped = {(f["resource"].split(".", 1)[1], f["check_id"]) for f in report["results"]["skipped_checks"]}
    written = {
        (logical_id, skip["id"])
        for logical_id, res in s.resources.items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert written == skipped, f"stale suppressions: {sorted(written - skipped)}"


def test_every_checkov_suppression_is_on_one_resource_with_a_reason(synth):
    stack_path = synth.stack.node.path
    mine = [c for c in nag.CHECKOV_SKIPPED if c[0].startswith(stack_path + "/")]
    assert mine
    for path, check, reason in mine:
        assert check.startswith("CKV_"), (path, check)
        assert len(reason.split()) >= 8, (path, check, reason)
    for logical_id, res in synth.resources.items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip["comment"].split()) >= 8, (logical_id, skip)


def test_checkov_fails_an_unsuppressed_finding(tmp_path):
    """The scanner is really looking: a queue without encryption fails."""
    template = tmp_path / "bad.template.json"
    template.write_text(json.dumps({"Resources": {"Bare": {"Type": "AWS::SQS::Queue", "Properties": {}}}}))
    failed = {f["check_id"] for f in checkov(template)["results"]["failed_checks"]}
    assert "CKV_AWS_27" in failed
