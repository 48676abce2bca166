"""The storyboard page in headless Chromium (Debian's package), served over a local HTTP server."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from storyreel.shared.contracts import FrameStatus, Storyboard

from testkit.briefs import build_run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
    ),
]


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def served(tmp_path, rambling) -> Iterator[tuple[str, Path]]:
    run_dir = build_run(tmp_path, rambling, limit_images=6, fail="s2-end")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(run_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html", run_dir
    finally:
        server.shutdown()
        server.server_close()


def test_page_loads_clean_and_shows_every_frame(served):
    from playwright.sync_api import sync_playwright

    url, run_dir = served
    board = Storyboard.model_validate_json((run_dir / "storyboard.json").read_text())
    rendered = [f.image_key for s in board.scenes for f in s.frames() if f.status == FrameStatus.rendered]
    pending = [f for s in board.scenes for f in s.frames() if f.status == FrameStatus.pending]
    assert len(rendered) == 5 and len(pending) == 4

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on(
                "response",
                lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
            )
            page.goto(url, wait_until="load")
            images = page.eval_on_selector_all(
                "img",
                "els => els.map(e => ({src: e.getAttribute('src'), w: e.naturalWidth, done: e.complete}))",
            )
            assert [i["src"] for i in images] == rendered
            assert all(i["done"] and i["w"] == 1344 for i in images), images
            slots = page.locator("[data-status=pending]")
            assert slots.count() == 4
            for i in range(4):
                assert "Pending — not rendered yet" in slots.nth(i).inner_text()
            failed = page.locator("[data-status=failed]")
            assert failed.count() == 1 and "Failed" in failed.inner_text()
            # what the planner wrote, as storyboard.json has it, as the page text (escaping undone), scenes in order
            assert page.title() == " ".join(f"{board.title} · storyreel".split())  # as browsers tidy it
            assert page.locator("h1").text_content() == board.title
            assert page.locator(".hook").text_content() == board.hook
            headings = page.locator("section.scene h3").all_text_contents()
            scenes = sorted(board.scenes, key=lambda s: s.index)
            assert len(scenes) == 5 and headings == [f"{s.index}. {s.title}" for s in scenes]
        finally:
            browser.close()
    assert problems == []
