"""storyboard.pdf read with poppler (pdfinfo, pdftotext): landscape A4 or letter, every scene's text, the title
and the score, no text under 9 pt, long text wrapped onto further pages rather than clipped."""

from __future__ import annotations

import re
import subprocess

import pytest
from storyreel.services.export.step import ExportOptions, export
from storyreel.shared.stores import LocalBlobStore

from testkit.fakes import make_context
from tests.export.conftest import Finished, pdfinfo, pdftext, tool


def _ctx(run: Finished):
    return make_context(run.folder.parent.parent, blobs=LocalBlobStore(run.folder.parent))


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("paper", "size"), [("a4", "841.89 x 595.276"), ("letter", "792 x 612")])
def test_landscape_pages_with_every_scene(finished: Finished, paper: str, size: str) -> None:
    export(_ctx(finished), ExportOptions(formats=["pdf"], paper=paper))  # type: ignore[arg-type]
    pdf = finished.exports / "storyboard.pdf"
    info = pdfinfo(pdf)
    assert info["Page size"].startswith(f"{size} pts")
    assert int(info["Pages"]) >= 3  # the summary and five scenes, two to a page at most
    text = _words(pdftext(pdf))
    board = finished.board()
    assert _words(board.title) in text
    assert board.virality is not None and f"Score {board.virality.score:.1f} / 100" in text
    for scene in board.scenes:
        assert f"Scene {scene.index}: {_words(scene.title)}" in text
        assert _words(scene.description) in text
        assert f"Duration {scene.duration:g} s" in text
        assert _words(scene.camera) in text and _words(scene.transition) in text


def test_no_text_under_9_pt(finished: Finished, tmp_path) -> None:
    export(_ctx(finished), ExportOptions(formats=["pdf"]))
    html = tmp_path / "bbox.html"
    subprocess.run(
        [tool("pdftotext"), "-bbox", str(finished.exports / "storyboard.pdf"), str(html)], check=True
    )
    heights = [
        float(m.group(2)) - float(m.group(1))
        for m in re.finditer(
            r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html.read_text()
        )
    ]
    assert heights
    assert round(min(heights), 3) >= 9.0  # a word's box is its font size (ascent + descent) or more


def test_long_text_is_wrapped_not_clipped(finished: Finished) -> None:
    board = finished.board()
    tail = "the-very-last-words-of-scene-two"
    board.scenes[1].description = " ".join(["a long description that keeps going"] * 150) + " " + tail
    finished.save(board)
    export(_ctx(finished), ExportOptions(formats=["pdf"]))
    pdf = finished.exports / "storyboard.pdf"
    text = pdftext(pdf)
    assert tail in text
    assert _words(board.scenes[4].description) in _words(text)
    assert int(pdfinfo(pdf)["Pages"]) >= 4


def test_a_prompts_only_run_prints_placeholders(prompts_only: Finished) -> None:
    result = export(_ctx(prompts_only), ExportOptions(formats=["pdf"]))
    assert result.written == ["storyboard.pdf"]
    text = _words(pdftext(prompts_only.exports / "storyboard.pdf"))
    assert text.count("pending: not rendered yet") == 10
