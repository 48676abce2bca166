"""The web app end to end: record a brief (fake microphone), watch it finish, edit a prompt and see the new
frame, reorder by keyboard, switch a version back, lock, send feedback, read the policy; the same at 390 px
with a picked file and no sideways scroll; the API's error lines shown as they are. Every page is watched for
console errors and page errors."""

from __future__ import annotations

import json
import time
import wave
from pathlib import Path

import pytest

from tests.web.conftest import BRIEF, Problems, small_png

pytestmark = pytest.mark.browser

RUN_DONE_MS = 120_000
RENDER_MS = 30_000


def brief_seconds() -> float:
    with wave.open(str(BRIEF)) as w:
        return w.getnframes() / w.getframerate()


def open_app(chromium, server: str, width: int, height: int):
    context = chromium.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["microphone"], origin=server)
    page = context.new_page()
    problems = Problems()
    problems.watch(page)
    page.goto(f"{server}/app/index.html", wait_until="load")
    page.locator("h1", has_text="New brief").wait_for()
    return context, page, problems


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width


def wait_finished(page) -> str:
    """Wait for the run view to show the finished storyboard; returns the run id."""
    page.wait_for_url("**#/runs/*", timeout=30_000)
    run_id = page.url.rsplit("/", 1)[1]
    page.wait_for_function(
        "() => document.querySelector('#run-meta .badge')?.textContent === 'succeeded'"
        " && document.querySelectorAll('#scene-list li.scene').length >= 3",
        timeout=RUN_DONE_MS,
    )
    return run_id


def frame_src(page, fid: str) -> str:
    return page.locator(f"#scene-list figure[data-frame={fid}] img").get_attribute("src")


def wait_image_loaded(page, selector: str) -> None:
    page.wait_for_function(
        "(sel) => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0; }",
        arg=selector,
        timeout=RENDER_MS,
    )


def scene_titles(page) -> list[str]:
    return page.locator("#scene-list li.scene h3").all_text_contents()


def edit_prompt(page, fid: str, prompt: str) -> tuple[str, str]:
    """Open the frame's editor, re-render it with `prompt`; (src before, src after) on the storyboard."""
    before = frame_src(page, fid)
    page.locator(f"[data-key=frame-{fid}]").click()
    dialog = page.locator("dialog#frame-editor")
    dialog.wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "editor-prompt"
    page.fill("#editor-prompt", prompt)
    page.click("#editor-render")
    page.wait_for_function("() => document.querySelectorAll('#versions li').length === 2", timeout=RENDER_MS)
    after = frame_src(page, fid)
    wait_image_loaded(page, f"#scene-list figure[data-frame={fid}] img")
    return before, after


def shoot(page, path: Path) -> None:
    page.screenshot(path=str(path))
    small_png(path)
    assert path.stat().st_size < 300_000, path


def test_record_edit_reorder_feedback_policy_desktop(chromium, server, shots):
    context, page, problems = open_app(chromium, server, 1280, 900)
    try:
        shoot(page, shots / "web-new-desktop.png")
        # record: the timer runs and the level meter moves while the fake microphone plays the brief
        page.click("#record")
        page.wait_for_function("() => document.querySelector('#level').value > 0.05", timeout=10_000)
        levels = []
        started = time.monotonic()
        while time.monotonic() - started < brief_seconds() + 0.5:
            levels.append(page.evaluate("document.querySelector('#level').value"))
            page.wait_for_timeout(500)
        assert max(levels) > 0.1 and min(levels) < max(levels)
        assert page.locator("#timer").text_content() >= "0:2"  # 0:24 or more (text compare is enough)
        assert page.get_attribute("#record", "aria-pressed") == "true"
        page.click("#record")
        page.locator("#ready audio").wait_for()
        assert "brief.webm" in page.locator("#ready").inner_text()
        page.click("#start")

        # live progress, then the storyboard
        page.wait_for_url("**#/runs/*", timeout=30_000)
        page.locator("#progress .stage").first.wait_for(timeout=15_000)
        run_id = wait_finished(page)
        for i in range(1, 4):
            for role in ("start", "end"):
                wait_image_loaded(page, f"#scene-list figure[data-frame=s{i}-{role}] img")
        board = page.request.get(f"{server}/runs/{run_id}/storyboard").json()
        assert board["storyboard"]["transcript"]["duration_s"] > brief_seconds() - 3
        assert scene_titles(page) == [
            f"{s['index']}. {s['title']}" + ("locked" if s["locked"] else "")
            for s in board["storyboard"]["scenes"]
        ]
        assert page.locator("#virality li.component").count() == len(
            board["storyboard"]["virality"]["components"]
        )
        shoot(page, shots / "web-run-desktop.png")

        # edit a prompt: the new frame lands on the page and version 2 is listed (seed and provider shown)
        before, after = edit_prompt(page, "s1-start", "a red ceramic cup on an oak table, morning light")
        assert after != before
        versions = page.locator("#versions li")
        assert versions.nth(0).get_attribute("data-version") == "2"
        assert "current" in versions.nth(0).get_attribute("class")
        assert "seed" in versions.nth(0).inner_text() and "sketch" in versions.nth(0).inner_text()
        assert "a red ceramic cup" in versions.nth(0).inner_text()
        assert "version 2 of 2" in page.locator("figure[data-frame=s1-start] figcaption").inner_text()
        shoot(page, shots / "web-editor-desktop.png")

        # switch back to version 1
        page.click("#versions button[data-version='1']")
        page.wait_for_function(
            "() => document.querySelector('#versions li.current')?.dataset.version === '1'", timeout=RENDER_MS
        )
        assert "version 1 of 2" in page.locator("figure[data-frame=s1-start] figcaption").inner_text()
        assert frame_src(page, "s1-start") != after
        wait_image_loaded(page, "#scene-list figure[data-frame=s1-start] img")
        page.keyboard.press("Escape")
        page.locator("dialog#frame-editor").wait_for(state="hidden")
        assert page.evaluate("document.activeElement.dataset.key") == "frame-s1-start"

        # reorder by keyboard: Alt+ArrowDown on a scene, then its "move up" button; each change announced
        titles = scene_titles(page)
        page.focus("#scene-1")
        page.keyboard.press("Alt+ArrowDown")
        page.wait_for_function(
            "(t) => document.querySelector('#scene-list li.scene h3').textContent !== t", arg=titles[0]
        )
        moved = scene_titles(page)
        assert moved[1].split(". ", 1)[1] == titles[0].split(". ", 1)[1]
        assert moved[0].split(". ", 1)[1] == titles[1].split(". ", 1)[1]
        page.wait_for_function(
            "() => /moved to position 2/.test(document.getElementById('live').textContent)"
        )
        assert page.evaluate("document.activeElement.dataset.key") in ("move-down-2", "scene-2")
        page.focus("[data-key=move-up-2]")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "(t) => document.querySelector('#scene-list li.scene h3').textContent === t", arg=titles[0]
        )
        assert scene_titles(page) == titles

        # lock scene 2 (a toggle button, announced)
        page.click("[data-key=lock-2]")
        page.wait_for_function(
            "() => document.querySelector('[data-key=lock-2]').getAttribute('aria-pressed') === 'true'"
        )
        assert page.request.get(f"{server}/runs/{run_id}/storyboard").json()["storyboard"]["scenes"][1][
            "locked"
        ]

        # feedback -> the optimizer; then the policy view shows what it learned
        policy_before = page.request.get(f"{server}/policy").json()["updates"]
        for name, value in (("views", 12000), ("likes", 900), ("comments", 40), ("shares", 75)):
            page.fill(f"#fb-{name}", str(value))
        page.click("[data-key=feedback]")
        page.locator("#feedback-status", has_text="Recorded").wait_for()
        page.click("a[data-nav=policy]")
        page.locator("#policy .lever").first.wait_for()
        policy = page.request.get(f"{server}/policy").json()
        assert policy["updates"] > policy_before
        assert f"version {policy['version']}" in page.locator("#policy .summary-line").inner_text()
        assert page.locator("#policy .lever").count() == len(
            {(b["bucket"], b["lever"]) for b in policy["beliefs"]}
        )
        shoot(page, shots / "web-policy-desktop.png")

        # the runs list has it
        page.click("a[data-nav=runs]")
        page.locator(f"#runs li[data-run='{run_id}']").wait_for()
    finally:
        context.close()
    assert problems.seen == []


def test_pick_a_file_edit_and_reorder_at_phone_width(chromium, server, shots):
    width = 390
    context, page, problems = open_app(chromium, server, width, 844)
    try:
        no_sideways_scroll(page, width)
        shoot(page, shots / "web-new-phone.png")
        page.set_input_files("#file", str(BRIEF))
        page.locator("#ready").wait_for()
        page.click("details.options > summary")
        page.fill("#opt-scenes", "4")
        no_sideways_scroll(page, width)
        page.click("#start")
        wait_finished(page)
        assert page.locator("#scene-list li.scene").count() == 4
        wait_image_loaded(page, "#scene-list figure[data-frame=s1-start] img")
        no_sideways_scroll(page, width)
        box = page.locator("figure[data-frame=s1-start] img").bounding_box()
        assert box["width"] >= 0.85 * width  # one keyframe per row, big enough to judge
        shoot(page, shots / "web-run-phone.png")

        before, after = edit_prompt(page, "s2-end", "wide shot of a rooftop at dusk, string lights")
        assert after != before
        no_sideways_scroll(page, width)
        shoot(page, shots / "web-editor-phone.png")
        page.click("#editor-close")

        titles = scene_titles(page)
        page.focus("[data-key=move-down-1]")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "(t) => document.querySelector('#scene-list li.scene h3').textContent !== t", arg=titles[0]
        )
        assert [t.split(". ", 1)[1] for t in scene_titles(page)[:2]] == [
            t.split(". ", 1)[1] for t in titles[1::-1]
        ]

        for anchor in ("optimizer", "context", "transcript", "timings"):
            page.click(f"details#{anchor} > summary")
        page.locator("details.edit-scene > summary").first.click()
        no_sideways_scroll(page, width)
        page.click("a[data-nav=policy]")
        page.locator("#policy").wait_for()
        no_sideways_scroll(page, width)
        page.click("a[data-nav=runs]")
        page.locator("#runs li").first.wait_for()
        no_sideways_scroll(page, width)
    finally:
        context.close()
    assert problems.seen == []


def test_the_api_error_lines_reach_the_page(chromium, server, tmp_path):
    context, page, problems = open_app(chromium, server, 1280, 900)
    try:
        # not audio by its name: refused before anything is sent
        notes = tmp_path / "notes.txt"
        notes.write_text("a brief, typed")
        page.set_input_files("#file", str(notes))
        assert "notes.txt is not a kind of audio storyreel takes" in page.locator("#alert-text").inner_text()
        assert page.locator("#alert").is_visible()

        # audio by its name, not by its bytes: the upload's 415 line, as the server wrote it
        fake = tmp_path / "memo.wav"
        fake.write_bytes(b"RIFF not really a wave file" * 40)
        page.set_input_files("#file", str(fake))
        page.click("#start")
        page.locator("#alert-text", has_text="the upload was refused").wait_for()
        assert "memo.wav is not an audio file" in page.locator("#alert-text").inner_text()
        assert "#/runs/" not in page.url

        # an unknown run
        page.goto(f"{server}/app/index.html#/runs/20990101-000000-abcdef")
        page.locator("#alert-text", has_text="no run").wait_for()
    finally:
        context.close()
    # the refused requests log "Failed to load resource" (Chromium does, for any 4xx): nothing else
    assert all("Failed to load resource" in p for p in problems.seen), problems.seen


def test_drag_to_reorder_and_a_stale_edit_is_reloaded_and_said_so(chromium, server):
    # tall enough for scenes 1-3 on one screen: the drag needs no scrolling
    context, page, problems = open_app(chromium, server, 1280, 3000)
    try:
        page.set_input_files("#file", str(BRIEF))
        page.click("#start")
        run_id = wait_finished(page)
        # drag scene 3 by its handle onto scene 1: it moves to position 1 (an open disclosure stays open)
        page.click("details#context > summary")
        titles = scene_titles(page)
        page.locator("#scene-3 .handle").drag_to(page.locator("#scene-1 .scene-head"))
        page.wait_for_function(
            "(t) => document.querySelector('#scene-list li.scene h3').textContent !== t", arg=titles[0]
        )
        assert [t.split(". ", 1)[1] for t in scene_titles(page)[:3]] == [
            t.split(". ", 1)[1] for t in (titles[2], titles[0], titles[1])
        ]
        assert page.locator("details#context").get_attribute("open") is not None
        revision = page.request.get(f"{server}/runs/{run_id}/storyboard").json()["revision"]
        # someone else renames scene 1 behind the page's back
        answer = page.request.patch(
            f"{server}/runs/{run_id}/scenes/1",
            data=json.dumps({"revision": revision, "title": "Renamed elsewhere"}),
            headers={"Content-Type": "application/json"},
        )
        assert answer.ok, answer.text()
        page.locator("#scene-1 details.edit-scene > summary").click()
        page.locator("#scene-1 .scene-form textarea").first.fill("my own description")
        page.locator("#scene-1 [data-key=save-1]").click()
        page.locator("#alert-text", has_text="Someone else changed this storyboard").wait_for()
        assert "reloaded" in page.locator("#alert-text").inner_text()
        page.wait_for_function(
            "() => document.querySelector('#scene-1 h3').textContent.startsWith('1. Renamed elsewhere')"
        )
        assert "my own description" not in page.locator("#scene-1 .description").inner_text()
    finally:
        context.close()
    assert all("409" in p and "Failed to load resource" in p for p in problems.seen), problems.seen
