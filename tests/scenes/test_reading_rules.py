"""One test per reading rule: talk is not the brief, enumerated scenes are the scenes, shots are prompt
language, stated fields are kept as said and the optimizer's arms fill only what the brief left open."""

from __future__ import annotations

import pytest
from storyreel.services.brief.discourse import enumerated, sort_out
from storyreel.services.brief.textkit import Unit, sentences
from storyreel.services.optimizer.step import decide
from storyreel.services.scenes.reading import read_brief
from storyreel.services.scenes.shots import describe, participle
from storyreel.services.scenes.vocabulary import GRADE, LOOK
from storyreel.shared.contracts import Segment, Transcript
from storyreel.shared.settings import OptimizerConfig


def _t(text: str) -> Transcript:
    return Transcript(text=text, duration_s=10)


def _plan(planner, text: str, n: int, **variant):
    t = _t(text)
    c = planner.extract_context(t)
    return c, planner.write_scenes(t, c, variant, n)


# --------------------------------------------------------------------------- talk
def test_greetings_thanks_and_meta_talk_are_never_shots(planner) -> None:
    _, plan = _plan(
        planner,
        "Hey, thanks for taking this on. Okay so here's the idea. A reel about our granola. "
        "First the granola pours into a bowl. Then a spoon lifts it to the camera.",
        3,
    )
    prompts = " ".join(f.prompt for s in plan.scenes for f in s.frames())
    assert "thanks" not in prompts and "idea" not in prompts
    assert plan.scenes[1].start_frame.prompt.startswith("medium shot of the granola pouring into a bowl")


def test_a_meeting_keeps_what_was_asked_for_and_agreed() -> None:
    units = sentences(
        _t(
            "Ana: Morning! How was your weekend?\nBen: Great, we went hiking. Anyway, the video.\n"
            "Ana: Who is it for?\nBen: Nurses on night shifts.\n"
            "Ana: I was thinking maybe a helicopter shot, but that's too expensive.\n"
            "Ben: Agreed. First, a nurse walks into a dark ward. Then she checks a patient by torchlight."
        )
    )
    assert {u.speaker for u in units} == {"Ana", "Ben"}
    out = sort_out(units)
    assert out.meeting
    talk = " ".join(u.low for u in out.talk)
    assert "weekend" in talk and "helicopter" in talk and "who is it for" in talk
    assert out.answers["target_audience"].low.startswith("nurses on night shifts")
    assert [i.text for i in enumerated(out.content)] == [
        "a nurse walks into a dark ward",
        "she checks a patient by torchlight",
    ]


def test_segments_with_speakers_are_turns() -> None:
    segs = [
        Segment(start=0, end=1, text="Hi, how are you?", speaker="A"),
        Segment(start=1, end=2, text="Good. It's for our bakery.", speaker="B"),
    ]
    units = sentences(
        Transcript(text="Hi, how are you? Good. It's for our bakery.", duration_s=2, segments=segs)
    )
    assert [u.speaker for u in units] == ["A", "B", "B"]


def test_a_proposal_taken_up_is_kept() -> None:
    out = sort_out(
        [
            Unit("What about a drone shot of the farm?", "what about a drone shot of the farm?", speaker="A"),
            Unit("Love it.", "love it.", speaker="B"),
        ]
    )
    assert out.talk and out.talk[0].low.startswith("what about")  # a question in a meeting is still talk
    kept = sort_out(
        [
            Unit(
                "I was thinking a drone shot of the farm.",
                "i was thinking a drone shot of the farm.",
                speaker="A",
            ),
            Unit("Love it.", "love it.", speaker="B"),
        ]
    )
    assert [u.low for u in kept.content] == ["i was thinking a drone shot of the farm."]


# --------------------------------------------------------------------------- enumerated scenes
@pytest.mark.parametrize(
    "text",
    [
        "Scene one: a fox crosses a snowy road. Scene two: an owl lands on a fence. Scene three: the sun rises.",
        "Open on a fox crossing a snowy road. Cut to an owl landing on a fence. End on the sun rising.",
        "Shots:\n1. A fox crossing a snowy road\n2. An owl landing on a fence\n3. The sun rising over the hills",
        "First a fox crosses a snowy road, then an owl lands on a fence, finally the sun rises over the hills.",
    ],
)
def test_enumerated_scenes_are_the_scenes_in_order(planner, text: str) -> None:
    _, plan = _plan(planner, text, 3)
    starts = [s.start_frame.prompt for s in plan.scenes]
    assert "fox" in starts[0] and "owl" in starts[1] and "sun" in starts[2]
    assert not any(w in p for p in starts for w in ("scene one", "cut to", "open on", "1."))


def test_fewer_scenes_than_asked_adds_a_hook_then_a_cta(planner) -> None:
    _, plan = _plan(planner, "A video about our farm. First a fox crosses the road. Then an owl lands.", 5)
    starts = [s.start_frame.prompt for s in plan.scenes]
    assert plan.scenes[0].title.startswith("Hook") and "farm" in starts[0]
    assert "fox" in starts[1] and "owl" in starts[-2]  # a detail shot of the fox may come between
    assert plan.scenes[-1].title.startswith("Call to action")


def test_more_scenes_than_asked_are_merged_in_order(planner) -> None:
    _, plan = _plan(
        planner,
        "Scene one: a fox. Scene two: an owl on a fence. Scene three: a deer in the snow. Scene four: a hare runs.",
        3,
    )
    middle = plan.scenes[1]
    assert "owl" in middle.start_frame.prompt and "deer" in plan.scenes[1].end_frame.prompt


# --------------------------------------------------------------------------- prompt language
@pytest.mark.parametrize(
    ("said", "what", "shot"),
    [
        (
            "a close-up of the glowing sole hitting a wet street",
            "the glowing sole hitting a wet street",
            "close-up",
        ),
        (
            "we see a runner sprints past a row of neon signs",
            "a runner sprinting past a row of neon signs",
            None,
        ),
        ("the tower falls and the toddler laughs", "the tower falling and the toddler laughing", None),
        ("our logo on a black card", "the logo on a black card", None),
        ("two apple slices on a plate", "two apple slices on a plate", None),
        (
            "a drop of serum falling onto a fingertip, macro",
            "a drop of serum falling onto a fingertip",
            "macro shot",
        ),
    ],
)
def test_a_scene_becomes_a_shot_in_prompt_language(said: str, what: str, shot: str | None) -> None:
    d = describe(said)
    assert (d.what, d.shot) == (what, shot)


def test_a_pronoun_subject_is_the_person_before() -> None:
    first = describe("an HR manager stares at a spreadsheet")
    assert first.person == "the manager"
    assert describe("she opens the app and drags a shift", first.person).what == (
        "the manager opening the app and dragging a shift"
    )


@pytest.mark.parametrize(
    ("base", "ing"),
    [
        ("spin", "spinning"),
        ("glide", "gliding"),
        ("open", "opening"),
        ("high-five", "high-fiving"),
        ("see", "seeing"),
        ("pour", "pouring"),
    ],
)
def test_participles(base: str, ing: str) -> None:
    assert participle(base) == ing


def test_long_sentences_are_not_pasted_into_prompts(planner) -> None:
    _, plan = _plan(
        planner,
        "We're a small family restaurant and we're releasing a video for our opening. We see the chef tossing "
        "noodles in a flaming wok while the guests at the long table behind him cheer and raise their glasses "
        "to the new place. Then the ribbon cutting at the door.",
        3,
    )
    for s in plan.scenes:
        shot = s.start_frame.prompt.split(",")[0]
        assert len(shot.split()) <= 19 and "we're" not in shot and "featuring" not in s.start_frame.prompt


# --------------------------------------------------------------------------- stated fields
def test_stated_audience_platform_length_palette_kept_as_said(planner) -> None:
    c, _ = _plan(
        planner,
        "A fifteen second TikTok for our tea. The audience is women in their thirties with sensitive skin. "
        "Hot pink and electric blue.",
        3,
    )
    assert c.target_audience == "women in their thirties with sensitive skin"
    assert (c.platform, c.target_duration_s) == ("TikTok", 15.0)
    assert [p.rsplit(" ", 1)[0] for p in c.color_palette] == ["hot pink", "electric blue"]


def test_a_platform_is_not_an_audience(planner) -> None:
    c, _ = _plan(planner, "A video about our tea. It's for Instagram reels.", 3)
    assert c.target_audience == "general audience" and "target_audience" in c.missing


NEON = (
    "A TikTok ad for our sneaker. The look is neon, like a rainy city at night, hot pink and electric blue. "
    "Keep it fast. First the sole hits a wet street. Then a runner sprints past neon signs. Finally the shoe spins."
)


def test_a_stated_look_beats_the_optimizers_arm(planner) -> None:
    c, plan = _plan(planner, NEON, 3, visual_style="cinematic", color_treatment="warm", pacing="slow")
    assert c.stated() == {
        "visual_style": "neon, rainy city at night",
        "color_treatment": "the brief's palette",
        "pacing": "fast",
    }
    for s in plan.scenes:
        for f in s.frames():
            assert "neon look" in f.prompt and LOOK["cinematic"] not in f.prompt
            assert not any(g in f.prompt for g in GRADE.values())
    assert plan.variant["pacing"] == "fast"


def test_a_stated_arm_is_written_as_that_arm(planner) -> None:
    c, plan = _plan(
        planner,
        "A video about our farm, documentary style. Show a fox crossing the road.",
        3,
        visual_style="animated",
    )
    assert c.stated()["visual_style"] == "documentary"
    assert LOOK["documentary"] in plan.scenes[1].start_frame.prompt
    assert plan.variant["visual_style"] == "documentary"


@pytest.mark.parametrize("enabled", [True, False])
def test_the_optimizer_gives_no_arm_to_a_stated_lever(planner, enabled: bool) -> None:
    c = planner.extract_context(_t(NEON))
    d = decide({}, "run-1", c, OptimizerConfig(enabled=enabled))
    assert d.free_levers == ["hook_style"]
    assert set(d.variant) == {"hook_style"}
    open_brief = planner.extract_context(_t("A video about our farm."))
    assert decide({}, "run-1", open_brief, OptimizerConfig(enabled=enabled)).free_levers == [
        "hook_style",
        "visual_style",
        "pacing",
        "color_treatment",
    ]


def test_read_brief_sets_talk_aside(planner) -> None:
    b = read_brief(_t("Hi! Here's the idea. A video about our farm. Thanks, talk soon."))
    assert [u.low for u in b.units] == ["a video about our farm."]
