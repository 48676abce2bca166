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


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_storyboard_comes_first_and_fits_the_width(served, width, height):
    """The first keyframe is on the first screen and big; at 390 px nothing scrolls sideways."""
    from playwright.sync_api import sync_playwright

    url, _ = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url, wait_until="load")
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
            first = page.locator("figure[data-frame=s1-start] img").bounding_box()
            end = page.locator("figure[data-frame=s1-end] img").bounding_box()
            assert first is not None and end is not None
            assert first["y"] + first["height"] / 2 < height  # on the first screen, at least half of it
            # two keyframes side by side on a desktop, one under the other on a phone; wide enough to judge
            assert first["width"] >= (0.4 * width if width > 800 else 0.85 * width)
            assert (end["y"] == first["y"]) == (width > 800)
            # the details are closed; opening them (every table included) still fits the width
            for anchor in ("context", "optimizer", "timings", "transcript"):
                assert page.locator(f"details#{anchor}").get_attribute("open") is None
                page.locator(f"details#{anchor} > summary").click()
            assert page.locator("details#optimizer table").is_visible()
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        finally:
            browser.close()


def test_keyboard_reaches_and_opens_the_details(served):
    from playwright.sync_api import sync_playwright

    url, _ = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url, wait_until="load")
            reached: list[str] = []
            for _ in range(80):  # Tab through the page until the context's summary has focus
                page.keyboard.press("Tab")
                here = page.evaluate(
                    "(() => { const a = document.activeElement; const d = a.closest('details');"
                    " return a.tagName + '#' + (d ? d.id : ''); })()"
                )
                reached.append(here)
                if here == "SUMMARY#context":
                    break
            assert reached[-1] == "SUMMARY#context", reached
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("none", "")  # the focus is visible
            page.keyboard.press("Enter")
            assert page.locator("details#context").get_attribute("open") is not None
            assert "DIV#" in reached  # the scrolling table regions are in the tab order too
        finally:
            browser.close()
