"""Fake Stability: v2beta stable-image generate (multipart in, image bytes out) and v1 user account."""

from __future__ import annotations

import re
import time

from testkit.vendors.media import tiny_png
from testkit.vendors.server import FakeServer, Reply, Request


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
