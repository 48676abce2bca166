"""cfn-lint and cdk-nag on the synthesized template; every cdk-nag acknowledgment carries a reason."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

from infra import nag

# CDK emits DependsOn on each role next to the GetAtt that already orders it (mk/infra.mk ignores it too)
CFN_LINT_IGNORE = ["W3005"]


def test_cfn_lint_is_clean(synth):
    template = synth.outdir / f"{synth.stack.stack_name}.template.json"
    matches = lint_file(template, config=ManualArgs(ignore_checks=CFN_LINT_IGNORE, regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_cdk_nag_aws_solutions_pack_passes(synth):
    (report,) = synth.validation_report["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
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
