"""The virality report and the planner read a brief with one vocabulary: the same planned length, the same
statistic detector, the same format families; and the score (the optimizer's predicted reward) gives no
hand-set points to a creative arm."""

from __future__ import annotations

import itertools

import pytest
from storyreel.services.brief import textkit
from storyreel.services.brief import vocab as creative_vocab
from storyreel.services.brief.levers import LEVERS
from storyreel.services.brief.lexicon import STYLE_CUES, STYLE_FOR_INTENT
from storyreel.services.scenes import writer
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.services.virality import content
from storyreel.services.virality.content import content_components, format_family, hook, length_fit
from storyreel.services.virality.score import evaluate
from storyreel.shared.contracts import Transcript
from storyreel.shared.settings import ViralityConfig

NO_LENGTH = (
    "A TikTok about our new hot sauce. Open with a close up of the bottle. Then show the sauce dripping on "
    "tacos. Then friends tasting it and laughing. End with link in bio."
)
WITH_STAT = (
    "A thirty second TikTok about our new hot sauce. Nine out of ten chefs put it on everything. "
    "Show the sauce dripping on tacos. End with link in bio."
)
ALL_VARIANTS = [dict(zip(LEVERS, arms, strict=True)) for arms in itertools.product(*LEVERS.values())]


def _plan(text: str, variant: dict[str, str], n: int):
    planner = LocalPlanner()
    t = Transcript(text=text, duration_s=10)
    c = planner.extract_context(t)
    return t, c, planner.write_scenes(t, c, variant, n)


@pytest.mark.parametrize("pacing", ["fast", "balanced", "slow"])
@pytest.mark.parametrize("n", [3, 5, 10])
def test_length_fit_scores_the_length_the_storyboard_has(pacing: str, n: int) -> None:
    t, c, plan = _plan(NO_LENGTH, {"pacing": pacing}, n)
    assert c.target_duration_s is None
    written = round(sum(s.duration for s in plan.scenes), 1)
    fit = length_fit(t, c, {"pacing": pacing}, n_scenes=n)
    assert fit.numbers["planned_seconds"] == pytest.approx(written, abs=0.05)
    assert f"planned {written:g} s" in fit.explanation


@pytest.mark.parametrize(
    ("text", "stat"),
    [
        ("It should be about thirty seconds long. Show three bottles.", None),
        ("A 60 second reel with two friends and ten tacos.", None),
        ("Nine out of ten chefs put it on everything.", "Nine out of ten chefs put it on everything."),
        ("Sales grew 40 percent last year.", "Sales grew 40 percent last year."),
        ("Over two million bottles sold.", "Over two million bottles sold."),
    ],
)
def test_one_statistic_detector_for_the_hook_and_its_score(text: str, stat: str | None) -> None:
    brief = f"A reel about our hot sauce. {text}"
    t, c, plan = _plan(brief, {"hook_style": "statistic"}, 4)
    scored = hook(t, c, {"hook_style": "statistic"})
    if stat is None:
        assert "[add a sourced statistic; the brief gave none]" in plan.hook
        assert "placeholder" in scored.explanation and scored.numbers["hook_complete"] == 0
    else:
        assert plan.hook == stat
        assert "quotes the brief" in scored.explanation and scored.numbers["hook_complete"] == 1


def test_every_planner_style_has_a_format_family() -> None:
    styles = {s for _, s in STYLE_CUES} | set(STYLE_FOR_INTENT.values())
    for style in sorted(styles):
        for written in (style, f"short-form {style}"):
            assert creative_vocab.format_family(written, None) != "other", written
    expected = {
        "behind-the-scenes": "vlog",
        "short-form day-in-the-life": "vlog",
        "testimonial": "product",
        "short-form recipe": "tutorial",
        "product demo": "product",
    }
    for style, family in expected.items():
        assert creative_vocab.format_family(style, None) == family
    # "short-form video" names no format: the intent does
    for intent, family in [
        ("sell", "product"),
        ("educate", "tutorial"),
        ("document", "vlog"),
        (None, "other"),
    ]:
        assert creative_vocab.format_family("short-form video", intent) == family


def test_the_example_is_read_as_a_product_video(planner_context_of_example) -> None:
    assert format_family(planner_context_of_example) == "product"


@pytest.fixture
def planner_context_of_example():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "examples" / "brief.txt").read_text()
    return LocalPlanner().extract_context(Transcript(text=text, duration_s=24))


def test_one_definition_of_words_sentences_and_cta() -> None:
    assert textkit.tokens is creative_vocab.tokens
    assert writer.CTA_PHRASE is creative_vocab.CTA_PHRASE and writer.CTA_CUE is creative_vocab.CTA_CUE
    t = Transcript(text="Hi there. A reel about tacos! Link in bio.", duration_s=3)
    assert content.sentences(t) == [u.text for u in textkit.sentences(t)]
    assert content.words("It's 40% lo-fi") == creative_vocab.tokens("It's 40% lo-fi")


def test_the_score_gives_no_points_to_an_arm() -> None:
    """A brief with a statistic and a length: every variant writes a complete hook and the same length, so the
    predicted reward the optimizer learns from is the same for all of them."""
    planner = LocalPlanner()
    t = Transcript(text=WITH_STAT, duration_s=10)
    c = planner.extract_context(t)
    assert c.target_duration_s == 30
    scores = {evaluate(t, c, v, None, ViralityConfig(), n_scenes=5).score for v in ALL_VARIANTS}
    assert len(scores) == 1
    report = evaluate(t, c, ALL_VARIANTS[0], None, ViralityConfig())
    assert next(n.reason for n in report.not_evaluated if n.component == "format_fit").startswith(
        "not scored"
    )


def test_without_a_length_only_measurable_effects_differ() -> None:
    """No length asked: pacing changes the planned length (and so length_fit); the look and the grade never
    change a component."""
    planner = LocalPlanner()
    t = Transcript(text=NO_LENGTH, duration_s=10)
    c = planner.extract_context(t)
    by_look = {
        tuple(x.score for x in content_components(t, c, {"visual_style": s, "color_treatment": g}, 5))
        for s in LEVERS["visual_style"]
        for g in LEVERS["color_treatment"]
    }
    assert len(by_look) == 1
    fast, slow = (length_fit(t, c, {"pacing": p}, 5) for p in ("fast", "slow"))
    assert fast.numbers["planned_seconds"] == 12.5 and slow.numbers["planned_seconds"] == 30
