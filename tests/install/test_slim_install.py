"""What a plain `pip install storyreel` gives: the local pipeline runs, and a production provider whose SDK
is not installed is one line naming the extra (exit 2), not a traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "brief.wav"

# The modules the embedded defaults import; each must come with the core dependencies.
LOCAL_PIPELINE_MODULES = ("numpy", "pocketsphinx", "imageio_ffmpeg", "PIL", "rich", "yaml", "click")
DIST_OF = {"PIL": "pillow", "yaml": "pyyaml", "imageio_ffmpeg": "imageio-ffmpeg"}


def test_the_core_dependencies_cover_the_local_pipeline() -> None:
    core = " ".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]).lower()
    for module in LOCAL_PIPELINE_MODULES:
        assert DIST_OF.get(module, module).lower() in core, module


def test_a_provider_sdk_missing_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    # `None` in sys.modules makes `import openai` raise ModuleNotFoundError, as on a slim install.
    code = (
        "import sys; sys.modules['openai'] = None; sys.argv = ['storyreel', *sys.argv[1:]];"
        "from storyreel.cli import main; main()"
    )
    env = {"STORYREEL_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code, "run", str(EXAMPLE), "--llm", "openai", "--out", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "OPENAI_API_KEY": "sk-test"},
        cwd=ROOT,
    )
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("storyreel: error:")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert "pip install 'storyreel[providers]'" in lines[0]
    assert "Traceback" not in result.stderr


def test_the_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    """shared/ and services/ are mapped under storyreel (setup.py); infra/ is a repository tool, not installed."""
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("storyreel-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"storyreel", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, tops
    for module in ("storyreel/shared/contracts.py", "storyreel/services/api/handler.py", "storyreel/cli.py"):
        assert module in names, module
    # package data travels too: the ASL is infra's, but the OpenAPI document and the schema are the services'
    assert "storyreel/services/api/openapi.json" in names
    assert "storyreel/shared/schema/storyboard.schema.json" in names
