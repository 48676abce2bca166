"""Replicate: one async prediction per keyframe, up to `concurrency` in flight at once, outputs downloaded.

Models: `black-forest-labs/flux-schnell` (default, an official model: no version needed), `stability-ai/sdxl`,
`black-forest-labs/flux-kontext-pro` (takes the subject reference as `input_image`),
`bytedance/sdxl-lightning-4step` (community models: give `owner/name:version` to pin a version; a bare
`owner/name` goes to the model's predictions endpoint). SDXL models derive the end frame from the start frame
(img2img: `image` + `prompt_strength`). `image_generation.params` are passed through as model inputs.

Faults: the client has an explicit timeout; creating a prediction (POST) is retried on 429 and 5xx up to
`max_retries` times (Retry-After honoured, else exponential backoff); polls (GET) are retried on 500/502 by us and
on 429/503/504 by the SDK's own transport. A 4xx answer (bad token, invalid input) is not retried. Each frame has
its own deadline (`timeout_s`); a failed frame is that frame's error and the others carry on, except after an
account-level refusal (401/403 token, 402 billing): the frames not yet sent in that render call fail with the same
reason without being sent.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import time
from typing import Any

import httpx
from storyreel.services.images.providers._common import AccountRefusal, image_usage, nearest_ratio, to_png
from storyreel.services.images.providers.base import ImageRequest, ImageResult
from storyreel.shared.contracts import Usage
from storyreel.shared.errors import ConfigError
from storyreel.shared.replicate_client import explain, retry_transport
from storyreel.shared.settings import ImageGenerationConfig

DEFAULT_MODEL = "black-forest-labs/flux-schnell"
TERMINAL = ("succeeded", "failed", "canceled")
FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
# black-forest-labs/flux-kontext-pro|max: `input_image` is "Image to use as reference" (its replicate.com API page,
# version 0f1178f5, read 2026-12-03), which keeps one subject across frames; its aspect ratios:
KONTEXT_RATIOS = (
    "1:1",
    "16:9",
    "9:16",
    "4:3",
    "3:4",
    "3:2",
    "2:3",
    "4:5",
    "5:4",
    "21:9",
    "9:21",
    "2:1",
    "1:2",
)
# USD per image where Replicate publishes a per-image price; time-billed models get no estimate.
PRICE_PER_IMAGE = {"black-forest-labs/flux-schnell": 0.003}


def model_inputs(model: str, req: ImageRequest, config: ImageGenerationConfig) -> dict[str, Any]:
    """The input dict for one frame, in the parameter names of the model family."""
    family = model.split(":")[0].lower()
    if "kontext" in family:
        kontext: dict[str, Any] = {
            "prompt": req.prompt,
            "aspect_ratio": nearest_ratio(req.width, req.height, KONTEXT_RATIOS),
            "seed": req.seed,
            "output_format": "png",
        }
        if req.reference_image is not None:
            kontext["input_image"] = "data:image/png;base64," + base64.b64encode(req.reference_image).decode()
        kontext.update(config.params)
        return kontext
    if "flux" in family:
        inputs: dict[str, Any] = {
            "prompt": req.prompt,
            "aspect_ratio": nearest_ratio(req.width, req.height, FLUX_RATIOS),
            "seed": req.seed,
            "num_outputs": 1,
            "output_format": "png",
        }
        if config.steps is not None:
            inputs["num_inference_steps"] = min(config.steps, 4)  # flux-schnell takes 1..4
    else:  # the SDXL family
        inputs = {
            "prompt": req.prompt,
            "negative_prompt": req.negative_prompt,
            "width": req.width,
            "height": req.height,
            "seed": req.seed,
            "num_outputs": 1,
        }
        if config.steps is not None:
            inputs["num_inference_steps"] = config.steps
        if config.guidance_scale is not None:
            inputs["guidance_scale"] = config.guidance_scale
        if config.scheduler:
            inputs["scheduler"] = config.scheduler
        if req.init_image is not None:
            inputs["image"] = "data:image/png;base64," + base64.b64encode(req.init_image).decode()
            inputs["prompt_strength"] = req.strength
    inputs.update(config.params)
    return inputs


ACCOUNT_STATUSES = (401, 402, 403)  # the same answer for every frame: stop sending


DEFAULT_BASE_URL = "https://api.replicate.com"  # the SDK's own default


class _FrameFailed(Exception):
    pass


class ReplicateProvider:
    name = "replicate"
    placeholder = False

    def __init__(self, config: ImageGenerationConfig) -> None:
        self.config = config
        self.model = config.model or DEFAULT_MODEL
        self.supports_init_image = "sdxl" in self.model.lower()
        self.supports_reference = "kontext" in self.model.lower()  # input_image: the subject's reference
        self.token = os.environ.get("REPLICATE_API_TOKEN")
        if not self.token:
            raise ConfigError(
                "REPLICATE_API_TOKEN is not set: export REPLICATE_API_TOKEN=r8_... "
                "(from replicate.com/account/api-tokens)"
            )
        self.base_url = config.base_url or os.environ.get("REPLICATE_BASE_URL") or DEFAULT_BASE_URL
        self.poll_interval = float(os.environ.get("REPLICATE_POLL_INTERVAL", "0.5"))
        self.usage: list[Usage] = []
        self._lock = threading.Lock()
        self._ssl = httpx.create_ssl_context()  # loading the CA bundle costs ~25 ms: once per provider

    # ------------------------------------------------------------------ clients
    def _transport(self) -> httpx.AsyncBaseTransport:
        return retry_transport(self.config.max_retries, self._ssl)

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.config.timeout_s, connect=min(10.0, self.config.timeout_s))

    # ------------------------------------------------------------------ the seam
    def render(self, requests: list[ImageRequest]) -> list[ImageResult]:
        if not requests:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._render_all(requests))
        # Called from inside an event loop (an async host): run ours on a thread of its own.
        out: list[list[ImageResult]] = []
        thread = threading.Thread(target=lambda: out.append(asyncio.run(self._render_all(requests))))
        thread.start()
        thread.join()
        return out[0]

    async def _render_all(self, requests: list[ImageRequest]) -> list[ImageResult]:
        import replicate

        client = replicate.Client(
            api_token=self.token, base_url=self.base_url, timeout=self._timeout(), transport=self._transport()
        )
        client.poll_interval = self.poll_interval
        sem = asyncio.Semaphore(self.config.concurrency)
        attempts = [0]
        refusal = AccountRefusal()
        async with httpx.AsyncClient(
            timeout=self._timeout(), transport=self._transport(), follow_redirects=True
        ) as http:
            results = await asyncio.gather(
                *(self._one(client, http, sem, r, attempts, refusal) for r in requests)
            )
        ok = sum(1 for r in results if r.ok)
        with self._lock:
            self.usage.append(
                image_usage(
                    self.name,
                    self.model,
                    ok=ok,
                    attempts=attempts[0],
                    price_per_image=PRICE_PER_IMAGE.get(self.model.split(":")[0]),
                )
            )
        return list(results)

    async def _one(
        self,
        client: Any,
        http: httpx.AsyncClient,
        sem: asyncio.Semaphore,
        req: ImageRequest,
        attempts: list[int],
        refusal: AccountRefusal,
    ) -> ImageResult:
        from replicate.exceptions import ReplicateError, ReplicateException

        async with sem:
            t0 = time.monotonic()
            if refusal.reason is not None:  # the account was refused: this frame is not sent
                return ImageResult(req.frame_id, None, 0.0, req.seed, model=self.model, error=refusal.reason)
            attempts[0] += 1
            error: str
            try:
                png = await asyncio.wait_for(self._render_one(client, http, req), self.config.timeout_s)
                return ImageResult(req.frame_id, png, time.monotonic() - t0, req.seed, model=self.model)
            except TimeoutError:
                error = f"Replicate did not finish the image within {self.config.timeout_s:g} s"
            except _FrameFailed as exc:
                error = str(exc)
            except (ReplicateException, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                error = explain(exc)
                if isinstance(exc, ReplicateError) and exc.status in ACCOUNT_STATUSES:
                    refusal.record(error)
            return ImageResult(
                req.frame_id, None, time.monotonic() - t0, req.seed, model=self.model, error=error
            )

    async def _render_one(self, client: Any, http: httpx.AsyncClient, req: ImageRequest) -> bytes:
        ref = self.model
        # Sync mode (`Prefer: wait=N`): the answer comes back finished when the model is fast, else we poll.
        wait = max(1, min(60, int(self.config.timeout_s)))
        inputs = model_inputs(ref, req, self.config)
        if ":" in ref:
            prediction = await client.predictions.async_create(
                version=ref.split(":", 1)[1], input=inputs, wait=wait
            )
        else:
            # (predictions.async_create(model=...) drops `wait`; the models namespace passes it on)
            prediction = await client.models.predictions.async_create(model=ref, input=inputs, wait=wait)
        while prediction.status not in TERMINAL:
            await asyncio.sleep(self.poll_interval)
            await prediction.async_reload()
        if prediction.status == "failed":
            raise _FrameFailed(f"the model failed: {prediction.error or 'no reason given'}")
        if prediction.status == "canceled":
            raise _FrameFailed("the prediction was canceled")
        output = prediction.output
        url = output[0] if isinstance(output, list) and output else output
        if not isinstance(url, str) or not url:
            raise ValueError(f"no image URL in the prediction output ({type(output).__name__})")
        if url.startswith("data:"):
            return to_png(base64.b64decode(url.split(",", 1)[1]))
        resp = await http.get(url)
        resp.raise_for_status()
        return to_png(resp.content)
