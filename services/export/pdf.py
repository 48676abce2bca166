"""storyboard.pdf: the title, the virality summary, then every scene: both keyframes side by side, its text,
length, camera and transition. Landscape A4 (or US letter), laid out by reportlab's platypus, which wraps every
paragraph and breaks pages between flowables, so no text is clipped. Body text is 9.5 pt, nothing under 9."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

Paper = Literal["a4", "letter"]
PAPERS = {"a4": landscape(A4), "letter": landscape(letter)}
MARGIN = 12 * mm
BODY_PT = 9.5
SMALL_PT = 9.0  # the smallest text on the page
PANEL_H = 52 * mm  # a keyframe's height at most (two scenes fit a landscape page)
_FONTS = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
)


@dataclass(frozen=True)
class Panel:
    """One keyframe on the page: its image file, or why there is none."""

    image: Path | None
    note: str = ""  # "placeholder sketch", "pending: not rendered yet", ...


@dataclass(frozen=True)
class Page:
    """One scene as the PDF shows it."""

    index: int
    title: str
    description: str
    narration: str
    seconds: float
    frames: int
    camera: str
    transition: str
    start: Panel
    end: Panel


@dataclass
class Document:
    title: str
    subtitle: str
    scenes: list[Page]
    score: float | None = None
    confidence: float | None = None
    components: list[tuple[str, float, float, str]] = field(default_factory=list)  # name, score, weight, why
    not_evaluated: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def fonts() -> tuple[str, str]:
    """DejaVu Sans (regular, bold) where the system has it (full Unicode), else Helvetica (Latin-1 only)."""
    for regular, bold in _FONTS:
        if Path(regular).is_file() and Path(bold).is_file():
            if "StoryreelSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("StoryreelSans", regular))
                pdfmetrics.registerFont(TTFont("StoryreelSans-Bold", bold))
            return "StoryreelSans", "StoryreelSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", fontName=regular, fontSize=10, leading=13, spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=bold, fontSize=12, leading=15, spaceBefore=6, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=regular, fontSize=BODY_PT, leading=BODY_PT * 1.3),
        "small": ParagraphStyle("small", fontName=regular, fontSize=SMALL_PT, leading=SMALL_PT * 1.3),
        "label": ParagraphStyle(
            "label",
            fontName=bold,
            fontSize=SMALL_PT,
            leading=SMALL_PT * 1.3,
            textColor=colors.HexColor("#444"),
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _panel(panel: Panel, width: float, styles: dict[str, ParagraphStyle]) -> Flowable:
    if panel.image is None:
        box = Table(
            [[_p(panel.note or "not rendered", styles["small"])]], colWidths=[width], rowHeights=[PANEL_H]
        )
        box.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.8, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f0f0f0")),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        return box
    with PILImage.open(panel.image) as im:
        w, h = im.size
    scale = min(width / w, PANEL_H / h)
    return Image(str(panel.image), width=w * scale, height=h * scale)


def _label(role: str, panel: Panel) -> str:
    """The line under a keyframe (the note of a missing one is in its box already)."""
    return f"{role} {panel.note}".strip() if panel.image is not None else role


def render(doc: Document, dest: Path, paper: Paper = "a4") -> Path:
    """Write the PDF to `dest`."""
    size = PAPERS[paper]
    styles = _styles()
    frame_w = size[0] - 2 * MARGIN
    story: list[Flowable] = [_p(doc.title, styles["title"]), _p(doc.subtitle, styles["subtitle"])]
    story.append(_p("Virality", styles["h2"]))
    if doc.score is None:
        story.append(_p("Not scored.", styles["body"]))
    else:
        conf = f" (confidence {doc.confidence:.2f})" if doc.confidence is not None else ""
        story.append(_p(f"Score {doc.score:.1f} / 100{conf}", styles["body"]))
    if doc.components:
        rows = [[_p(h, styles["label"]) for h in ("component", "score", "weight", "why")]]
        rows += [
            [
                _p(name, styles["small"]),
                _p(f"{score:.0f}", styles["small"]),
                _p(f"{weight:.2f}", styles["small"]),
                _p(why, styles["small"]),
            ]
            for name, score, weight, why in doc.components
        ]
        table = Table(rows, colWidths=[40 * mm, 18 * mm, 18 * mm, frame_w - 76 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f6f6")]),
                ]
            )
        )
        story.append(table)
    for name, reason in doc.not_evaluated:
        story.append(_p(f"Not evaluated: {name}: {reason}", styles["small"]))
    for note in doc.notes:
        story.append(_p(note, styles["small"]))
    story.append(Spacer(1, 4 * mm))
    col = (frame_w - 6 * mm) / 2
    for scene in doc.scenes:
        head = _p(f"Scene {scene.index}: {scene.title}", styles["h2"])
        panels = Table(
            [
                [_panel(scene.start, col, styles), _panel(scene.end, col, styles)],
                [
                    _p(_label("start", scene.start), styles["label"]),
                    _p(_label("end", scene.end), styles["label"]),
                ],
            ],
            colWidths=[col + 3 * mm, col + 3 * mm],
        )
        panels.setStyle(
            TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
        )
        facts = (
            f"Duration {scene.seconds:g} s ({scene.frames} frames)   ·   Camera: {scene.camera or '-'}   ·   "
            f"Transition: {scene.transition or '-'}"
        )
        block: list[Flowable] = [head, panels, _p(facts, styles["label"])]
        story.append(KeepTogether(block))
        story.append(_p(scene.description, styles["body"]))
        if scene.narration:
            story.append(_p(f"Narration: {scene.narration}", styles["small"]))
        story.append(Spacer(1, 5 * mm))
    pdf = SimpleDocTemplate(
        str(dest),
        pagesize=size,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=doc.title,
        author="storyreel",
    )
    pdf.build(story)
    return dest
