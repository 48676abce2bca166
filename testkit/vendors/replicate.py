"""Fake Replicate: predictions create (official-model and version endpoints), get, output files, account; file
uploads (POST /v1/files), the video models' first/last-frame inputs with MP4 outputs, and signed webhooks
(Standard Webhooks: webhook-id / webhook-timestamp / webhook-signature, HMAC-SHA256 with the whsec_ secret
served at GET /v1/webhooks/default/secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import time

import httpx

from testkit.vendors.media import tiny_mp4, tiny_png
from testkit.vendors.server import FakeServer, Reply, Request

# The video models' input fields as their replicate.com API pages list them (services/clips/models.py cites
# them). The fake answers 422 for an input field a model does not have: stricter than Replicate, so a field
# name the client misspells fails here instead of being dropped.
VIDEO_MODEL_FIELDS: dict[str, set[str]] = {
    "minimax/hailuo-02": {
        "prompt",
        "first_frame_image",
        "last_frame_image",
        "duration",
        "resolution",
        "prompt_optimizer",
    },
    "kwaivgi/kling-o1": {
        "prompt",
        "start_image",
        "end_image",
        "reference_images",
        "reference_video",
        "video_reference_type",
        "keep_original_sound",
        "mode",
        "aspect_ratio",
        "duration",
    },
    "bytedance/seedance-2.0": {
        "prompt",
        "image",
        "last_frame_image",
        "reference_images",
        "reference_videos",
        "reference_audios",
        "duration",
        "resolution",
        "aspect_ratio",
        "generate_audio",
        "seed",
    },
    "google/veo-3.1": {
        "prompt",
        "aspect_ratio",
        "duration",
        "image",
        "last_frame",
        "reference_images",
        "negative_prompt",
        "resolution",
        "generate_audio",
        "seed",
    },
    "luma/ray-flash-2-720p": {
        "prompt",
        "start_image",
        "end_image",
        "duration",
        "aspect_ratio",
        "loop",
        "concepts",
    },
    "pixverse/pixverse-v4": {
        "prompt",
        "image",
        "last_frame_image",
        "quality",
        "aspect_ratio",
        "duration",
        "motion_mode",
        "negative_prompt",
        "seed",
        "style",
        "effect",
        "sound_effect_switch",
        "sound_effect_content",
    },
}
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"storyreel-fake-replicate-signing!").decode()


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header by the documented scheme (not a library): v1,base64(HMAC-SHA256)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


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
        self.uploads: dict[str, tuple[str, bytes]] = {}  # file id -> (name, bytes)
        self.webhook_secret = WEBHOOK_SECRET
        self.webhook_deliveries: list[dict] = []  # {"url", "event", "status": HTTP status or error}
        self.clip_seconds = 1.0  # length of the MP4 a video model answers with
        self._timers: list[threading.Timer] = []
        self._views = threading.Lock()
        self.webhooks: dict[str, str] = {}  # prediction id -> its webhook URL
        self.route("POST", "/v1/files", self._upload, "files-create")
        self.route("GET", "/uploads/(?P<id>[^/]+)", self._uploaded, "upload-get")
        self.route("GET", "/files/(?P<id>[^/]+)\\.mp4", self._mp4, "video")
        self.route("GET", "/v1/webhooks/default/secret", self._secret, "webhook-secret")
        self.route(
            "POST", "/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)/predictions", self._create, "create-model"
        )
        self.route("POST", "/v1/predictions", self._create, "create-version")
        self.route("GET", "/v1/predictions/(?P<id>[^/]+)", self._get, "get")
        self.route("GET", "/files/(?P<id>[^/]+)\\.png", self._file, "file")
        self.route("GET", "/v1/account", self._account, "account")

    def _view(self, pid: str) -> dict:
        with self._views:
            pred = self.predictions[pid]
            if (
                pred["status"] == "starting"
                and not self.never_finish
                and time.monotonic() >= self.done_at[pid]
            ):
                prompt = pred["input"].get("prompt", "")
                failure = next((err for key, err in self.fail_prompts.items() if key in prompt), None)
                if failure:
                    pred.update(status="failed", error=failure)
                elif pred["model"] in VIDEO_MODEL_FIELDS:
                    pred.update(
                        status="succeeded",
                        output=f"{self.url}/files/{pid}.mp4",
                        metrics={"predict_time": self.latency},
                    )
                else:
                    pred.update(status="succeeded", output=[f"{self.url}/files/{pid}.png"])
            return dict(pred)

    def _create(self, req: Request, m: re.Match) -> Reply:
        pid = f"p{next(self._ids)}"
        model = f"{m.group('owner')}/{m.group('name')}" if "owner" in m.groupdict() else "community/model"
        if model in VIDEO_MODEL_FIELDS:
            unknown = sorted(set(req.json["input"]) - VIDEO_MODEL_FIELDS[model])
            if unknown:
                return replicate_error(422, f"{model} has no input {unknown[0]!r}", "Invalid input")
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
        if req.json.get("webhook"):
            self.webhooks[pid] = req.json["webhook"]
            self._schedule_webhooks(
                pid,
                req.json["webhook"],
                req.json.get("webhook_events_filter") or ["start", "output", "logs", "completed"],
            )
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

    def _upload(self, req: Request, m: re.Match) -> Reply:
        name, data = req.files["content"]
        fid = f"f{next(self._ids)}"
        self.uploads[fid] = (name, data)
        return Reply(
            201,
            {
                "id": fid,
                "name": name,
                "content_type": "application/octet-stream",
                "size": len(data),
                "etag": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                "checksums": {"sha256": hashlib.sha256(data).hexdigest()},
                "metadata": {},
                "created_at": "2025-01-01T00:00:00Z",
                "expires_at": None,
                "urls": {"get": f"{self.url}/uploads/{fid}"},
            },
        )

    def _uploaded(self, req: Request, m: re.Match) -> Reply:
        _name, data = self.uploads[m.group("id")]
        return Reply(200, data, headers={"content-type": "image/png"})

    def _mp4(self, req: Request, m: re.Match) -> Reply:
        return Reply(200, tiny_mp4(self.clip_seconds), headers={"content-type": "video/mp4"})

    def _secret(self, req: Request, m: re.Match) -> Reply:
        return Reply(200, {"key": self.webhook_secret})

    # ------------------------------------------------------------------ webhooks
    def _schedule_webhooks(self, pid: str, url: str, events: list[str]) -> None:
        if "start" in events:
            self._later(0.0, pid, url, "start")
        if "completed" in events and not self.never_finish:
            self._later(self.latency, pid, url, "completed")

    def _later(self, delay: float, pid: str, url: str, event: str) -> None:
        timer = threading.Timer(delay, self.deliver, args=(pid, url, event))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def deliver(self, pid: str, url: str, event: str, secret: str | None = None) -> int:
        """POST the prediction to `url`, signed; returns the HTTP status (recorded in webhook_deliveries)."""
        if event == "completed":
            self.done_at[pid] = min(self.done_at[pid], time.monotonic())
        body = json.dumps(self._view(pid))
        msg_id = f"msg_{pid}_{event}"
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign_webhook(secret or self.webhook_secret, msg_id, ts, body),
        }
        try:
            status: int | str = httpx.post(url, content=body, headers=headers, timeout=30).status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        self.webhook_deliveries.append({"url": url, "event": event, "prediction": pid, "status": status})
        return status if isinstance(status, int) else 0

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        super().stop()

    def _account(self, req: Request, m: re.Match) -> Reply:
        return Reply(200, {"type": "user", "username": "tester", "name": "Tester", "github_url": None})


def replicate_error(status: int, detail: str, title: str = "") -> Reply:
    return Reply(
        status, {"type": "about:blank", "title": title or "Error", "status": status, "detail": detail}
    )
