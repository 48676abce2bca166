"""index.html: every section present, user content escaped, unrendered frames drawn as labelled boxes."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from planner_helpers import HOSTILE, build_run
from storyreel.services.finalize.page import render_html
from storyreel.shared.contracts import Storyboard, Transcript


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(page: str) -> list[tuple[str, dict]]:
    p = Collect()
    p.feed(page)
    return p.tags


@pytest.fixture
def run_dir(tmp_path, rambling):
    hostile = Transcript(text=rambling.text + f" Call it {HOSTILE}.", duration_s=45)
    return build_run(tmp_path, hostile, limit_images=6, fail="s2-end")


def test_page_shows_every_section(run_dir):
    page = (run_dir / "index.html").read_text()
    board = Storyboard.model_validate_json((run_dir / "storyboard.json").read_text())
    for anchor in ("context", "optimizer", "scenes", "virality", "timings", "transcript"):
        assert f'id="{anchor}"' in page
    for s in board.scenes:
        assert f'id="scene-{s.index}"' in page
        assert f"transition: {s.transition}" in page and f"{s.duration:g} s" in page
    assert page.index('id="scene-1"') < page.index('id="scene-2"') < page.index('id="scene-5"')
    assert "62<span" in page and "hook strength" in page and "hook_words = 9" in page
    assert "forum evidence</strong>: virality_evaluation is off" in page
    assert "exploration probability" in page and "35%" in page and "0.600" in page
    assert "10 keywords" in page  # stage timings detail
    assert "sketch placeholder, not generated art" in page


def test_frames_rendered_pending_failed(run_dir):
    tags = parse((run_dir / "index.html").read_text())
    imgs = [a["src"] for t, a in tags if t == "img"]
    # limit_images=6: s1..s3 start + s1 end + s2 end (failed) + s3 end -> the failed one has no image
    assert imgs == [
        "frames/s1-start.png",
        "frames/s1-end.png",
        "frames/s2-start.png",
        "frames/s3-start.png",
        "frames/s3-end.png",
    ]
    assert all((run_dir / src).is_file() for src in imgs)
    slots = {a["data-status"] for t, a in tags if t == "div" and "data-status" in a}
    assert slots == {"pending", "failed"}
    page = (run_dir / "index.html").read_text()
    assert page.count('data-status="pending"') == 4 and "Pending — not rendered yet" in page
    assert "renderer said no &lt;b&gt;" in page


def test_user_content_is_escaped(run_dir):
    page = (run_dir / "index.html").read_text()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    hrefs = [a.get("href", "") for t, a in parse(page) if t == "a"]
    assert "https://news.ycombinator.com/item?id=1" in hrefs
    assert not any(h.lower().startswith("javascript:") for h in hrefs)


def test_page_is_self_contained(run_dir):
    page = (run_dir / "index.html").read_text()
    for t, a in parse(page):
        for attr in ("src", "href"):
            value = a.get(attr) or ""
            assert not re.match(r"^(?:https?:)?//", value) or (t == "a" and attr == "href"), (t, value)
        assert t not in ("script", "iframe", "object")
    assert "Content-Security-Policy" in page


def test_image_keys_outside_the_run_are_not_linked(run_dir):
    board = Storyboard.model_validate_json((run_dir / "storyboard.json").read_text())
    board.scenes[0].start_frame.image_key = "../../etc/passwd.png"
    board.scenes[0].end_frame.image_key = "javascript:alert(1)//.png"
    srcs = [a["src"] for t, a in parse(render_html(board)) if t == "img"]
    assert "../../etc/passwd.png" not in srcs and not any("javascript" in s for s in srcs)


def test_storyboard_without_virality_or_decision(run_dir):
    board = Storyboard.model_validate_json((run_dir / "storyboard.json").read_text())
    board.virality = None
    board.decision = None
    board.timings = {}
    page = render_html(board)
    assert "Not evaluated for this run" in page and "No optimizer decision" in page
    assert "No stage timings recorded" in page
    assert "Variant used: hook_style = <strong>question</strong>" in page  # the plan's variant still shows
    assert board.hook and f'<strong class="hook">{board.hook}</strong>' in page
