"""The web app end to end: record a brief (fake microphone), watch it finish, edit a prompt and see the new
frame, reorder by keyboard, switch a version back, lock, send feedback, read the policy; the same at 390 px
with a picked file and no sideways scroll; the API's error lines shown as they are. Every page is watched for
console errors and page errors."""

from __future__ import annotations

import json
import subprocess
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
        # neither audio nor a typed brief by its name: refused before anything is sent
        notes = tmp_path / "notes.docx"
        notes.write_text("a brief, typed")
        page.set_input_files("#file", str(notes))
        assert "notes.docx is not a kind of brief storyreel takes" in page.locator("#alert-text").inner_text()
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


def gpu_rerender_is_followed(page, server: str, run_id: str) -> None:
    """A re-render on diffusers/batch in the cloud answers 202 and a GPU job renders it (docs/api.md); storyreel
    serve renders in-process (200), so the 202 and the storyboard's `renders` are the documented shapes, given
    through Playwright's request routing: the page says it is rendering, polls, and shows the failure's line."""
    phase = {"now": "rendering"}
    job = {"frame_id": "s1-start", "frames": ["s1-start"], "provider": "diffusers", "job_id": "job-1"}

    def queued(route) -> None:
        revision = json.loads(route.request.post_data)["revision"]
        route.fulfill(
            status=202,
            json={
                "run_id": run_id,
                "frame_id": "s1-start",
                "frames": ["s1-start"],
                "status": "rendering",
                "revision": revision,
                "job_id": "job-1",
                "poll": {"storyboard": f"/runs/{run_id}/storyboard", "progress": f"/runs/{run_id}/progress"},
            },
        )

    def with_renders(route) -> None:
        answer = route.fetch()
        body = answer.json()
        if phase["now"] == "rendering":
            body["renders"] = {"s1-start": {**job, "status": "rendering"}}
        else:
            body["renders"] = {"s1-start": {**job, "status": "failed", "error": "CUDA out of memory (test)"}}
        route.fulfill(response=answer, json=body)

    page.route(f"{server}/runs/{run_id}/frames/s1-start/regenerate", queued)
    page.route(f"{server}/runs/{run_id}/storyboard", with_renders)
    page.route(f"{server}/runs/{run_id}/progress", with_renders)
    page.locator("[data-key=frame-s1-start]").click()
    page.fill("#editor-prompt", "a lighthouse at dusk, rendered on the GPU")
    page.click("#editor-render")
    page.locator("#editor-status", has_text="Rendering on the GPU").wait_for()
    wait_live(page, "rendering on the GPU")
    assert page.locator("#editor-render").is_disabled()
    assert page.locator("figure[data-frame=s1-start]").get_attribute("data-render") == "rendering"
    phase["now"] = "failed"  # the job fails: the next poll's renders say why
    page.locator("#editor-status", has_text="CUDA out of memory (test)").wait_for(timeout=RENDER_MS)
    assert page.locator("#editor-render").is_enabled()
    assert "CUDA out of memory (test)" in page.locator("figure[data-frame=s1-start] figcaption").inner_text()
    page.keyboard.press("Escape")


def test_drag_to_reorder_and_a_stale_edit_is_reloaded_and_said_so(chromium, server):
    # tall enough for scenes 1-3 on one screen (with their edit and insert disclosures): no scrolling in the drag
    context, page, problems = open_app(chromium, server, 1280, 4000)
    try:
        page.set_input_files("#file", str(BRIEF))
        page.click("#start")
        run_id = wait_finished(page)
        # drag scene 3 by its handle onto scene 1: it moves to position 1 (an open disclosure stays open)
        page.click("details#context > summary")
        titles = scene_titles(page)
        for i in range(1, 4):  # a keyframe that loads during the drag moves the drop target under the mouse
            for role in ("start", "end"):
                wait_image_loaded(page, f"#scene-list figure[data-frame=s{i}-{role}] img")
        page.evaluate("window.scrollTo(0, 0)")  # opening the context scrolled down to it
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
        page.click("#alert-close")
        gpu_rerender_is_followed(page, server, run_id)
    finally:
        page.unroute_all(behavior="ignoreErrors")  # the polls in flight when the context closes
        context.close()
    assert all("409" in p and "Failed to load resource" in p for p in problems.seen), problems.seen


# --------------------------------------------------------------------------- insert, delete, export, clips
def start_from_file(page) -> str:
    page.set_input_files("#file", str(BRIEF))
    page.locator("#ready").wait_for()
    page.click("#start")
    return wait_finished(page)


def scene_count(page) -> int:
    return page.locator("#scene-list li.scene").count()


def wait_scene_count(page, n: int) -> None:
    page.wait_for_function(
        "(n) => document.querySelectorAll('#scene-list li.scene').length === n && "
        "document.getElementById('board').getAttribute('aria-busy') !== 'true'",
        arg=n,
        timeout=RENDER_MS,
    )


def wait_live(page, pattern: str) -> None:
    page.wait_for_function(
        "(p) => new RegExp(p).test(document.getElementById('live').textContent)",
        arg=pattern,
        timeout=RENDER_MS,
    )


def api_scenes(page, server: str, run_id: str) -> list[dict]:
    return page.request.get(f"{server}/runs/{run_id}/storyboard").json()["storyboard"]["scenes"]


def insert_after(page, n: int, description: str) -> None:
    page.locator(f"details[data-key=insert-{n}] > summary").click()
    page.locator(f"details[data-key=insert-{n}] textarea[data-field=description]").fill(description)
    page.click(f"[data-key=insert-save-{n}]")


def delete_scene(page, n: int) -> None:
    page.click(f"[data-key=delete-{n}]")
    page.locator("dialog#confirm-delete").wait_for(state="visible")
    page.click("#confirm-yes")


def make_clip(path: Path) -> None:
    """A 2 s H.264 MP4 (what the clip providers deliver), made with ffmpeg's test source."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=288x512:rate=24",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
        timeout=60,
    )


def give_clips(page, server: str, run_id: str) -> None:
    """Scene 1 gets a made clip (an MP4 in the run's folder), scene 2 a failed one, in storyboard.json as the
    clips stage writes them (shared/contracts.py Clip)."""
    from storyreel.shared.contracts import Clip, ClipStatus, Storyboard

    folder = Path(page.request.get(f"{server}/runs/{run_id}").json()["run"]["output_dir"])
    make_clip(folder / "clips" / "s1.mp4")
    path = folder / "storyboard.json"
    board = Storyboard.model_validate_json(path.read_text())
    board.scenes[0].clip = Clip(
        status=ClipStatus.done, video_key="clips/s1.mp4", provider="replicate", model="test/clip", seconds=2
    )
    board.scenes[1].clip = Clip(status=ClipStatus.failed, reason="the model refused the prompt (test)")
    path.write_text(board.model_dump_json(indent=2))


def test_insert_delete_export_and_clips_desktop(chromium, server, shots, tmp_path):
    context, page, problems = open_app(chromium, server, 1280, 900)
    try:
        run_id = start_from_file(page)
        titles = scene_titles(page)
        count = len(titles)

        # insert after scene 1: the new scene is 2, announced and focused; the API agrees
        insert_after(page, 1, "a close-up of a hand pouring oat milk into the cup")
        wait_scene_count(page, count + 1)
        wait_live(page, f"Scene inserted at position 2 of {count + 1}")
        assert "pouring oat milk" in page.locator("#scene-2 .description").inner_text()
        assert page.evaluate("document.activeElement.dataset.key") == "scene-2"
        assert "pending" in page.locator("#scene-2 figure[data-frame=s2-start]").inner_text()
        scenes = api_scenes(page, server, run_id)
        assert len(scenes) == count + 1 and "pouring oat milk" in scenes[1]["description"]
        assert page.locator("details[data-key=insert-1]").get_attribute("open") is None

        # delete asks first; "Keep it" keeps it and gives the focus back
        page.click("[data-key=delete-2]")
        page.locator("dialog#confirm-delete").wait_for(state="visible")
        assert page.evaluate("document.activeElement.id") == "confirm-keep"
        assert (
            page.locator("#scene-2 h3").inner_text().split(". ", 1)[1]
            in page.locator("#confirm-text").inner_text()
        )
        page.click("#confirm-keep")
        page.locator("dialog#confirm-delete").wait_for(state="hidden")
        assert scene_count(page) == count + 1
        assert page.evaluate("document.activeElement.dataset.key") == "delete-2"

        # delete scene 2 for real: the board is the original again, in order
        delete_scene(page, 2)
        wait_scene_count(page, count)
        wait_live(page, f"deleted; {count} scenes left")
        assert [t.split(". ", 1)[1] for t in scene_titles(page)] == [t.split(". ", 1)[1] for t in titles]
        assert [s["title"] for s in api_scenes(page, server, run_id)] == [
            t.split(". ", 1)[1].removesuffix("locked") for t in titles
        ]

        # an insert against a stale revision: the 409's line, the board reloaded, the typed text kept
        revision = page.request.get(f"{server}/runs/{run_id}/storyboard").json()["revision"]
        answer = page.request.patch(
            f"{server}/runs/{run_id}/scenes/3",
            data=json.dumps({"revision": revision, "title": "Renamed elsewhere"}),
            headers={"Content-Type": "application/json"},
        )
        assert answer.ok, answer.text()
        insert_after(page, 2, "a slow pan over the café's chalkboard menu")
        page.locator("#alert-text", has_text="Someone else changed this storyboard").wait_for()
        assert "still in its form" in page.locator("#alert-text").inner_text()
        page.wait_for_function(
            "() => document.querySelector('#scene-3 h3').textContent.startsWith('3. Renamed elsewhere')"
        )
        assert scene_count(page) == count
        kept = page.locator("details[data-key=insert-2] textarea[data-field=description]")
        assert kept.input_value() == "a slow pan over the café's chalkboard menu"
        page.click("[data-key=insert-save-2]")  # again, at the current revision: it lands
        wait_scene_count(page, count + 1)
        assert "chalkboard menu" in page.locator("#scene-3 .description").inner_text()

        # export the PDF and the timelines; every link answers 200 with its type
        page.click("[data-key=export]")
        page.locator("#export-status", has_text="Exported").wait_for(timeout=60_000)
        links = {
            li.get_attribute("data-file"): li.locator("a").get_attribute("href")
            for li in page.locator("#export-results li[data-file]").all()
        }
        assert {"storyboard.pdf", "timeline.otio", "timeline.otioz", "timeline.xml", "timeline.edl"} <= set(
            links
        )
        pdf = page.request.get(links["storyboard.pdf"])
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF-")
        otio = page.request.get(links["timeline.otio"])
        assert otio.status == 200
        assert json.loads(otio.body())["OTIO_SCHEMA"].startswith("Timeline.")
        assert page.request.get(links["timeline.edl"]).status == 200
        shoot(page.locator("#exports"), shots / "web-exports-desktop.png")

        # the MP4 animatic: made in the background (202), the page polls until its link is there
        page.check("#export-mp4")
        for fmt in ("pdf", "otio", "otioz", "fcpxml", "edl"):
            page.uncheck(f"#export-{fmt}")
        page.click("details#export-options > summary")
        page.select_option("#export-size", "360p")
        page.click("[data-key=export]")
        page.locator("#export-status", has_text="Exported").wait_for(timeout=240_000)
        href = page.locator("#export-results li[data-file='animatic.mp4'] a").get_attribute("href")
        video = page.request.get(href)
        assert video.status == 200 and video.headers["content-type"] == "video/mp4"
        mp4 = tmp_path / "animatic.mp4"
        mp4.write_bytes(video.body())
        probe = json.loads(
            subprocess.run(
                ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(mp4)],
                capture_output=True,
                check=True,
                timeout=60,
                text=True,
            ).stdout
        )
        (stream,) = [st for st in probe["streams"] if st["codec_type"] == "video"]
        assert stream["codec_name"] == "h264" and min(stream["width"], stream["height"]) == 360

        # clips: a made one plays (muted, inline, the start keyframe as its poster); a failed one says why
        give_clips(page, server, run_id)
        page.reload()
        video = page.locator("figure[data-clip='1'] video")
        video.wait_for()
        view = page.request.get(f"{server}/runs/{run_id}/storyboard").json()
        assert video.get_attribute("src") == view["clips"]["1"]  # the API's link (StoryboardView.clips)
        assert video.get_attribute("poster") == view["images"]["s1-start"]["url"]
        assert "the model refused the prompt (test)" in page.locator("figure[data-clip='2']").inner_text()
        assert page.evaluate(
            "() => { const v = document.querySelector('figure[data-clip=\"1\"] video');"
            " return [v.muted, v.controls, v.playsInline]; }"
        ) == [True, True, True]
        page.evaluate("() => document.querySelector('figure[data-clip=\"1\"] video').play()")
        page.wait_for_function(
            "() => { const v = document.querySelector('figure[data-clip=\"1\"] video');"
            " return v.currentTime > 0.3 && v.videoWidth === 288 && !v.error; }",
            timeout=RENDER_MS,
        )
        assert page.locator("figure[data-clip='2'] video").count() == 0
        shoot(page.locator("#scene-1"), shots / "web-clip-desktop.png")
    finally:
        context.close()
    # the stale insert's 409 logs "Failed to load resource": nothing else
    assert all("409" in p and "Failed to load resource" in p for p in problems.seen), problems.seen


TYPED_BRIEF = """Brief for a 30 second TikTok about our neighbourhood café, Sunday Morning.
Open on the espresso machine hissing at dawn, steam in the window light.
Then a barista pours latte art, a slow close-up of the milk folding into a leaf.
Cut to regulars at the long oak table laughing over pastries.
End on the chalkboard sign: open every day from seven.
Warm, cosy, golden light; the audience is young professionals nearby.
"""


def drop_file(page, name: str, text: str, mime: str) -> None:
    """Drop a file on the drop zone as a person's drag from the desktop does (a drop event with its files)."""
    transfer = page.evaluate_handle(
        "([name, text, mime]) => { const t = new DataTransfer();"
        " t.items.add(new File([text], name, { type: mime })); return t; }",
        [name, text, mime],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def test_typed_brief_insert_delete_export_and_a_clip_at_phone_width(chromium, server, shots):
    width = 390
    context, page, problems = open_app(chromium, server, width, 844)
    try:
        # a typed brief dropped on the drop zone: read, not recognised, and it makes a storyboard
        drop_file(page, "cafe brief.txt", TYPED_BRIEF, "text/plain")
        page.locator("#ready", has_text="cafe brief.txt").wait_for()
        assert page.locator("#ready audio").count() == 0
        page.click("#start")
        run_id = wait_finished(page)
        transcript = page.request.get(f"{server}/runs/{run_id}/storyboard").json()["storyboard"]["transcript"]
        assert "espresso machine" in transcript["text"] and transcript["provider"] == "typed"
        titles = scene_titles(page)
        count = len(titles)
        page.locator("details[data-key=insert-2] > summary").click()
        no_sideways_scroll(page, width)
        page.locator("details[data-key=insert-2] textarea[data-field=description]").fill(
            "a dog asleep by the door"
        )
        page.locator("details[data-key=insert-2] textarea[data-field=start_prompt]").fill(
            "a golden retriever asleep by a café door, morning light"
        )
        page.focus("[data-key=insert-save-2]")
        page.keyboard.press("Enter")
        wait_scene_count(page, count + 1)
        start = api_scenes(page, server, run_id)[2]["start_frame"]["prompt"]
        assert start == "a golden retriever asleep by a café door, morning light"
        no_sideways_scroll(page, width)

        # delete the first scene by keyboard: the rest move up, in order
        page.focus("[data-key=delete-1]")
        page.keyboard.press("Enter")
        page.locator("dialog#confirm-delete").wait_for(state="visible")
        no_sideways_scroll(page, width)
        page.focus("#confirm-yes")
        page.keyboard.press("Enter")
        wait_scene_count(page, count)
        # it was t1, t2, the new one, t3, ...: now t2, the new one, t3, ...
        got = [t.split(". ", 1)[1] for t in scene_titles(page)]
        assert got[0] == titles[1].split(". ", 1)[1]
        assert got[2:] == [t.split(". ", 1)[1] for t in titles[2:]]
        assert page.evaluate("document.activeElement.dataset.key") == "scene-1"

        page.click("details#export-options > summary")
        page.select_option("#export-paper", "letter")
        no_sideways_scroll(page, width)
        for fmt in ("otioz", "fcpxml", "edl", "otio"):
            page.uncheck(f"#export-{fmt}")
        page.click("[data-key=export]")
        page.locator("#export-status", has_text="Exported 1 file").wait_for(timeout=60_000)
        href = page.locator("#export-results li[data-file='storyboard.pdf'] a").get_attribute("href")
        pdf = page.request.get(href)
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        no_sideways_scroll(page, width)

        give_clips(page, server, run_id)
        page.reload()
        page.locator("figure[data-clip='1'] video").wait_for()
        page.evaluate("() => document.querySelector('figure[data-clip=\"1\"] video').play()")
        page.wait_for_function(
            "() => document.querySelector('figure[data-clip=\"1\"] video').currentTime > 0.3",
            timeout=RENDER_MS,
        )
        box = page.locator("figure[data-clip='1'] video").bounding_box()
        assert box["width"] >= 0.85 * width
        no_sideways_scroll(page, width)
        shoot(page.locator("#scene-1"), shots / "web-clip-phone.png")
    finally:
        context.close()
    assert problems.seen == []


def test_a_reference_image_of_my_own_goes_up_before_the_brief(chromium, server, tmp_path):
    """'Same subject in every shot: an image of my own': the app names the image in POST /runs, PUTs it to the
    reference_upload first, then the brief; a missing or wrong file is said before anything is sent."""
    from PIL import Image

    brief = tmp_path / "tea.txt"
    brief.write_text("A calm thirty second video about making green tea at home, for Instagram.")
    photo = tmp_path / "mug.jpg"
    Image.new("RGB", (64, 48), "#2a6f4e").save(photo, format="JPEG")
    context, page, problems = open_app(chromium, server, 1280, 900)
    try:
        page.set_input_files("#file", str(brief))
        page.locator("details.options summary").click()
        page.select_option("#opt-preset", "preview")
        assert page.locator("#opt-reference").is_hidden()
        page.select_option("#opt-subject", "given")
        assert page.locator("#opt-reference").is_visible()
        page.click("#start")
        assert "pick the reference image" in page.locator("#alert-text").inner_text()
        page.set_input_files("#opt-reference", str(brief))  # not an image
        page.click("#start")
        assert "must be a PNG, JPEG or WebP image" in page.locator("#alert-text").inner_text()
        assert "#/runs/" not in page.url

        page.set_input_files("#opt-reference", str(photo))
        page.click("#start")
        page.wait_for_url("**#/runs/*", timeout=30_000)
        run_id = page.url.rsplit("/", 1)[1]
        record = page.request.get(f"{server}/runs/{run_id}").json()["run"]
        assert record["options"]["image_generation"]["subject_reference"] == "given"
        stored = page.request.get(f"{server}/files/{run_id}/reference/subject.png")
        assert stored.status == 200 and stored.body()[:8] == b"\x89PNG\r\n\x1a\n"
        page.wait_for_function(
            "() => document.querySelector('#run-meta .badge')?.textContent === 'succeeded'",
            timeout=RUN_DONE_MS,
        )
    finally:
        context.close()
    assert problems.seen == []
