"""bench/ runs without the test suite: no bench script imports tests/ or puts a tests/ folder on sys.path.

The fake vendors both use live in testkit/ (repository root)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def reaches_tests(tree: ast.AST) -> list[str]:
    """Each import of `tests` (or a module under it) and each sys.path change naming a tests folder."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "tests"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "tests":
                found.append(f"from {node.module} import ...")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("insert", "append")
            and ast.unparse(node.func.value) == "sys.path"
        ):
            strings = [
                n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            if any("tests" in Path(s).parts for s in strings):
                found.append(ast.unparse(node))
    return found


def test_there_are_bench_scripts() -> None:
    assert len(SCRIPTS) >= 5, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bench_does_not_import_tests(script: Path) -> None:
    assert reaches_tests(ast.parse(script.read_text(), filename=str(script))) == []


@pytest.mark.parametrize(
    "source",
    [
        "from tests.providers.fakes import FakeOpenAI",
        "import tests.virality.fake_forums",
        "import tests",
        'sys.path.insert(0, str(ROOT / "tests" / "virality"))',
        'sys.path.append("tests/virality")',
    ],
)
def test_the_check_sees_each_way_in(source: str) -> None:
    assert reaches_tests(ast.parse(source)) != []


def test_the_check_lets_testkit_through() -> None:
    source = "sys.path.insert(0, str(ROOT))\nfrom testkit.vendors.openai import FakeOpenAI\nimport testing"
    assert reaches_tests(ast.parse(source)) == []
