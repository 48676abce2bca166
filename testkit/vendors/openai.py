"""Fake OpenAI: /v1/audio/transcriptions (multipart), /v1/chat/completions, /v1/images/generations, /v1/models;
and the planning answers (a creative context, a scene plan) the chat fake gives the planner."""

from __future__ import annotations

import base64
import json
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from testkit.vendors.media import tiny_png
from testkit.vendors.server import FakeServer, Reply, Request

CONTEXT = {
    "title": "Roastery Morning",
    "subject": "a small coffee roastery",
    "intent": "sell",
    "vibe": "warm and calm",
    "content_style": "short-form story",
    "target_audience": "coffee lovers in the city",
    "visual_elements": ["roaster drum", "steam", "hands"],
    "color_palette": ["amber", "cream"],
    "sound_preferences": ["acoustic guitar"],
    "keywords": ["coffee", "roastery"],
    "tone": "positive",
    "sentiment": 0.6,
    "platform": "instagram",
    "target_duration_s": 30.0,
    "missing": [],
}


def plan_json(n: int = 3) -> str:
    scenes = [
        {
            "index": i,
            "title": f"Scene {i}",
            "description": f"what happens in scene {i}",
            "transition": "cut",
            "duration": 5.0,
            "camera": "slow push-in",
            "narration": "we roast every morning",
            "start_frame": {"prompt": f"cinematic shot {i} start, warm light", "negative_prompt": "text"},
            "end_frame": {"prompt": f"cinematic shot {i} end, warm light", "negative_prompt": ""},
        }
        for i in range(1, n + 1)
    ]
    return json.dumps({"hook": "Ever wondered where your coffee starts?", "scenes": scenes})


def planning_reply(body: dict) -> str:
    """A valid answer to whichever planning request this is (context or scenes), by its schema name."""
    name = body["response_format"]["json_schema"]["name"]
    return json.dumps(CONTEXT) if name == "CreativeContextDraft" else plan_json(3)


def openai_error(status: int, message: str, type_: str, code: str | None = None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": type_, "param": None, "code": code}})


class FakeOpenAI(FakeServer):
    """/v1/audio/transcriptions, /v1/chat/completions, /v1/images/generations, /v1/models."""

    def __init__(self) -> None:
        super().__init__()
        self.chat_replies: deque[str] = deque()  # scripted assistant contents, else `default_chat`
        self.default_chat: Callable[[dict], str] = lambda body: "{}"
        self.transcript_for: Callable[[Request], dict] = self._default_transcript
        self.image_latency = 0.0
        self.route("POST", "/v1/audio/transcriptions", self._transcribe, "transcriptions")
        self.route("POST", "/v1/chat/completions", self._chat, "chat")
        self.route("POST", "/v1/images/generations", self._images, "images")
        self.route("GET", "/v1/models", self._models, "models")

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @staticmethod
    def _default_transcript(req: Request) -> dict:
        return {
            "task": "transcribe",
            "language": "english",
            "duration": 4.2,
            "text": "We want a short video about our coffee roastery.",
            "segments": [
                {
                    "id": 0,
                    "seek": 0,
                    "start": 0.0,
                    "end": 2.0,
                    "text": " We want a short video",
                    "tokens": [1, 2],
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.1,
                    "no_speech_prob": 0.01,
                },
                {
                    "id": 1,
                    "seek": 0,
                    "start": 2.0,
                    "end": 4.2,
                    "text": " about our coffee roastery.",
                    "tokens": [3, 4],
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.1,
                    "no_speech_prob": 0.01,
                },
            ],
            "words": [
                {"word": "We", "start": 0.0, "end": 0.3},
                {"word": "want", "start": 0.3, "end": 0.6},
                {"word": "a", "start": 0.6, "end": 0.7},
                {"word": "short", "start": 0.7, "end": 1.2},
                {"word": "video", "start": 1.2, "end": 2.0},
                {"word": "about", "start": 2.0, "end": 2.4},
                {"word": "our", "start": 2.4, "end": 2.6},
                {"word": "coffee", "start": 2.6, "end": 3.2},
                {"word": "roastery.", "start": 3.2, "end": 4.2},
            ],
        }

    def _transcribe(self, req: Request, m: re.Match) -> Reply:
        data = self.transcript_for(req)
        if req.form.get("response_format", ["json"])[0] != "verbose_json":
            data = {"text": data["text"]}
        else:  # as the API: words only when asked for (timestamp_granularities[]=word), segments unless only words
            granularities = req.form.get("timestamp_granularities[]", ["segment"])
            data = dict(data)
            if "word" not in granularities:
                data.pop("words", None)
            if "segment" not in granularities:
                data.pop("segments", None)
        return Reply(200, data)

    def _chat(self, req: Request, m: re.Match) -> Reply:
        content = self.chat_replies.popleft() if self.chat_replies else self.default_chat(req.json)
        return Reply(
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": req.json["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
            },
        )

    def _images(self, req: Request, m: re.Match) -> Reply:
        if self.image_latency:
            time.sleep(self.image_latency)
        body: dict[str, Any] = {
            "created": 1_700_000_000,
            "data": [{"b64_json": base64.b64encode(tiny_png()).decode(), "revised_prompt": None}],
        }
        if req.json.get("model", "").startswith("gpt-image"):
            body["usage"] = {
                "input_tokens": 50,
                "output_tokens": 1056,
                "total_tokens": 1106,
                "input_tokens_details": {"text_tokens": 50, "image_tokens": 0},
            }
        return Reply(200, body)

    def _models(self, req: Request, m: re.Match) -> Reply:
        return Reply(
            200,
            {
                "object": "list",
                "data": [{"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "openai"}],
            },
        )
