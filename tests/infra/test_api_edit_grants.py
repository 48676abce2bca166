"""The Api function re-renders frames (issue #11): the images stage's vendor keys and SDKs, and with the GPU
queue, batch:SubmitJob on that queue and its job definition only."""

from __future__ import annotations

import json

from infra.functions import ASSET_GROUPS, BY_ID, SECRET_ENV, stage_secrets
from tests.infra.test_policies import by_action, role_statements


def _api(synth):
    fn = synth.stack.functions.fn["Api"]
    role_id = synth.logical_id(fn.role)
    return synth.resources[synth.logical_id(fn)]["Properties"], by_action(role_statements(synth, role_id))


def test_api_reads_exactly_the_images_stages_vendor_secrets(synth):
    images = stage_secrets(("images",))
    assert set(images) == {"replicate", "stability", "openai"}  # the API providers frames re-render with
    assert BY_ID["Api"].secrets == BY_ID["Images"].secrets == images
    props, actions = _api(synth)
    read = json.dumps(actions["secretsmanager:GetSecretValue"])
    for key in SECRET_ENV:
        assert (f":secret:storyreel/{key}-??????" in read) == (key in images), key
    env = props["Environment"]["Variables"]
    assert {k for k, v in SECRET_ENV.items() if v in env} == set(images)
    assert not any(a.startswith("batch:") for a in actions)  # no GPU queue in this stack, no Batch


def test_api_bundle_has_the_image_providers_sdks():
    spec = BY_ID["Api"]
    assert spec.asset == "images"
    assert {"openai", "replicate", "pillow"} <= set(ASSET_GROUPS[spec.asset])


def test_api_submits_gpu_jobs_to_that_queue_and_job_definition_only(synth_batch):
    s = synth_batch
    props, actions = _api(s)
    queue_id = s.logical_id(s.stack.gpu.job_queue)
    definition_id = s.logical_id(s.stack.gpu.job_definition)
    batch = {a: r for a, r in actions.items() if a.startswith("batch:")}
    assert list(batch) == ["batch:SubmitJob"]
    resources = batch["batch:SubmitJob"]
    assert len(resources) == 2
    assert queue_id in json.dumps(resources) and definition_id in json.dumps(resources)
    assert "*" not in json.dumps(resources)
    env = props["Environment"]["Variables"]
    assert queue_id in json.dumps(env["STORYREEL_GPU_JOB_QUEUE"])
    assert definition_id in json.dumps(env["STORYREEL_GPU_JOB_DEFINITION"])
    # no other function may submit GPU jobs
    for spec_id, fn in s.stack.functions.fn.items():
        if spec_id != "Api":
            assert "batch:SubmitJob" not in by_action(role_statements(s, s.logical_id(fn.role))), spec_id
