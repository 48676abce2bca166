"""Stability AI REST (v2beta Stable Image generate), through httpx: Stability ships no Python SDK for v2beta.

`POST {base}/v2beta/stable-image/generate/{core|ultra|sd3}` as multipart/form-data with `Accept: image/*`: the
answer is the image bytes (the seed and a `finish-reason` come back in headers). Models: `core` (default), `ultra`,
or an SD3 model (`sd3.5-large`, `sd3.5-large-turbo`, `sd3.5-medium`, ...), which goes to `/sd3` with `model=`.
SD3 and Ultra derive the end frame from the start frame (`image` + `strength`).

Faults: explicit timeout on the client; 429 waits for Retry-After, 5xx and timeouts are retried with exponential
backoff, both up to `max_retries` times; 4xx is reported at once in the words of Stability's error body
(`{"name": ..., "errors": [...]}`); a 200 whose `finish-reason` is CONTENT_FILTERED is a failed frame, not a
picture. An account-level refusal (401 bad key, 402 no credits, a 403 that is not content moderation) fails the
frames of that render call not yet sent with the same reason, without sending them; moderation stays per frame.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from storyreel.services.images.providers._common import (
    AccountRefusal,
    backoff_seconds,
    image_usage,
    nearest_ratio,
    retry_after_seconds,
    to_png,
)
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.shared.contracts import Usage
from storyreel.shared.errors import ConfigError
from storyreel.shared.settings import ImageGenerationConfig

DEFAULT_BASE_URL = "https://api.stability.ai"
DEFAULT_MODEL = "core"
RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
# Published credit prices (1 credit = $0.01), per image. Models not listed: no estimate.
PRICE_PER_IMAGE = {
    "core": 0.03,
    "ultra": 0.08,
    "sd3.5-large": 0.065,
    "sd3.5-large-turbo": 0.04,
    "sd3.5-medium": 0.035,
}


def endpoint(model: str) -> str:
    if model in ("core", "ultra"):
        return f"/v2beta/stable-image/generate/{model}"
    return "/v2beta/stable-image/generate/sd3"


def _body(resp: httpx.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _moderated(resp: httpx.Response) -> bool:
    """A 403 from content moderation (the error body's `name`), as opposed to an account-level refusal."""
    return resp.status_code == 403 and "moderation" in str(_body(resp).get("name") or "")


def is_account_refusal(resp: httpx.Response) -> bool:
    """401/402, or a 403 other than content moderation: every frame would get the same answer."""
    return resp.status_code in (401, 402) or (resp.status_code == 403 and not _moderated(resp))


def error_message(resp: httpx.Response) -> str:
    """Stability's error body in plain words: {"id", "name", "errors": [..]}; anything else, the status."""
    body = _body(resp)
    detail = ""
    name = ""
    if body:
        name = str(body.get("name") or "")
        errors = body.get("errors")
        if isinstance(errors, list):
            detail = "; ".join(str(e) for e in errors)
        elif body.get("message"):
            detail = str(body["message"])
    status = resp.status_code
    if status == 401:
        return "Stability rejected the API key (401): check STABILITY_API_KEY"
    if status == 402:
        return f"Stability: out of credits (402) {detail}".strip()
    if _moderated(resp):
        return f"Stability refused the prompt under its content moderation: {detail}".rstrip(": ")
    if status == 429:
        return "Stability rate limit (429), still limited after retries"
    if status >= 500:
        return f"Stability failed with HTTP {status} after retries"
    label = f"{name}: " if name else ""
    return f"Stability rejected the request (HTTP {status}): {label}{detail or resp.reason_phrase}"


class StabilityProvider:
    name = "stability"
    placeholder = False

    def __init__(self, config: ImageGenerationConfig) -> None:
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.supports_init_image = self.model != "core"
        self.api_key = os.environ.get("STABILITY_API_KEY")
        if not self.api_key:
            raise ConfigError(
                "STABILITY_API_KEY is not set: export STABILITY_API_KEY=sk-... "
                "(from platform.stability.ai/account/keys)"
            )
        self.base_url = (config.base_url or os.environ.get("STABILITY_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        self.usage: list[Usage] = []
        self._lock = threading.Lock()
        self._attempts = 0

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.api_key}", "Accept": "image/*"},
            timeout=httpx.Timeout(self.config.timeout_s, connect=min(10.0, self.config.timeout_s)),
            transport=httpx.HTTPTransport(retries=self.config.max_retries),  # connection failures
        )

    def _form(self, req: ImageRequest) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
        data: dict[str, str] = {"prompt": req.prompt, "output_format": "png", "seed": str(req.seed)}
        if req.negative_prompt:
            data["negative_prompt"] = req.negative_prompt
        if self.model not in ("core", "ultra"):
            data["model"] = self.model
        files: dict[str, tuple[str, bytes, str]] = {}
        if req.init_image is not None and self.supports_init_image:
            files["image"] = ("start.png", req.init_image, "image/png")
            data["strength"] = f"{req.strength:g}"
            if self.model != "ultra":
                data["mode"] = "image-to-image"
        else:
            data["aspect_ratio"] = nearest_ratio(req.width, req.height, RATIOS)
            if self.model not in ("core", "ultra"):
                data["mode"] = "text-to-image"
        for key, value in self.config.params.items():
            data[key] = str(value)
        if not files:
            # Stability only accepts multipart/form-data: send an empty file part to force that encoding.
            files["none"] = ("", b"", "application/octet-stream")
        return data, files

    def _one(self, client: httpx.Client, req: ImageRequest, refusal: AccountRefusal) -> ImageResult:
        t0 = time.monotonic()
        data, files = self._form(req)
        error = "no answer"
        for attempt in range(self.config.max_retries + 1):
            if refusal.reason is not None:  # the account was refused: this frame is not sent (again)
                error = refusal.reason
                break
            with self._lock:
                self._attempts += 1
            last = attempt == self.config.max_retries
            try:
                resp = client.post(endpoint(self.model), data=data, files=files)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # the transport already retried the connection max_retries times: no second retry layer
                error = f"cannot reach Stability ({type(exc).__name__})"
                break
            except httpx.TimeoutException:  # read/write timeouts: the transport does not retry these
                error = f"Stability did not answer within {self.config.timeout_s:g} s"
                if not last:
                    time.sleep(backoff_seconds(attempt))
                continue
            except httpx.HTTPError as exc:
                error = f"Stability request failed ({type(exc).__name__})"
                break
            if resp.status_code == 429 or resp.status_code >= 500:
                error = error_message(resp)
                if not last:
                    wait = retry_after_seconds(resp.headers.get("retry-after"))
                    time.sleep(wait if wait is not None else backoff_seconds(attempt))
                continue
            if resp.status_code != 200:
                error = error_message(resp)
                if is_account_refusal(resp):
                    refusal.record(error)
                break
            if resp.headers.get("finish-reason", "SUCCESS").upper() == "CONTENT_FILTERED":
                error = "Stability's content filter blocked the image (finish-reason CONTENT_FILTERED)"
                break
            try:
                png = to_png(resp.content)
            except ValueError as exc:
                error = f"malformed answer from Stability: {exc}"
                break
            return ImageResult(req.frame_id, png, time.monotonic() - t0, req.seed, model=self.model)
        return ImageResult(req.frame_id, None, time.monotonic() - t0, req.seed, model=self.model, error=error)

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        if not requests:
            return []
        before = self._attempts
        with (
            self._client() as client,
            ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="stability") as pool,
        ):
            refusal = AccountRefusal()
            results = list(pool.map(lambda r: self._one(client, r, refusal), requests))
        ok = sum(1 for r in results if r.ok)
        with self._lock:
            self.usage.append(
                image_usage(
                    self.name,
                    self.model,
                    ok=ok,
                    attempts=self._attempts - before,
                    price_per_image=PRICE_PER_IMAGE.get(self.model),
                )
            )
        return results
