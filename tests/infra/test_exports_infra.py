"""The exports in the stack: the Api's asset installs what the PDF and timelines import (so its 501 cannot
happen when deployed), the Export function's asset adds ffmpeg; the Export function reads the run and writes
and deletes only under runs/*/exports/; the Api may invoke the Export function and nothing else; the Export
function's failed asynchronous invocations go, without retries, to ExportFail; cdk-nag passes over it all."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

from test_policies import by_action, object_prefixes, role_statements

from infra.bundle import _name, requirements
from infra.constructs.invoke import ASYNC_RETRIES, function_name_env
from infra.functions import BY_ID, EXPORTS

ROOT = Path(__file__).resolve().parents[2]
EXPORT_SOURCES = sorted((ROOT / "services" / "export").glob("*.py"))


def _third_party_imports(paths: list[Path], *, lazy: bool) -> set[str]:
    """Top-level modules the files import that are neither the standard library nor storyreel: on import of the
    module only, or (lazy) inside its functions too."""
    found: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree) if lazy else tree.body:
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("storyreel", "__future__")}


def _distributions(modules: set[str]) -> set[str]:
    by_module = importlib.metadata.packages_distributions()
    return {_name(by_module[m][0]) for m in modules}


def _group(asset: str) -> set[str]:
    return {_name(r) for r in requirements(asset)}


def _loaded_with(module: str) -> list[Path]:
    """services/export/<module>.py and the services/export modules it imports on load, transitively."""
    folder = ROOT / "services" / "export"
    todo, seen = [folder / f"{module}.py"], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module == "storyreel.services.export":
                todo += [folder / f"{a.name}.py" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "storyreel.services.export."
            ):
                todo.append(folder / f"{node.module.rsplit('.', 1)[1]}.py")
    return sorted(seen)


def test_the_api_asset_installs_what_the_export_step_imports_and_the_otio_adapters() -> None:
    # the modules `from storyreel.services.export import step` loads (the handler's Powertools is the layer's);
    # the animatic (OpenCV, numpy) loads only when an mp4 is made, in the Export function
    loaded = _loaded_with("step")
    assert ROOT / "services" / "export" / "pdf.py" in loaded
    assert ROOT / "services" / "export" / "animatic.py" not in loaded
    step_imports = _third_party_imports(loaded, lazy=False)
    assert {"PIL", "reportlab", "opentimelineio", "pydantic"} <= step_imports
    api = _group(BY_ID["Api"].asset)
    assert _distributions(step_imports) <= api
    # the FCP7 XML and EDL adapters are plugins since OTIO 0.17: their packages, or the timelines fail
    assert {"otio-fcp-adapter", "otio-cmx3600-adapter"} <= api


def test_the_export_asset_installs_everything_the_export_code_imports_ffmpeg_included() -> None:
    imports = _third_party_imports(EXPORT_SOURCES, lazy=True) - {"aws_lambda_powertools"}  # the layer's
    assert "imageio_ffmpeg" in imports  # the animatic's ffmpeg where no system ffmpeg is (the Lambda)
    export = _group("export")
    assert _distributions(imports) <= export
    assert {"otio-fcp-adapter", "otio-cmx3600-adapter"} <= export
    assert BY_ID["Export"].asset == BY_ID["ExportFail"].asset == "export"


def _fn(synth, spec_id: str) -> dict[str, Any]:
    return synth.resources[synth.logical_id(synth.stack.functions.fn[spec_id])]


def test_export_function_sizes_and_its_async_config(synth) -> None:
    props = _fn(synth, "Export")["Properties"]
    assert props["Handler"] == "storyreel.services.export.handler.handler"
    assert props["Timeout"] == 900 and props["MemorySize"] == BY_ID["Export"].memory_mb
    assert props["EphemeralStorage"] == {"Size": 4096}
    export_id = synth.logical_id(synth.stack.functions.fn["Export"])
    fail_id = synth.logical_id(synth.stack.functions.fn["ExportFail"])
    (config,) = [
        c["Properties"]
        for c in synth.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": export_id}
    ]
    assert config["MaximumRetryAttempts"] == ASYNC_RETRIES == 0
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [fail_id, "Arn"]}}}


def test_export_role_reads_the_run_and_writes_only_its_exports(synth) -> None:
    stack = synth.stack
    bucket_id = synth.logical_id(stack.storage.bucket)
    for spec_id, read in (("Export", {"runs/"}), ("ExportFail", set())):
        actions = by_action(role_statements(synth, synth.logical_id(stack.functions.fn[spec_id].role)))
        assert object_prefixes(actions.get("s3:GetObject", []), bucket_id) == read, spec_id
        assert object_prefixes(actions.get("s3:PutObject", []), bucket_id) == (
            {EXPORTS} if spec_id == "Export" else set()
        )
        assert (
            object_prefixes(actions.get("s3:DeleteObject", []), bucket_id) == {EXPORTS} == {"runs/*/exports/"}
        )
        assert "events:PutEvents" not in actions and "states:StartExecution" not in actions
    export_actions = by_action(role_statements(synth, synth.logical_id(stack.functions.fn["Export"].role)))
    fail_arn = {"Fn::GetAtt": [synth.logical_id(stack.functions.fn["ExportFail"]), "Arn"]}
    invoked = export_actions["lambda:InvokeFunction"]
    assert fail_arn in invoked
    for r in invoked:  # the destination (and CDK's `<arn>:*` for its versions): nothing else
        assert r == fail_arn or r == {"Fn::Join": ["", [fail_arn, ":*"]]}, r


def test_only_the_api_invokes_the_export_function_and_only_that(synth) -> None:
    stack = synth.stack
    export_arn = {"Fn::GetAtt": [synth.logical_id(stack.functions.fn["Export"]), "Arn"]}
    for spec_id in stack.functions.fn:
        actions = by_action(role_statements(synth, synth.logical_id(stack.functions.fn[spec_id].role)))
        invoked = actions.get("lambda:InvokeFunction", [])
        if spec_id == "Api":
            assert invoked == [export_arn]
        elif spec_id != "Export":
            assert export_arn not in invoked, spec_id
    env = _fn(synth, "Api")["Properties"]["Environment"]["Variables"]
    assert env[function_name_env("Export")] == {"Ref": synth.logical_id(stack.functions.fn["Export"])}
    from storyreel.services.api.handler import EXPORT_FUNCTION_ENV

    assert function_name_env("Export") == EXPORT_FUNCTION_ENV


def test_cdk_nag_passes_with_the_export_functions(synth) -> None:
    report = {r["pluginName"]: r for r in synth.validation_report["pluginReports"]}["AwsSolutions"]
    assert report["conclusion"] == "success", json.dumps(report.get("violations", []))[:2000]
    paths = {synth.stack.functions.fn[i].node.path for i in ("Export", "ExportFail")}
    assert paths <= {fn.node.path for fn in synth.stack.functions.fn.values()}


def test_importing_the_export_step_loads_no_opencv() -> None:
    """The Api Lambda has no OpenCV: the PDF and timelines path must not import it (a real import, not a parse)."""
    import subprocess

    code = "import sys; from storyreel.services.export import step; print('cv2' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
