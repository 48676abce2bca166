"""Scene writing: the brief's structure, scene counts, prompts that carry the brief, and the creative levers."""

from __future__ import annotations

import re

import pytest
from storyreel.services.brief.levers import DEFAULT_VARIANT, LEVERS
from storyreel.services.scenes.providers.base import check_plan
from storyreel.services.scenes.vocabulary import GRADE, LOOK
from storyreel.shared.contracts import Transcript


@pytest.fixture
def ctx(planner, rambling):
    return planner.extract_context(rambling)


def plan_for(planner, transcript, n=5, **variant):
    return planner.write_scenes(transcript, planner.extract_context(transcript), variant, n)


@pytest.mark.parametrize("n", [3, 5, 10])
def test_exact_scene_count_and_length(planner, rambling, ctx, n):
    plan = check_plan(planner.write_scenes(rambling, ctx, {}, n), n)
    assert [s.index for s in plan.scenes] == list(range(1, n + 1))
    assert sum(s.duration for s in plan.scenes) == pytest.approx(60, abs=0.05)  # "a sixty second TikTok"
    assert all(s.duration > 0 and s.camera and s.transition and s.title for s in plan.scenes)


@pytest.mark.parametrize("n", [2, 11])
def test_scene_count_out_of_range_is_refused(planner, rambling, ctx, n):
    with pytest.raises(ValueError, match=r"3\.\.10"):
        planner.write_scenes(rambling, ctx, {}, n)


def test_follows_the_brief_hook_beats_in_order_then_cta(planner, rambling, ctx):
    plan = planner.write_scenes(rambling, ctx, {}, 5)
    s = plan.scenes
    assert s[0].narration.startswith("Open with a close up of the latte art")
    assert s[0].title.startswith("Hook")
    assert "barista pouring" in s[1].narration
    assert "mom taking the first sip" in s[2].narration
    assert "cafe counter" in s[3].narration
    assert s[4].title.startswith("Call to action") and "link in bio" in s[4].narration
    assert '"link in bio"' in s[4].end_frame.prompt
    # the speaker's "close up" is the hook's shot
    assert s[0].camera.startswith("close-up")


def test_three_scenes_merge_the_beats_in_order(planner, rambling, ctx):
    plan = planner.write_scenes(rambling, ctx, {}, 3)
    middle = plan.scenes[1]
    assert (
        middle.narration.index("barista")
        < middle.narration.index("mom")
        < middle.narration.index("cafe counter")
    )
    assert "barista" in middle.start_frame.prompt and "cafe counter" in middle.end_frame.prompt


def test_ten_scenes_add_shots_without_inventing_beats(planner, rambling, ctx):
    plan = planner.write_scenes(rambling, ctx, {}, 10)
    titles = [s.title for s in plan.scenes]
    assert len(set(titles)) == 10  # no two scenes alike
    assert titles.index("Barista Pouring") < titles.index("Mom Taking") < titles.index("Cafe Counter")
    assert plan.scenes[-1].title.startswith("Call to action")


def test_prompts_carry_subject_palette_style_and_elements(planner, rambling, ctx):
    plan = planner.write_scenes(rambling, ctx, {}, 5)
    for s in plan.scenes:
        # the start frame shows what the speaker said for the scene; the end frame names the subject to keep
        assert "oat milk latte" in s.end_frame.prompt
        for f in s.frames():
            assert "featuring" not in f.prompt
            assert "color palette: terracotta, cream, sage green" in f.prompt
            # the brief said its colours: the optimizer's grade arm does not paint over them
            assert LOOK["cinematic"] in f.prompt and GRADE["warm"] not in f.prompt
            assert "cozy, warm, nostalgic mood" in f.prompt
            assert "blurry" in f.negative_prompt
    mentioned = " ".join(f.prompt for s in plan.scenes for f in s.frames())
    assert sum(e in mentioned for e in ctx.visual_elements) >= 3


def test_end_frame_is_the_same_shot_moved_on(planner, rambling, ctx):
    for s in planner.write_scenes(rambling, ctx, {}, 5).scenes:
        assert s.end_frame.prompt != s.start_frame.prompt
        assert re.search(
            r"same new oat milk latte and setting( \([a-z ]+\))? as the start frame", s.end_frame.prompt
        )
        move = s.camera.split(", ", 1)[1]
        assert f"after the camera move ({move})" in s.end_frame.prompt
    hook = planner.write_scenes(rambling, ctx, {}, 5).scenes[0]
    assert hook.camera == "close-up, slow push-in"
    assert hook.end_frame.prompt.startswith("extreme close-up")  # pushed in: one size tighter


def test_setting_is_carried_into_both_frames(planner, rambling, ctx, asr):
    mom = planner.write_scenes(rambling, ctx, {}, 5).scenes[2]
    assert "by the window" in mom.start_frame.prompt
    assert "same new oat milk latte and setting (by the window) as the start frame" in mom.end_frame.prompt
    hook = plan_for(planner, asr, 5).scenes[0]  # "cold brew coffee at home": the brief's place
    assert ", at home," in hook.start_frame.prompt and "setting (at home)" in hook.end_frame.prompt


def test_asr_brief_plans_its_steps(planner, asr):
    plan = plan_for(planner, asr, 6)
    text = [s.narration for s in plan.scenes]
    assert "coarse ground beans" in text[1] and "cold water" in text[2] and "fridge" in text[3]
    assert plan.scenes[-1].title == "Call to action: Follow for More Cheap Recipes"
    assert sum(s.duration for s in plan.scenes) == pytest.approx(30, abs=0.05)


def test_sparse_brief_still_plans(planner):
    plan = plan_for(planner, Transcript(text="make a video about my dog", duration_s=2), 4)
    assert len(plan.scenes) == 4
    assert "the brief named no call to action" in plan.scenes[-1].description
    assert all("dog" in f.prompt for s in plan.scenes for f in s.frames())


# --------------------------------------------------------------------------- creative levers
def test_plan_records_the_resolved_variant(planner, rambling, ctx):
    plan = planner.write_scenes(rambling, ctx, {"pacing": "fast"}, 5)
    assert plan.variant == {**DEFAULT_VARIANT, "pacing": "fast"}


def test_unknown_variant_is_an_error(planner, rambling, ctx):
    with pytest.raises(ValueError, match="unknown creative choice"):
        planner.write_scenes(rambling, ctx, {"pacing": "glacial"}, 5)


@pytest.mark.parametrize("style", LEVERS["hook_style"])
def test_hook_style_shapes_scene_one(planner, rambling, ctx, style):
    plan = planner.write_scenes(rambling, ctx, {"hook_style": style}, 5)
    first = plan.scenes[0]
    assert plan.hook
    assert style.replace("_", " ") in first.description
    if style == "question":
        assert plan.hook.endswith("?") and "on-screen question" in first.end_frame.prompt
    if style == "bold_claim":
        assert "bold headline" in first.end_frame.prompt and not plan.hook.endswith("?")
    if style == "story":
        assert plan.hook.startswith("It started with latte art")
    if style == "statistic":  # the brief has no figure: none is invented
        assert "[add a sourced statistic; the brief gave none]" in plan.hook
        assert not re.search(r"\d", plan.hook)


def test_statistic_hook_uses_the_speakers_figure(planner):
    t = Transcript(
        text="A video about our recycling app. Eighty percent of plastic never gets recycled. Show the app.",
        duration_s=10,
    )
    plan = plan_for(planner, t, 3, hook_style="statistic")
    assert plan.hook == "Eighty percent of plastic never gets recycled."


@pytest.mark.parametrize("style", LEVERS["visual_style"])
def test_visual_style_sets_the_look(planner, rambling, ctx, style):
    plan = planner.write_scenes(rambling, ctx, {"visual_style": style}, 5)
    others = [LOOK[s] for s in LEVERS["visual_style"] if s != style]
    for s in plan.scenes:
        assert LOOK[style] in s.start_frame.prompt and LOOK[style] in s.end_frame.prompt
        assert not any(o in s.start_frame.prompt for o in others)
    if style == "animated":
        assert "photorealistic" in plan.scenes[0].start_frame.negative_prompt


BAKERY = (
    "A video about our bakery. Open with bread coming out of the oven. Then show the team shaping dough. "
    "End with the shop front and say visit us."
)


@pytest.mark.parametrize("grade", LEVERS["color_treatment"])
def test_color_treatment_sets_the_grade(planner, grade):
    """A brief that names no colours: the grade is the optimizer's arm."""
    plan = plan_for(planner, Transcript(text=BAKERY, duration_s=10), 5, color_treatment=grade)
    assert all(GRADE[grade] in f.prompt for s in plan.scenes for f in s.frames())
    assert f"{grade} grade" in plan.scenes[0].description


@pytest.mark.parametrize("grade", LEVERS["color_treatment"])
def test_a_stated_palette_is_not_graded_over(planner, rambling, ctx, grade):
    assert ctx.stated()["color_treatment"] == "the brief's palette"
    plan = planner.write_scenes(rambling, ctx, {"color_treatment": grade}, 5)
    assert not any(g in f.prompt for g in GRADE.values() for s in plan.scenes for f in s.frames())
    assert "the brief's own colours" in plan.scenes[0].description


def test_pacing_without_a_length_changes_durations_and_cuts(planner):
    t = Transcript(
        text="A video about our bakery. Open with bread coming out of the oven. Then show the team shaping dough. "
        "End with the shop front and say visit us.",
        duration_s=10,
    )
    fast, slow = (plan_for(planner, t, 5, pacing=p) for p in ("fast", "slow"))
    assert sum(s.duration for s in fast.scenes) < sum(s.duration for s in slow.scenes)
    assert "quick cuts" in fast.scenes[1].description
    assert fast.scenes[1].transition != slow.scenes[1].transition


def test_pacing_with_a_length_keeps_the_length_and_moves_time(planner, rambling, ctx):
    fast = planner.write_scenes(rambling, ctx, {"pacing": "fast"}, 5)
    slow = planner.write_scenes(rambling, ctx, {"pacing": "slow"}, 5)
    assert sum(s.duration for s in fast.scenes) == pytest.approx(
        sum(s.duration for s in slow.scenes), abs=0.05
    )
    assert fast.scenes[0].duration < slow.scenes[0].duration  # a fast plan spends less on the hook


def test_speaker_negatives_reach_the_negative_prompt(planner):
    t = Transcript(
        text="A video about our gym. No stock footage please. Open with the squat rack.", duration_s=5
    )
    plan = plan_for(planner, t, 3)
    assert "stock footage" in plan.scenes[0].start_frame.negative_prompt


LINKEDIN = (
    "Hi team. So we need a ninety second explainer for LinkedIn about our invoicing software, Ledgerly. "
    "The audience is small business owners who hate paperwork. Start with a frustrated owner buried in receipts. "
    "Then the owner opens Ledgerly on a laptop and snaps a photo of a receipt. Next we see the invoice filled in "
    "automatically. After that show the dashboard with paid invoices turning green. End with a calm owner closing "
    "the laptop and the line try it free for thirty days. Keep it clean and professional, navy and white with a "
    "little teal. Soft piano music and a calm voiceover."
)
GROOMING = (
    "so basically i run a dog grooming salon and i want an instagram reel showing a before and after of a fluffy "
    "poodle it should be fun and playful with bright pink and yellow we see the messy dog arrive then the bath with "
    "lots of bubbles then the blow dry and the final reveal with a bow ask people to book now upbeat pop music"
)


def test_explainer_brief(planner):
    t = Transcript(text=LINKEDIN, duration_s=40)
    c = planner.extract_context(t)
    assert (c.subject, c.platform, c.target_duration_s, c.content_style) == (
        "invoicing software",
        "LinkedIn",
        90,
        "explainer",
    )
    assert c.target_audience == "small business owners who hate paperwork"
    plan = planner.write_scenes(t, c, {}, 6)
    assert plan.scenes[0].narration.startswith("Start with a frustrated owner")
    assert "Hi team" not in " ".join(s.narration for s in plan.scenes)
    cta = plan.scenes[-1]
    assert cta.title == "Call to action: Try It Free for Thirty Days"
    assert cta.start_frame.prompt.startswith("medium shot of a calm owner closing the laptop,")


def test_unpunctuated_reel_brief_without_segments(planner):
    t = Transcript(text=GROOMING, duration_s=30)
    c = planner.extract_context(t)
    assert c.platform == "Instagram Reels" and c.intent == "sell"
    assert [p.split()[0] for p in c.color_palette] == ["pink", "yellow"]
    plan = planner.write_scenes(t, c, {}, 6)
    narr = [s.narration for s in plan.scenes]
    # the three scenes it enumerates ("we see ...", "then ...", "then ..."), in order, after the hook
    assert narr[1] == "we see the messy dog arrive"
    assert narr.index("then the bath with lots of bubbles") < narr.index(
        "then the blow dry and the final reveal with a bow"
    )
    assert "messy dog arriving" in plan.scenes[1].start_frame.prompt
    assert plan.scenes[-1].title == "Call to action: Book Now"
    assert plan.scenes[-1].start_frame.prompt.startswith("medium shot of a dog grooming salon,")


def test_any_text_gives_a_valid_plan():
    """Seeded word salad (cue words, numbers, symbols, other scripts), with and without timed segments: every
    plan has the scenes asked for, positive durations, and prompts."""
    import random

    from storyreel.services.scenes.providers.local import LocalPlanner
    from storyreel.shared.contracts import Segment

    vocab = [
        "i",
        "want",
        "a",
        "video",
        "about",
        "our",
        "new",
        "product",
        "for",
        "tiktok",
        "then",
        "show",
        "open",
        "with",
        "end",
        "with",
        "finally",
        "after",
        "that",
        "the",
        "vibe",
        "is",
        "cozy",
        "red",
        "colors",
        "music",
        "lo",
        "fi",
        "sixty",
        "seconds",
        "a",
        "minute",
        "and",
        "a",
        "half",
        "close",
        "up",
        "pan",
        "left",
        "zoom",
        "in",
        "who",
        "busy",
        "parents",
        "no",
        "stock",
        "footage",
        "call",
        "it",
        "link",
        "in",
        "bio",
        "follow",
        "for",
        "more",
        "eighty",
        "percent",
        "um",
        "uh",
        "like",
        "you",
        "know",
        ".",
        ",",
        "?",
        "!",
        "42",
        "%",
        "é",
        "日本",
    ]
    rng = random.Random(7)
    planner = LocalPlanner()
    for _ in range(150):
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 60))]
        segs = []
        if words and rng.random() < 0.5:
            t = 0.0
            for w in words:
                segs.append(Segment(start=round(t, 2), end=round(t + 0.3, 2), text=w))
                t += 0.3 + rng.choice((0.0, 0.1, 0.6))
        tr = Transcript(text=" ".join(words), duration_s=10, segments=segs)
        n = rng.randint(3, 10)
        variant = {k: rng.choice(v) for k, v in LEVERS.items()}
        plan = check_plan(planner.write_scenes(tr, planner.extract_context(tr), variant, n), n)
        assert all(s.duration > 0 for s in plan.scenes)


def test_check_plan_numbers_by_position_and_refuses_missing_content(planner, rambling, ctx):
    """Any provider's plan: a scene number is derived from position, never a reason to fail; content is."""
    plan = planner.write_scenes(rambling, ctx, {}, 3)
    for scene in plan.scenes:
        scene.index = 4
    assert [s.index for s in check_plan(plan, 3).scenes] == [1, 2, 3]
    plan.scenes[1].description = "  "
    with pytest.raises(ValueError, match="scene 2 has an empty description"):
        check_plan(plan, 3)
    plan.scenes[1].description = "a description"
    plan.scenes[2].end_frame.prompt = ""
    with pytest.raises(ValueError, match="scene 3 has an empty end frame prompt"):
        check_plan(plan, 3)
    with pytest.raises(ValueError, match="planner wrote 3 scenes, 4 were asked for"):
        check_plan(plan, 4)
