"""The GPT-4o planner at the wire (the real SDK against testkit's fake OpenAI): its prompts carry the same
reading rules as the local planner, the levers the brief stated are passed as stated and given no arm, and a
context comes back with the stated levers the rules read."""

from __future__ import annotations

import json

import pytest
from storyreel.services.scenes.providers.openai import SYSTEM_PROMPT, OpenAIPlanner
from storyreel.shared.contracts import CreativeContext, StatedLever, Transcript
from storyreel.shared.settings import LLMConfig

from testkit.vendors.openai import CONTEXT, FakeOpenAI, plan_json

NEON = Transcript(
    text="A TikTok ad for our sneaker. The look is neon, like a rainy city at night, hot pink and electric "
    "blue. Keep it fast. First the sole hits a wet street. Then a runner sprints past neon signs.",
    duration_s=10,
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield fake


def _planner() -> OpenAIPlanner:
    return OpenAIPlanner(LLMConfig(provider="openai", timeout_s=5, max_retries=0))


def test_the_prompts_carry_the_reading_rules(server) -> None:
    server.chat_replies.append(json.dumps(CONTEXT))
    _planner().extract_context(NEON)
    (req,) = server.seen("POST /v1/chat/completions")
    system, user = (m["content"] for m in req.json["messages"])
    assert system == SYSTEM_PROMPT
    for rule in (
        "small talk",
        "here's the idea",
        "meeting",
        "turned",
        "enumerates",
        "in that order",
        "never a platform name as the audience",
    ):
        assert rule in user, rule
    schema = req.json["response_format"]["json_schema"]["schema"]
    assert "stated_levers" in schema["required"]


def test_stated_levers_from_the_rules_join_the_models(server) -> None:
    server.chat_replies.append(
        json.dumps({**CONTEXT, "stated_levers": [{"lever": "hook_style", "said": "a question"}]})
    )
    ctx = _planner().extract_context(NEON)
    assert ctx.stated() == {
        "hook_style": "a question",
        "visual_style": "neon, rainy city at night",
        "color_treatment": "the brief's palette",
        "pacing": "fast",
    }


def test_an_answer_without_stated_levers_still_reads(server) -> None:
    server.chat_replies.append(json.dumps(CONTEXT))  # the fake's context has no stated_levers
    ctx = _planner().extract_context(Transcript(text="A video about our farm.", duration_s=3))
    assert ctx.stated_levers == []


def test_stated_levers_are_passed_and_get_no_arm(server) -> None:
    server.chat_replies.append(plan_json(3))
    ctx = CreativeContext.model_validate(
        {**CONTEXT, "stated_levers": [{"lever": "visual_style", "said": "neon, rainy city at night"}]}
    )
    assert ctx.stated_levers == [StatedLever(lever="visual_style", said="neon, rainy city at night")]
    _planner().write_scenes(NEON, ctx, {"visual_style": "cinematic", "pacing": "fast"}, 3)
    user = server.seen("POST /v1/chat/completions")[0].json["messages"][1]["content"]
    planning = json.loads(user.split("Planning data (JSON):\n", 1)[1].split("\n\n", 1)[0])
    assert planning["stated_by_the_brief"] == {"visual_style": "neon, rainy city at night"}
    assert "visual_style" not in planning["creative_choices"]
    assert planning["creative_choices"]["pacing"] == "fast"
    for rule in (
        "stated_by_the_brief",
        'never "featuring <title>"',
        "never first person",
        "image-prompt language",
    ):
        assert rule in user, rule
