"""`-c transcriber=whisper`: the Transcribe function as a container-image Lambda carrying faster-whisper
(infra/images/transcribe), staged at synth and built by `cdk deploy`; with the default (openai) it stays the zip."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from storyreel.services.transcribe.providers import LAMBDA_IMAGE_ENV

from infra.bundle import requirements
from infra.config import ROOT, InfraConfig
from infra.functions import BY_ID, TRANSCRIBE_IMAGE_DOCKERFILE, TRANSCRIBE_IMAGE_PACKAGES
from tests.infra.conftest import Synth, synthesize
from tests.infra.test_policies import by_action, role_statements

MODEL = "s3://storyreel-models/whisper/base.en"
DOCKERFILE = ROOT / TRANSCRIBE_IMAGE_DOCKERFILE


@pytest.fixture(scope="module")
def synth_whisper(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("synth-whisper"), transcriber="whisper", whisper_model=MODEL)


def transcribe(s: Synth) -> dict[str, Any]:
    return s.resources[s.logical_id(s.stack.functions.fn["Transcribe"])]["Properties"]


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = (line.strip() for line in text.splitlines())
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and not line.startswith("#"))
    ]


def test_whisper_transcribe_is_an_arm64_image_function_with_memory_for_base_en(synth_whisper):
    props = transcribe(synth_whisper)
    assert props["PackageType"] == "Image"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 3008 and props["Timeout"] == 900
    assert props["EphemeralStorage"] == {"Size": 4096}
    assert "ImageUri" in props["Code"] and "ZipFile" not in props["Code"] and "S3Key" not in props["Code"]
    # the handler is the image's CMD; a container takes no runtime and no layers
    assert not {"Runtime", "Handler", "Layers"} & set(props)
    assert props["TracingConfig"] == {"Mode": "Active"}
    env = props["Environment"]["Variables"]
    assert env["STORYREEL_TRANSCRIPTION__PROVIDER"] == "whisper"
    assert env["STORYREEL_TRANSCRIPTION__MODEL"] == MODEL
    # every other function runs with the same transcription settings (a run's options are resolved at intake)
    intake = synth_whisper.resources[synth_whisper.logical_id(synth_whisper.stack.functions.fn["Intake"])]
    assert intake["Properties"]["Environment"]["Variables"]["STORYREEL_TRANSCRIPTION__MODEL"] == MODEL
    assert "Runtime" in intake["Properties"]  # the other functions stay zips


def test_the_image_function_keeps_the_zip_functions_role_and_environment(synth, synth_whisper):
    zip_props, image_props = transcribe(synth), transcribe(synth_whisper)
    assert set(zip_props["Environment"]["Variables"]) | {"STORYREEL_TRANSCRIPTION__MODEL"} == set(
        image_props["Environment"]["Variables"]
    )
    zip_actions = by_action(role_statements(synth, zip_props["Role"]["Fn::GetAtt"][0]))
    image_actions = by_action(role_statements(synth_whisper, image_props["Role"]["Fn::GetAtt"][0]))
    assert set(image_actions) == set(zip_actions) | {
        "s3:ListBucket"
    }  # the model's listing; GetObject was there
    assert json.dumps(image_actions["secretsmanager:GetSecretValue"]).count("storyreel/openai") >= 1


def test_the_image_reads_only_the_model_prefix(synth_whisper):
    s = synth_whisper
    role_id = transcribe(s)["Role"]["Fn::GetAtt"][0]
    statements = role_statements(s, role_id)
    # the model's objects (policies are minimized: a statement may also carry the runs/ prefix)
    actions = by_action(statements)
    model_objects = [r for r in actions["s3:GetObject"] if "storyreel-models" in json.dumps(r)]
    assert model_objects == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::storyreel-models/whisper/base.en/*"]]}
    ]
    (listing,) = [
        st
        for st in statements
        if "s3:ListBucket" in json.dumps(st["Action"]) and "storyreel-models" in json.dumps(st["Resource"])
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["whisper/base.en", "whisper/base.en/*"]}}
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert "storyreel-models" not in json.dumps(actions.get(action, []))
    others = [
        rid
        for rid in s.of_type("AWS::IAM::Role")
        if rid != role_id and "storyreel-models" in json.dumps(role_statements(s, rid))
    ]
    assert others == []


def test_the_image_is_staged_for_deploy_with_its_dockerfile_not_built_at_synth(synth_whisper):
    s = synth_whisper
    assets = json.loads((s.outdir / f"{s.stack.stack_name}.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    source = image["source"]
    assert source["dockerFile"] == "infra/images/transcribe/Dockerfile"
    assert source["platform"] == "linux/arm64"
    wanted = requirements("transcribe", extra=TRANSCRIBE_IMAGE_PACKAGES)
    assert source["dockerBuildArgs"]["REQUIREMENTS"].splitlines() == wanted
    assert any(r.startswith("faster-whisper") for r in wanted)
    staged = s.outdir / source["directory"]
    files = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    assert "services/transcribe/handler.py" in files and "shared/settings.py" in files
    # the build reads the Dockerfile from the staged context: the ignore list must keep it
    assert {"infra/images/transcribe/Dockerfile", "infra/images/transcribe/Dockerfile.dockerignore"} <= files
    assert {f for f in files if f.startswith("infra/")} == {
        "infra/images/transcribe/Dockerfile",
        "infra/images/transcribe/Dockerfile.dockerignore",
    }
    tops = {f.split("/", 1)[0] for f in files}
    assert tops == {"shared", "services", "infra"}, tops  # no .venv, cdk.out, tests, bench ...
    assert not [f for f in files if "/tests/" in f or f.endswith(".pyc") or "images/gpu/" in f]


def test_the_whisper_stack_passes_cdk_nag(synth_whisper):
    report = {r["pluginName"]: r for r in synth_whisper.validation_report["pluginReports"]}["AwsSolutions"]
    assert report["conclusion"] == "success", [v["ruleName"] for v in report.get("violations", [])]


def test_the_dockerfile_installs_faster_whisper_and_runs_the_zip_handler():
    steps = instructions(DOCKERFILE)
    (base,) = [args for op, args in steps if op == "FROM"]
    assert base == "public.ecr.aws/lambda/python:3.13"  # the zip functions' CPython (workflow.RUNTIME)
    from infra.constructs.workflow import RUNTIME

    assert RUNTIME.name == "python" + base.rsplit(":", 1)[1]
    (cmd,) = [args for op, args in steps if op == "CMD"]
    assert json.loads(cmd) == [BY_ID["Transcribe"].handler]
    assert ("ARG", "REQUIREMENTS") in steps
    runs = " ".join(args for op, args in steps if op == "RUN")
    pip = next(part for part in runs.split("&&") if "pip install" in part)
    words = shlex.split(pip)
    assert words[words.index("--target") + 1] == "${LAMBDA_TASK_ROOT}"
    assert words[words.index("--requirement") + 1] == "/tmp/requirements.txt"
    assert "printf '%s\\n' \"$REQUIREMENTS\" > /tmp/requirements.txt" in runs
    assert "import faster_whisper, ctranslate2" in runs  # the build fails without them
    env = " ".join(args for op, args in steps if op == "ENV")
    assert f"{LAMBDA_IMAGE_ENV}=transcribe" in env and "STORYREEL_MODEL_CACHE=/tmp/" in env
    copies = [args for op, args in steps if op == "COPY"]
    assert copies == [
        "shared/ ${LAMBDA_TASK_ROOT}/storyreel/shared/",
        "services/ ${LAMBDA_TASK_ROOT}/storyreel/services/",
    ]
    assert "faster-whisper" in TRANSCRIBE_IMAGE_PACKAGES


def test_by_default_transcribe_stays_the_zip_function(synth):
    props = transcribe(synth)
    assert props.get("PackageType", "Zip") == "Zip"
    assert props["Runtime"] == "python3.13" and props["Handler"] == BY_ID["Transcribe"].handler
    assert props["MemorySize"] == BY_ID["Transcribe"].memory_mb
    assert props["Environment"]["Variables"]["STORYREEL_TRANSCRIPTION__PROVIDER"] == "openai"
    assert "STORYREEL_TRANSCRIPTION__MODEL" not in props["Environment"]["Variables"]
    assets = json.loads((synth.outdir / f"{synth.stack.stack_name}.assets.json").read_text())
    assert not assets.get("dockerImages")
    assert "storyreel-models" not in json.dumps(synth.template)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"transcriber": "sphinx"}, "transcriber='sphinx'"),
        ({"settings": {"transcription": {"provider": "whisper"}}}, "-c transcriber=openai|whisper"),
        (
            {"transcriber": "whisper", "settings": {"transcription": {"model": "s3://a/b"}}},
            "-c whisper_model=",
        ),
        ({"transcriber": "whisper", "whisper_model": "s3:///whisper"}, "expected s3://bucket/prefix"),
    ],
)
def test_transcriber_context_mistakes_are_one_line_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        InfraConfig(**fields).validate()


def test_whisper_model_locations() -> None:
    assert InfraConfig(transcriber="whisper", whisper_model=MODEL).whisper_model_s3 == (
        "storyreel-models",
        "whisper/base.en",
    )
    sized = InfraConfig(transcriber="whisper")
    sized.validate()
    assert (
        sized.whisper_model_s3 is None and sized.settings_env()["STORYREEL_TRANSCRIPTION__MODEL"] == "base.en"
    )
    assert "STORYREEL_TRANSCRIPTION__MODEL" not in InfraConfig().settings_env()
    # repeating the flag's value in settings is allowed
    InfraConfig(settings={"transcription": {"provider": "openai", "model": "whisper-1"}}).validate()


def test_the_whisper_template_is_cfn_lint_clean(synth_whisper):
    from cfnlint.api import ManualArgs, lint_file

    from tests.infra.test_checks import CFN_LINT_IGNORE

    template = synth_whisper.outdir / f"{synth_whisper.stack.stack_name}.template.json"
    matches = lint_file(template, config=ManualArgs(ignore_checks=CFN_LINT_IGNORE, regions=["us-east-1"]))
    assert [str(m) for m in matches] == []
