"""Local HTTP servers that speak the vendors' wire formats (OpenAI, Replicate, Stability), for the real SDKs.

Each server records every request it got (method, path, headers, raw body, parsed JSON or multipart form) and
answers from its routes. Faults are queued per route: `server.fault("POST /v1/chat/completions", Reply(429,
headers={"retry-after": "1"}))` makes the next matching request fail that way, then normal service resumes.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import threading
import time
import wave
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np


def tiny_png(color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (16, 9)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "application/json"  # malformed JSON bodies keep the JSON content type
        return self.body or b"", self.headers.get("content-type", "application/octet-stream")


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes]]]:
    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    form: dict[str, list[str]] = defaultdict(list)
    files: dict[str, tuple[str, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, payload)
        else:
            form[name].append(payload.decode())
    return dict(form), files


Handler = Callable[[Request, re.Match], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 drops bursts of connections (SYN retry: +1 s)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with regex routes, request log, fault queues and in-flight counting."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, re.Pattern, Handler]] = []
        self.requests: list[Request] = []
        self.faults: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                outer._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd = _Server(("127.0.0.1", 0), _H)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # ------------------------------------------------------------------ setup
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, method: str, pattern: str, handler: Handler, name: str | None = None) -> None:
        self.routes.append((name or f"{method} {pattern}", method, re.compile(f"^{pattern}$"), handler))

    def fault(self, name: str, *replies: Reply) -> None:
        with self._lock:
            self.faults[name].extend(replies)

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def seen(self, name_or_path: str) -> list[Request]:
        return [r for r in self.requests if f"{r.method} {r.path}" == name_or_path or r.path == name_or_path]

    def matching(self, method: str, pattern: str) -> list[Request]:
        rx = re.compile(f"^{pattern}$")
        return [r for r in self.requests if r.method == method and rx.match(r.path)]

    # ------------------------------------------------------------------ serving
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        path = h.path.split("?", 1)[0]
        req = Request(h.command, path, {k.lower(): v for k, v in h.headers.items()}, body, time.monotonic())
        ctype = req.headers.get("content-type", "")
        if ctype.startswith("application/json") and body:
            req.json = json.loads(body)
        elif ctype.startswith("multipart/form-data"):
            req.form, req.files = parse_multipart(ctype, body)
        with self._lock:
            self.requests.append(req)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            reply = self._reply(req)
            if reply.delay:
                time.sleep(reply.delay)
            data, default_type = reply.encoded()
            h.send_response(reply.status)
            headers = {"content-type": default_type, **{k.lower(): v for k, v in reply.headers.items()}}
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("content-length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _reply(self, req: Request) -> Reply:
        for name, method, rx, handler in self.routes:
            m = rx.match(req.path)
            if method == req.method and m:
                with self._lock:
                    queued = self.faults[name].popleft() if self.faults[name] else None
                if queued is not None:
                    if queued.status == 200 and queued.body is None and queued.delay:
                        time.sleep(queued.delay)
                        return handler(req, m)
                    return queued
                return handler(req, m)
        return Reply(
            404, {"error": {"message": f"no route {req.method} {req.path}", "type": "invalid_request_error"}}
        )


# =========================================================================== audio + planning fixtures
def write_wav(path: Path, pattern: list[tuple[float, bool]], rate: int = 16_000) -> Path:
    """A 16 kHz mono WAV of tone (True) and silence (False) runs, e.g. [(1.0, True), (0.6, False), ...]."""
    parts = []
    for seconds, tone in pattern:
        t = np.arange(int(seconds * rate)) / rate
        parts.append((np.sin(2 * np.pi * 220 * t) * 8000 if tone else np.zeros_like(t)).astype(np.int16))
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(np.concatenate(parts).tobytes())
    return path


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


# =========================================================================== OpenAI
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
        }

    def _transcribe(self, req: Request, m: re.Match) -> Reply:
        data = self.transcript_for(req)
        if req.form.get("response_format", ["json"])[0] != "verbose_json":
            data = {"text": data["text"]}
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


# =========================================================================== Replicate
class FakeReplicate(FakeServer):
    """Predictions create (official-model and version endpoints), get, output files, account."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.predictions: dict[str, dict] = {}
        self.done_at: dict[str, float] = {}
        self.fail_prompts: dict[str, str] = {}  # prompt substring -> error (prediction status "failed")
        self.never_finish = False
        self._ids = itertools.count(1)
        self.route(
            "POST", "/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions", self._create, "create-model"
        )
        self.route("POST", "/v1/predictions", self._create, "create-version")
        self.route("GET", "/v1/predictions/(?P<id>[^/]+)", self._get, "get")
        self.route("GET", "/files/(?P<id>[^/]+)\\.png", self._file, "file")
        self.route("GET", "/v1/account", self._account, "account")

    def _view(self, pid: str) -> dict:
        pred = self.predictions[pid]
        if pred["status"] == "starting" and not self.never_finish and time.monotonic() >= self.done_at[pid]:
            prompt = pred["input"].get("prompt", "")
            failure = next((err for key, err in self.fail_prompts.items() if key in prompt), None)
            if failure:
                pred.update(status="failed", error=failure)
            else:
                pred.update(status="succeeded", output=[f"{self.url}/files/{pid}.png"])
        return dict(pred)

    def _create(self, req: Request, m: re.Match) -> Reply:
        pid = f"p{next(self._ids)}"
        model = f"{m.group('owner')}/{m.group('name')}" if "owner" in m.groupdict() else "community/model"
        self.predictions[pid] = {
            "id": pid,
            "model": model,
            "version": req.json.get("version", "hidden"),
            "status": "starting",
            "input": req.json["input"],
            "output": None,
            "logs": "",
            "error": None,
            "metrics": {},
            "created_at": "2025-01-01T00:00:00Z",
            "started_at": None,
            "completed_at": None,
            "urls": {
                "get": f"{self.url}/v1/predictions/{pid}",
                "cancel": f"{self.url}/v1/predictions/{pid}/cancel",
            },
        }
        self.done_at[pid] = time.monotonic() + self.latency
        prefer = req.headers.get("prefer", "")
        if prefer.startswith("wait") and not self.never_finish:
            wait = float(prefer.split("=", 1)[1]) if "=" in prefer else 60.0
            time.sleep(max(0.0, min(self.done_at[pid] - time.monotonic(), wait)))
        return Reply(201, self._view(pid))

    def _get(self, req: Request, m: re.Match) -> Reply:
        pid = m.group("id")
        if pid not in self.predictions:
            return Reply(404, {"title": "Not found", "detail": "no such prediction", "status": 404})
        return Reply(200, self._view(pid))

    def _file(self, req: Request, m: re.Match) -> Reply:
        return Reply(200, tiny_png((40, 40, 200)), headers={"content-type": "image/png"})

    def _account(self, req: Request, m: re.Match) -> Reply:
        return Reply(200, {"type": "user", "username": "tester", "name": "Tester", "github_url": None})


def replicate_error(status: int, detail: str, title: str = "") -> Reply:
    return Reply(
        status, {"type": "about:blank", "title": title or "Error", "status": status, "detail": detail}
    )


# =========================================================================== Stability
class FakeStability(FakeServer):
    """v2beta stable-image generate (multipart in, image bytes out) and v1 user account."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        self.route(
            "POST", "/v2beta/stable-image/generate/(?P<model>core|ultra|sd3)", self._generate, "generate"
        )
        self.route("GET", "/v1/user/account", self._account, "account")

    def _generate(self, req: Request, m: re.Match) -> Reply:
        if self.latency:
            time.sleep(self.latency)
        if not req.headers.get("authorization", "").startswith("Bearer "):
            return Reply(401, {"id": "x", "name": "unauthorized", "errors": ["missing authorization header"]})
        seed = req.form.get("seed", ["0"])[0]
        return Reply(
            200,
            tiny_png((40, 200, 40)),
            headers={"content-type": "image/png", "finish-reason": "SUCCESS", "seed": seed},
        )

    def _account(self, req: Request, m: re.Match) -> Reply:
        return Reply(200, {"id": "user-1", "email": "t@example.com", "organizations": []})


def stability_error(status: int, name: str, *errors: str) -> Reply:
    return Reply(status, {"id": "e1", "name": name, "errors": list(errors)})


# =========================================================================== Firecrawl (doctor's live check)
class FakeFirecrawl(FakeServer):
    """v2 team credit usage: `{success, data: {remainingCredits, planCredits, billingPeriod...}}`; 401 without a
    Bearer key, as the hosted API answers."""

    def __init__(self) -> None:
        super().__init__()
        self.route("GET", "/v2/team/credit-usage", self._credits, "credits")

    def _credits(self, req: Request, m: re.Match) -> Reply:
        if not req.headers.get("authorization", "").startswith("Bearer "):
            return Reply(401, {"success": False, "error": "Unauthorized: Invalid token"})
        return Reply(
            200,
            {
                "success": True,
                "data": {
                    "remainingCredits": 4200,
                    "planCredits": 5000,
                    "billingPeriodStart": "2026-11-01T00:00:00Z",
                    "billingPeriodEnd": "2026-12-01T00:00:00Z",
                },
            },
        )


def firecrawl_error(status: int, error: str) -> Reply:
    return Reply(status, {"success": False, "error": error})
