"""index.html: every section present, user content escaped, unrendered frames drawn as labelled boxes.

What the local planner wrote (titles, prompts, transitions, the hook) is read back from storyboard.json and
looked for, escaped, on the page; only what build_run itself fixes (the brief, the virality report, the
optimizer decision, the stage timings) is spelled out here.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

import pytest
from storyreel.services.finalize.page import render_html
from storyreel.shared.contracts import Storyboard, Transcript

from testkit.briefs import HOSTILE, build_run


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


def scene_sections(page: str) -> list[tuple[int, str]]:
    """Each scene's <section> as (index, its HTML), in page order."""
    found = re.findall(r'<section class="scene" id="scene-(\d+)">(.*?)</section>', page, flags=re.S)
    return [(int(index), body) for index, body in found]


def board_of(run_dir) -> Storyboard:
    return Storyboard.model_validate_json((run_dir / "storyboard.json").read_text())


@pytest.fixture
def run_dir(tmp_path, rambling):
    hostile = Transcript(text=rambling.text + f" Call it {HOSTILE}.", duration_s=45)
    return build_run(tmp_path, hostile, limit_images=6, fail="s2-end")


def test_page_shows_every_section(run_dir):
    page = (run_dir / "index.html").read_text()
    board = board_of(run_dir)
    for anchor in ("context", "optimizer", "scenes", "virality", "timings", "transcript"):
        assert f'id="{anchor}"' in page
    assert f"<h1>{escape(board.title)}</h1>" in page
    assert f"<title>{escape(board.title)} · storyreel</title>" in page
    # the storyboard first: the scenes (both keyframes each) before everything else, the details below it
    order = [page.index(f'id="{a}"') for a in ("scenes", "virality", "context", "optimizer", "timings")]
    assert order == sorted(order) and page.index('id="scene-1"') < page.index('id="virality"')
    assert page.index('id="scenes"') < page.index('class="hook"') < page.index('id="scene-')
    assert page.index("<h1>") < page.index('id="scenes"') < page.index("<table")  # no table above the scenes
    ctx = board.context
    for label, value in (
        ("Subject", ctx.subject),
        ("Vibe", ctx.vibe),
        ("Target audience", ctx.target_audience),
    ):
        assert f"<th>{label}</th><td>{escape(value)}</td>" in page
    assert ctx.keywords and f"<th>Keywords</th><td>{', '.join(escape(k) for k in ctx.keywords)}</td>" in page
    assert ctx.platform and f"<th>Platform</th><td>{escape(ctx.platform)}</td>" in page
    assert f'<strong class="hook">{escape(board.hook)}</strong>' in page

    sections = scene_sections(page)
    assert len(board.scenes) == 5  # build_run asks for five
    assert [index for index, _ in sections] == sorted(s.index for s in board.scenes)  # in order, each once
    by_index = {s.index: s for s in board.scenes}
    for index, body in sections:
        s = by_index[index]
        assert f"<h3>{s.index}. {escape(s.title)}</h3>" in body
        assert f"<strong>{s.duration:g} s</strong>" in body
        assert f"camera: {escape(s.camera)}" in body and f"transition: {escape(s.transition)}" in body
        assert f"<p>{escape(s.description)}</p>" in body
        assert not s.narration or f"<blockquote>{escape(s.narration)}</blockquote>" in body
        start, end = body.index(f'data-frame="s{index}-start"'), body.index(f'data-frame="s{index}-end"')
        assert start < end
        assert f'<div class="prompt">{escape(s.start_frame.prompt)}</div>' in body[start:end]
        assert f'<div class="prompt">{escape(s.end_frame.prompt)}</div>' in body[end:]
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
    board = board_of(run_dir)
    assert "<script" not in page.lower()
    assert (
        HOSTILE in board.transcript.text
        and f'<div class="prompt">{escape(board.transcript.text)}</div>' in page
    )
    assert escape(f"opens on a question {HOSTILE}") in page  # a component's explanation
    assert escape(f"bad link {HOSTILE}") in page  # an evidence title whose link is dropped
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
    board = board_of(run_dir)
    board.scenes[0].start_frame.image_key = "../../etc/passwd.png"
    board.scenes[0].end_frame.image_key = "javascript:alert(1)//.png"
    srcs = [a["src"] for t, a in parse(render_html(board)) if t == "img"]
    assert "../../etc/passwd.png" not in srcs and not any("javascript" in s for s in srcs)


def test_storyboard_without_virality_or_decision(run_dir):
    board = board_of(run_dir)
    board.virality = None
    board.decision = None
    board.timings = {}
    page = render_html(board)
    assert "Not evaluated for this run" in page and "No optimizer decision" in page
    assert "No stage timings recorded" in page
    # the plan's variant (build_run's decision chose it) still shows, in the plan's order
    assert board.variant["hook_style"] == "question"
    shown = ", ".join(f"{escape(k)} = <strong>{escape(v)}</strong>" for k, v in board.variant.items())
    assert f"Variant used: {shown}</p>" in page
    assert board.hook and f'<strong class="hook">{escape(board.hook)}</strong>' in page


def test_context_posteriors_and_timings_sit_behind_closed_disclosures(run_dir):
    page = (run_dir / "index.html").read_text()
    tags = parse(page)
    closed = {a["id"] for t, a in tags if t == "details" and a.get("class") == "more"}
    assert {"context", "optimizer", "timings", "transcript"} <= closed  # (no usage: build_run has none)
    assert not any("open" in a for t, a in tags if t == "details")
    for anchor, title in (("context", "Creative context"), ("timings", "Stage timings")):
        assert (
            f'<details class="more" id="{anchor}"><summary><h2 id="{anchor}-title">{title}</h2></summary>'
            in page
        )
    # the posteriors table is inside the optimizer's disclosure, the choice itself is also said above the scenes
    optimizer = page[page.index('id="optimizer"') : page.index('id="timings"')]
    assert "posterior mean" in optimizer and "0.600" in optimizer
    summary = page[page.index('class="summary') : page.index('id="scenes"')]
    assert "hook_style = <strong>question</strong>" in summary and "<strong>62</strong>/100" in summary


def test_every_table_scrolls_in_its_own_labelled_region(run_dir):
    page = (run_dir / "index.html").read_text()
    tables = page.count("<table")
    regions = re.findall(r'<div class="scroll" role="region" aria-label="([^"]+)" tabindex="0"><table>', page)
    assert tables >= 4 and len(regions) == tables and all(regions)
