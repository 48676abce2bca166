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
