"""image_provider=batch: GPU Batch resources, the worker image as a deploy-time asset, .sync permissions."""

from __future__ import annotations

import json

import pytest

from infra.app import build_app, file_context
from infra.bundle import build
from tests.infra.test_policies import by_action, role_statements


def test_batch_creates_a_gpu_compute_environment_queue_and_job_definition(synth_batch):
    s = synth_batch
    (ce,) = s.of_type("AWS::Batch::ComputeEnvironment").values()
    resources = ce["Properties"]["ComputeResources"]
    assert resources["InstanceTypes"] == ["g5.xlarge"]
    assert resources["MinvCpus"] == 0
    assert resources["Ec2Configuration"] == [{"ImageType": "ECS_AL2023_NVIDIA"}]
    assert len(s.of_type("AWS::Batch::JobQueue")) == 1
    (job,) = s.of_type("AWS::Batch::JobDefinition").values()
    container = job["Properties"]["ContainerProperties"]
    assert {"Type": "GPU", "Value": "1"} in container["ResourceRequirements"]
    assert "ecr" in json.dumps(container["Image"])  # the DockerImageAsset's repository
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["STORYREEL_IMAGE_GENERATION__PROVIDER"] == "diffusers"
    assert env["STORYREEL_IMAGE_GENERATION__MODEL"] == "s3://storyreel-models/sdxl-lightning"
    strategies = {
        (r["OnExitCode"], r["Action"])
        for r in job["Properties"]["RetryStrategy"]["EvaluateOnExit"]
        if "OnExitCode" in r
    }
    assert {("75", "RETRY"), ("143", "RETRY"), ("*", "EXIT")} <= strategies


def test_worker_image_is_staged_for_deploy_not_built_at_synth(synth_batch):
    assets = json.loads((synth_batch.outdir / f"{synth_batch.stack.stack_name}.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "services/images/gpu/Dockerfile"
    assert image["source"]["platform"] == "linux/amd64"
    staged = synth_batch.outdir / image["source"]["directory"]
    files = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    # the build context is the repository root filtered by the worker's Dockerfile.dockerignore
    assert files == {
        "pyproject.toml",
        "shared/__init__.py",
        "services/images/gpu/Dockerfile",
        "services/images/gpu/Dockerfile.dockerignore",
        "services/images/gpu/worker.py",
    }


def test_gpu_job_role_reads_only_the_model_prefix(synth_batch):
    s = synth_batch
    actions = by_action(role_statements(s, s.logical_id(s.stack.gpu.job_role)))
    model_objects = [r for r in actions["s3:GetObject"] if "storyreel-models" in json.dumps(r)]
    assert len(model_objects) == 1 and "storyreel-models/sdxl-lightning/*" in json.dumps(model_objects[0])
    assert "s3:PutObject" in actions and "storyreel-models" not in json.dumps(actions["s3:PutObject"])


def test_state_machine_gets_batch_sync_permissions_and_real_arns(synth_batch):
    s = synth_batch
    sm = s.stack.workflow.state_machine
    subs = s.resources[s.logical_id(sm)]["Properties"]["DefinitionSubstitutions"]
    queue_id = s.logical_id(s.stack.gpu.job_queue)
    definition_id = s.logical_id(s.stack.gpu.job_definition)
    assert subs["GpuJobQueueArn"] == {"Fn::GetAtt": [queue_id, "JobQueueArn"]} or queue_id in json.dumps(
        subs["GpuJobQueueArn"]
    )
    assert definition_id in json.dumps(subs["GpuJobDefinitionArn"])
    actions = by_action(role_statements(s, s.logical_id(sm.role)))
    submit = json.dumps(actions["batch:SubmitJob"])
    assert queue_id in submit and definition_id in submit
    assert "batch:DescribeJobs" in actions and "events:PutRule" in actions


def test_batch_stack_passes_cdk_nag(synth_batch):
    report = {r["pluginName"]: r for r in synth_batch.validation_report["pluginReports"]}["AwsSolutions"]
    assert report["conclusion"] == "success", [v["ruleName"] for v in report.get("violations", [])]


def test_batch_without_the_worker_dockerfile_is_a_clear_error(tmp_path):
    build(tmp_path / "assets", with_deps=False)
    context = {
        **file_context(),
        "image_provider": "batch",
        "gpu_build_context": str(tmp_path / "no-gpu-worker-here"),
        "lambda_assets": str(tmp_path / "assets"),
    }
    with pytest.raises(FileNotFoundError, match="image_provider=replicate"):
        build_app(context, str(tmp_path / "out"))


def test_synth_without_built_lambda_assets_says_how_to_build_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="make lambda-assets"):
        build_app({**file_context(), "lambda_assets": str(tmp_path / "empty")}, str(tmp_path / "out"))
