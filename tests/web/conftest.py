"""The web app against a real `storyreel serve` (a subprocess on an ephemeral port, its own STORYREEL_HOME),
in Debian's Chromium with a fake microphone that plays examples/brief.wav."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BRIEF = ROOT / "examples" / "brief.wav"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    f"--use-file-for-fake-audio-capture={BRIEF}%noloop",
    "--autoplay-policy=no-user-gesture-required",
]
READY = re.compile(r"storyreel serve: (http://\S+)")


def storyreel_command() -> list[str]:
    """The installed console script beside this interpreter."""
    script = Path(sys.executable).with_name("storyreel")
    if not script.exists():
        pytest.skip(f"no storyreel console script beside {sys.executable}")
    return [str(script)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`storyreel serve --port 0` in a fresh home; yields its base URL."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    home = tmp_path_factory.mktemp("serve-home")
    env = {
        **os.environ,
        "STORYREEL_HOME": str(home),
        # offline: forum evidence would go to the network; the content score still runs
        "STORYREEL_PIPELINE__VIRALITY_EVALUATION": "false",
    }
    for name in ("OPENAI_API_KEY", "REPLICATE_API_TOKEN", "STABILITY_API_KEY", "FIRECRAWL_API_KEY"):
        env.pop(name, None)
    log = (home / "serve.log").open("w+")
    proc = subprocess.Popen(
        [*storyreel_command(), "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        found = READY.search((home / "serve.log").read_text())
        if found:
            url = found.group(1)
            break
        time.sleep(0.1)
    if url is None:
        proc.kill()
        raise RuntimeError(f"storyreel serve did not start:\n{(home / 'serve.log').read_text()}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@dataclass
class Problems:
    """Console errors and page errors seen in a page (a failed request logs one too)."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on(
            "console",
            lambda m: self.seen.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.seen.append(f"page error: {exc}"))


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: STORYREEL_SCREENSHOTS (`make screenshots`: docs/screenshots) or tmp."""
    out = Path(os.environ.get("STORYREEL_SCREENSHOTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def small_png(path: Path) -> None:
    """Re-save a screenshot with a 256-colour palette (docs screenshots stay well under 300 KB)."""
    from PIL import Image

    with Image.open(path) as im:
        im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
