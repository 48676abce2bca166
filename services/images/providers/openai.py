"""OpenAI images (gpt-image-1, dall-e-3, dall-e-2) via `images.generate`, base64 output, frames in parallel.

gpt-image-1 always answers base64 and takes no `response_format`; the DALL-E models are asked for `b64_json`.
Sizes are the nearest size each model accepts to the configured aspect ratio. The SDK retries 408/409/429/5xx
(Retry-After honoured) `max_retries` times with the configured timeout; 4xx (bad key, content policy) is not
retried and becomes that frame's error in plain words. A 401/403 (bad key, no access to the model) would be the
same for every frame: the frames of that render call not yet sent fail with the same reason, unsent.
"""

from __future__ import annotations

import base64
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from storyreel.services.images.providers._common import AccountRefusal, nearest_ratio, to_png
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.shared.contracts import Usage
from storyreel.shared.openai_client import explain, make_client
from storyreel.shared.settings import ImageGenerationConfig

DEFAULT_MODEL = "gpt-image-1"
SIZES = {
    "gpt-image-1": ("1024x1024", "1536x1024", "1024x1536"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
}
# USD per image, standard quality, from OpenAI's published pricing (2025). gpt-image-1 is billed by tokens.
PRICE_PER_IMAGE = {
    ("dall-e-3", "1024x1024"): 0.04,
    ("dall-e-3", "1792x1024"): 0.08,
    ("dall-e-3", "1024x1792"): 0.08,
    ("dall-e-2", "1024x1024"): 0.02,
}
GPT_IMAGE_PER_MTOK = {"input": 5.00, "output": 40.00}


def nearest_size(model: str, width: int, height: int) -> str:
    return nearest_ratio(width, height, tuple(SIZES.get(model, SIZES["gpt-image-1"])), sep="x")


class OpenAIImagesProvider:
    name = "openai"
    placeholder = False
    supports_init_image = False

    def __init__(self, config: ImageGenerationConfig) -> None:
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.usage: list[Usage] = []
        self._client = make_client(config.timeout_s, config.max_retries, base_url=config.base_url)
        self._lock = threading.Lock()

    def _kwargs(self, req: ImageRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "prompt": req.prompt,
            "n": 1,
            "size": nearest_size(self.model, req.width, req.height),
        }
        if not self.model.startswith("gpt-image"):
            kwargs["response_format"] = "b64_json"
        kwargs.update(self.config.params)
        return kwargs

    def _one(self, req: ImageRequest, refusal: AccountRefusal) -> tuple[ImageResult, Any, bool]:
        """The frame's result, (answer, size) for the usage record, and whether a request was sent."""
        import openai

        t0 = time.monotonic()
        if refusal.reason is not None:  # the account was refused: this frame is not sent
            return ImageResult(req.frame_id, None, 0.0, req.seed, self.model, refusal.reason), None, False
        kwargs = self._kwargs(req)
        error: str
        try:
            answer = self._client.images.generate(**kwargs)
            data = answer.data or []
            if not data or not data[0].b64_json:
                raise ValueError("the answer has no b64_json image")
            png = to_png(base64.b64decode(data[0].b64_json, validate=True))
            result = ImageResult(req.frame_id, png, time.monotonic() - t0, req.seed, self.model)
            return result, (answer, kwargs["size"]), True
        except openai.OpenAIError as exc:
            error = explain(exc)
            if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
                refusal.record(error)
        except (ValueError, TypeError, AttributeError) as exc:  # binascii.Error is a ValueError
            error = f"malformed answer from OpenAI: {exc}"
        return ImageResult(req.frame_id, None, time.monotonic() - t0, req.seed, self.model, error), None, True

    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="openai-img") as pool:
            refusal = AccountRefusal()
            triples = list(pool.map(lambda r: self._one(r, refusal), requests))
        results = [r for r, _, _ in triples]
        self._account([extra for _, extra, _ in triples if extra is not None], sum(s for _, _, s in triples))
        return results

    def _account(self, answers: list[tuple[Any, str]], requests: int) -> None:
        tokens_in = tokens_out = 0
        cost: float | None = 0.0
        for answer, size in answers:
            usage = getattr(answer, "usage", None)
            if usage is not None:
                tokens_in += int(getattr(usage, "input_tokens", 0) or 0)
                tokens_out += int(getattr(usage, "output_tokens", 0) or 0)
            if self.model.startswith("gpt-image") and usage is not None:
                cost = (
                    None
                    if cost is None
                    else cost
                    + (
                        (getattr(usage, "input_tokens", 0) or 0) * GPT_IMAGE_PER_MTOK["input"]
                        + (getattr(usage, "output_tokens", 0) or 0) * GPT_IMAGE_PER_MTOK["output"]
                    )
                    / 1_000_000
                )
            else:
                price = PRICE_PER_IMAGE.get((self.model, size))
                cost = None if cost is None or price is None else cost + price
        with self._lock:
            self.usage.append(
                Usage(
                    provider=self.name,
                    model=self.model,
                    stage="images",
                    input_tokens=tokens_in,
                    output_tokens=tokens_out,
                    requests=requests,
                    images=len(answers),
                    cost_usd=round(cost, 6) if cost is not None else None,
                )
            )
