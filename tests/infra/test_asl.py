"""Every ASL file against an independent implementation of the Amazon States Language rules (the npm package
asl-validator, installed by `npm ci` from the committed package-lock.json; `make test` does it), filled in
as CDK fills it, and the deployed definition against Step Functions' size limit.

asl-validator checks the JSON schema of every state, transitions (Next targets exist, every state reachable,
terminal states), and state names unique across the WHOLE machine: it counts the names of every `States`
object (top level, Parallel branches, Map ItemProcessor/Iterator) together, which is the rule Step Functions
applies at CreateStateMachine and that moto and cfn-lint do not check.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest
from infra_testkit import ASL_VALIDATOR, ROOT, deployed_definitions, substituted, tool

ASL_FILES = sorted((ROOT / "infra").rglob("*.asl.json"))
DEFINITION_LIMIT = 1024 * 1024  # Step Functions: a state machine definition is at most 1 MB


def validate(definitions: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    exe = tool(ASL_VALIDATOR, "run `npm ci` at the repository root (make test does)")
    args = [str(exe)]
    for name, text in definitions.items():
        path = tmp_path / f"{name}.asl.json"
        path.write_text(text)
        args += ["--json-path", str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_there_are_asl_files():
    assert ASL_FILES, "no infra/**/*.asl.json found"


@pytest.mark.parametrize("asl", ASL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_asl_file_passes_asl_validator(asl, tmp_path):
    text = substituted(asl.read_text())
    assert "${" not in text
    done = validate({asl.name.removesuffix(".asl.json"): text}, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_deployed_definition_is_valid_and_under_1_mb(synth, tmp_path):
    definitions = deployed_definitions(synth.template, synth.outdir)
    assert definitions, "no state machine in the template"
    for logical_id, text in definitions.items():
        assert "${" not in text, f"{logical_id}: a substitution was left unfilled"
        size = len(text.encode())
        assert size < DEFINITION_LIMIT, f"{logical_id}: {size} bytes >= 1 MB"
        print(f"{logical_id}: definition {size / 1024:.1f} KB after substitution")
    done = validate(definitions, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def _states_objects(node):
    """Every `States` object of a definition: the top level, Parallel branches, Map processors."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "States" and isinstance(value, dict):
                yield value
            yield from _states_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _states_objects(value)


def _rename_state(states: dict, old: str, new: str) -> None:
    """Rename one state in its own States object (its StartAt/Next references stay consistent)."""
    text = json.dumps(states).replace(json.dumps(old), json.dumps(new))
    states.clear()
    states.update(json.loads(text))


def _processor(definition: dict, map_state: str) -> dict:
    """The ItemProcessor of a Map state, wherever it is in the definition."""
    for states in _states_objects(definition):
        if map_state in states:
            return states[map_state]["ItemProcessor"]
    raise KeyError(map_state)


@pytest.fixture
def definition() -> dict:
    (asl,) = [p for p in ASL_FILES if p.name == "storyboard.asl.json"]
    return json.loads(substituted(asl.read_text()))


def test_names_are_unique_across_the_whole_machine(definition):
    names = [name for states in _states_objects(definition) for name in states]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_the_validator_rejects_a_name_shared_by_the_two_map_processors(definition, tmp_path):
    """The bug that made `cdk deploy` fail: the same task name inside each Map's ItemProcessor."""
    main = _processor(definition, "Render frames per scene")
    rest = _processor(definition, "Render the rest per scene")
    (main_task,) = main["States"]
    (rest_task,) = rest["States"]
    broken = copy.deepcopy(definition)
    proc = _processor(broken, "Render the rest per scene")
    proc["StartAt"] = main_task
    proc["States"] = {main_task: proc["States"].pop(rest_task)}
    done = validate({"duplicate-in-maps": json.dumps(broken)}, tmp_path)
    assert done.returncode != 0
    assert "DUPLICATE_STATE_NAMES" in done.stdout + done.stderr and main_task in done.stdout + done.stderr


def test_the_validator_rejects_a_parallel_branch_state_named_like_a_top_level_one(definition, tmp_path):
    broken = copy.deepcopy(definition)
    branch = broken["States"]["Scenes, images and virality"]["Branches"][1]
    _rename_state(branch["States"], "Forum evidence?", "Transcribe audio")
    branch["StartAt"] = "Transcribe audio"
    done = validate({"duplicate-in-parallel": json.dumps(broken)}, tmp_path)
    assert done.returncode != 0
    assert "DUPLICATE_STATE_NAMES" in done.stdout + done.stderr


def test_the_validator_rejects_a_transition_to_a_missing_state(definition, tmp_path):
    broken = copy.deepcopy(definition)
    broken["States"]["Transcribe audio"]["Next"] = "No such state"
    done = validate({"missing-target": json.dumps(broken)}, tmp_path)
    assert done.returncode != 0 and "MISSING_TRANSITION_TARGET" in done.stdout + done.stderr
