"""Context extraction: every field from a realistic brief, ASR-style text too; `missing` for a sparse one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from storyreel.services.brief.textkit import clean, sentences, target_duration
from storyreel.services.scenes.providers.local import LocalPlanner
from storyreel.shared.colors import COLORS
from storyreel.shared.contracts import Segment, Transcript

ROOT = Path(__file__).resolve().parents[2]


def test_rambling_brief_fills_every_field(planner, rambling):
    c = planner.extract_context(rambling)
    assert c.missing == []
    assert c.subject == "new oat milk latte"
    assert "Oat Milk Latte" in c.title
    assert c.intent == "sell"
    assert c.vibe.split(", ")[:2] == ["cozy", "warm"]
    assert "nostalgic" in c.vibe
    assert "short-form" in c.content_style
    assert c.target_audience.startswith("busy parents who need a calm moment")
    assert c.platform == "TikTok"
    assert c.target_duration_s == 60
    assert c.color_palette == [
        f"terracotta {COLORS['terracotta']}",
        f"cream {COLORS['cream']}",
        f"sage green {COLORS['sage green']}",
    ]
    assert {"latte art", "barista pouring oat milk", "cafe counter"} <= set(c.visual_elements)
    assert c.sound_preferences[:3] == ["lo-fi beats", "acoustic guitar", "voiceover"]
    assert "new oat milk latte" in c.keywords and "latte art" in c.keywords
    assert not any(k in ("um", "you know", "sixty second") for k in c.keywords)
    assert c.tone == "positive" and c.sentiment > 0.2


def test_palette_entries_carry_name_and_hex(planner, rambling):
    palette = planner.extract_context(rambling).color_palette
    assert palette[0] == f"terracotta {COLORS['terracotta']}"
    assert all(p.split()[-1].startswith("#") and len(p.split()[-1]) == 7 for p in palette)


def test_lowercase_unpunctuated_asr_brief(planner, asr):
    c = planner.extract_context(asr)
    assert c.missing == []
    assert c.subject == "cold brew coffee"
    assert c.platform == "YouTube Shorts"
    assert c.target_duration_s == 30
    assert c.intent == "educate"
    assert c.content_style == "short-form recipe"
    assert c.target_audience == "college students who don't have a lot of money"
    assert c.vibe.startswith("relaxed, fun")
    assert [p.split()[0] for p in c.color_palette] == ["brown", "cream"]
    assert c.sound_preferences == ["lo-fi beats"]
    assert "coarse ground beans" in c.visual_elements
    assert "cold brew coffee" in c.keywords


def test_asr_segments_become_sentences_at_pauses():
    segs = [
        Segment(start=0.0, end=0.4, text="open"),
        Segment(start=0.4, end=0.7, text="with"),
        Segment(start=0.7, end=1.2, text="the beans"),
        Segment(start=1.9, end=2.3, text="then"),
        Segment(start=2.3, end=2.9, text="show the grinder"),
    ]
    t = Transcript(text="open with the beans then show the grinder", duration_s=3, segments=segs)
    assert [u.text for u in sentences(t)] == ["open with the beans", "then show the grinder"]


def test_unpunctuated_text_without_segments_splits_at_discourse_markers():
    text = (
        "i want a video about our bakery for instagram the vibe should be warm and rustic open with fresh bread "
        "coming out of the oven then show the team shaping dough and finally end with the shop front"
    )
    units = [u.text for u in sentences(Transcript(text=text, duration_s=20))]
    assert len(units) >= 3
    assert any(u.startswith("open with fresh bread") for u in units)


def test_sparse_brief_lists_what_it_defaulted(planner):
    c = planner.extract_context(Transcript(text="make a video about my dog", duration_s=2))
    assert c.subject == "dog"
    assert set(c.missing) == {
        "intent",
        "vibe",
        "content_style",
        "target_audience",
        "visual_elements",
        "color_palette",
        "sound_preferences",
        "platform",
        "target_duration_s",
    }
    assert c.platform is None and c.target_duration_s is None
    assert c.color_palette and all("#" in p for p in c.color_palette)  # derived from the (default) vibe
    assert c.target_audience == "general audience"


def test_empty_brief_defaults_everything(planner):
    c = planner.extract_context(Transcript(text="um uh", duration_s=1))
    assert "subject" in c.missing and "title" in c.missing and "keywords" in c.missing
    assert c.title == "Untitled brief"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("a 60 second short", 60),
        ("a sixty-second tiktok", 60),
        ("keep it under a minute", 60),
        ("maybe a minute and a half long", 90),
        ("two minutes max", 120),
        ("hook them in the first three seconds, the whole thing about forty five seconds", 45),
        ("hook them in the first three seconds", None),
        ("no length said", None),
    ],
)
def test_target_duration(text, seconds):
    assert target_duration(text) == seconds


def test_fillers_and_noise_marks_are_dropped():
    assert clean("um so the the vibe is like <sil> cozy [NOISE] you know") == "the vibe is cozy"


def test_same_transcript_same_context_and_plan_across_processes(planner, rambling):
    """Deterministic even across interpreter hash seeds (no set iteration leaks into the output)."""
    here = planner.extract_context(rambling).model_dump_json()
    plan = planner.write_scenes(rambling, planner.extract_context(rambling), {}, 6).model_dump_json()
    assert planner.extract_context(rambling).model_dump_json() == here
    code = (
        "import sys,json;from storyreel.services.scenes.providers.local import LocalPlanner;from storyreel.shared.contracts import Transcript;"
        "t=Transcript.model_validate_json(sys.stdin.read());p=LocalPlanner();c=p.extract_context(t);"
        "print(json.dumps([c.model_dump_json(), p.write_scenes(t,c,{},6).model_dump_json()]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=rambling.model_dump_json(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    other_context, other_plan = json.loads(out.stdout)
    assert other_context == here
    assert other_plan == plan


def test_local_planner_is_the_default():
    from storyreel.services.scenes.providers import PLANNERS
    from storyreel.shared.settings import LLMConfig

    assert isinstance(PLANNERS.build(LLMConfig()), LocalPlanner)
