"""Fake Replicate: predictions create (official-model and version endpoints), get, output files, account."""

from __future__ import annotations

import itertools
import re
import time

from testkit.vendors.media import tiny_png
from testkit.vendors.server import FakeServer, Reply, Request


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
