"""Replicate clips: one prediction per scene, from its start and end keyframe (services/clips/models.py names each
model's input fields and what it makes), up to `max_concurrency` in flight, polled here; the cloud path creates
the prediction with a webhook instead (`start`) and the webhook Lambda downloads the output (`download`).

The keyframes go up through the SDK's file upload (POST /v1/files; the prediction gets their URLs). Creating a
prediction is retried on 429/5xx (the SDK's RetryTransport), polls on 500/502 (ours) and 429/503/504 (the SDK's).
Each clip has its own deadline (`clips.timeout_s`); a failed clip is that clip's error and the others carry on.
Every download is bounded by `clips.max_bytes` and must be an MP4 (an `ftyp` box).
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from typing import Any

import httpx
from storyreel.services.clips.models import ClipModel, clip_model, plan_clip
from storyreel.services.clips.providers.base import ClipRequest, ClipResult
from storyreel.shared import replicate_client
from storyreel.shared.contracts import Usage
from storyreel.shared.errors import ConfigError
from storyreel.shared.settings import ClipsConfig

DEFAULT_BASE_URL = "https://api.replicate.com"  # the SDK's own default
TERMINAL = ("succeeded", "failed", "canceled")


class ClipFailed(Exception):
    """One clip failed; the message is its reason (one line)."""


def is_mp4(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] == b"ftyp"


def explain(exc: Exception) -> str:
    return replicate_client.explain(exc, output="the clip")


def output_url(output: object) -> str:
    url = output[0] if isinstance(output, list) and output else output
    if not isinstance(url, str) or not url:
        raise ClipFailed(f"no video URL in the prediction output ({type(output).__name__})")
    return url


async def download(http: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    """The clip at `url`, read up to `max_bytes` (more is refused, not truncated); it must be an MP4."""
    async with http.stream("GET", url) as resp:
        resp.raise_for_status()
        declared = resp.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise ClipFailed(
                f"the clip is {int(declared):,} bytes, more than clips.max_bytes ({max_bytes:,})"
            )
        buf = bytearray()
        async for chunk in resp.aiter_bytes():
            buf += chunk
            if len(buf) > max_bytes:
                raise ClipFailed(f"the clip is more than clips.max_bytes ({max_bytes:,} bytes)")
    if not is_mp4(bytes(buf[:12])):
        raise ClipFailed(f"the clip is not an MP4 ({len(buf)} bytes)")
    return bytes(buf)


class ReplicateClips:
    name = "replicate"

    def __init__(self, config: ClipsConfig) -> None:
        self.config = config
        self.spec: ClipModel = clip_model(config.model)
        self.model = config.model or self.spec.name
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
        # Paid once, when the provider is built (at the run's setup), not by the first clip: the SDK's import
        # and the CA bundle (~25 ms each time an SSL context is made).
        import replicate  # noqa: F401

        self._ssl = httpx.create_ssl_context()
        if (
            config.seconds is not None or config.resolution is not None
        ):  # explicit: refused now, not per scene
            plan_clip(
                self.spec, config.seconds or self.spec.default_duration, config.seconds, config.resolution
            )

    # ------------------------------------------------------------------ what each clip asks for
    def plan(self, req: ClipRequest) -> tuple[int, str | None]:
        return plan_clip(self.spec, req.scene_seconds, self.config.seconds, self.config.resolution)

    def check(self, requests: list[ClipRequest]) -> None:
        for req in requests:
            try:
                self.plan(req)
            except ConfigError as exc:
                raise ConfigError(f"scene {req.scene_index}: {exc}") from None

    async def inputs(self, client: Any, req: ClipRequest) -> dict[str, Any]:
        """The model's inputs for one clip; both keyframes uploaded first, at once (POST /v1/files through the
        SDK), the prediction naming their URLs."""
        seconds, resolution = self.plan(req)
        spec = self.spec
        start, end = await asyncio.gather(
            client.files.async_create(_upload(req.start_png, f"s{req.scene_index}-start.png")),
            client.files.async_create(_upload(req.end_png, f"s{req.scene_index}-end.png")),
        )
        inputs: dict[str, Any] = {
            "prompt": req.prompt,
            spec.start_field: start.urls["get"],
            spec.end_field: end.urls["get"],
            spec.duration_field: seconds,
        }
        if spec.resolution_field is not None and resolution is not None:
            inputs[spec.resolution_field] = resolution
        inputs.update(self.config.params)
        return inputs

    def cost(self, seconds: float) -> float | None:
        price = self.spec.price_per_s
        return round(price * seconds, 6) if price is not None else None

    # ------------------------------------------------------------------ clients
    def client(self) -> Any:
        import replicate

        transport = replicate_client.retry_transport(self.config.max_retries, self._ssl)
        client = replicate.Client(
            api_token=self.token, base_url=self.base_url, timeout=self._timeout(), transport=transport
        )
        client.poll_interval = self.poll_interval
        return client

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(min(120.0, self.config.timeout_s), connect=10.0)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._timeout(), follow_redirects=True, verify=self._ssl)

    # ------------------------------------------------------------------ the cloud path: a webhook per clip
    async def start(self, req: ClipRequest, webhook: str) -> str:
        """Create the prediction with `webhook` called when it completes; returns its id."""
        client = self.client()
        prediction = await client.models.predictions.async_create(
            model=self.spec.name,
            input=await self.inputs(client, req),
            webhook=webhook,
            webhook_events_filter=["completed"],
        )
        return str(prediction.id)

    # ------------------------------------------------------------------ the local path: polled
    def generate(self, requests: list[ClipRequest]) -> list[ClipResult]:
        if not requests:
            return []
        self.check(requests)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._all(requests))
        out: list[list[ClipResult]] = []
        thread = threading.Thread(target=lambda: out.append(asyncio.run(self._all(requests))))
        thread.start()
        thread.join()
        return out[0]

    async def _all(self, requests: list[ClipRequest]) -> list[ClipResult]:
        client = self.client()
        sem = asyncio.Semaphore(self.config.max_concurrency)
        async with self.http() as http:
            results = await asyncio.gather(*(self._one(client, http, sem, r) for r in requests))
        done = [r for r in results if r.ok]
        costs = [r.cost_usd for r in done]
        with self._lock:
            self.usage.append(
                Usage(
                    provider=self.name,
                    model=self.model,
                    stage="clips",
                    requests=len(requests),
                    cost_usd=round(sum(c for c in costs if c is not None), 6)
                    if done and all(c is not None for c in costs)
                    else None,
                )
            )
        return list(results)

    async def _one(
        self, client: Any, http: httpx.AsyncClient, sem: asyncio.Semaphore, req: ClipRequest
    ) -> ClipResult:
        from replicate.exceptions import ReplicateException

        seconds, resolution = self.plan(req)
        async with sem:
            t0 = time.monotonic()
            pid: list[str] = []
            try:
                mp4 = await asyncio.wait_for(self._make(client, http, req, pid), self.config.timeout_s)
                return ClipResult(
                    req.scene_index,
                    mp4,
                    float(seconds),
                    resolution,
                    time.monotonic() - t0,
                    model=self.model,
                    prediction_id=pid[0] if pid else None,
                    cost_usd=self.cost(seconds),
                )
            except TimeoutError:
                error = f"Replicate did not finish the clip within {self.config.timeout_s:g} s"
            except ClipFailed as exc:
                error = str(exc)
            except (ReplicateException, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                error = explain(exc)
            return ClipResult(
                req.scene_index,
                None,
                float(seconds),
                resolution,
                time.monotonic() - t0,
                model=self.model,
                prediction_id=pid[0] if pid else None,
                error=error,
            )

    async def _make(self, client: Any, http: httpx.AsyncClient, req: ClipRequest, pid: list[str]) -> bytes:
        prediction = await client.models.predictions.async_create(
            model=self.spec.name,
            input=await self.inputs(client, req),
            # sync mode (`Prefer: wait=N`): a clip done within N s comes back finished, else it is polled
            wait=max(1, min(60, int(self.config.timeout_s))),
        )
        pid.append(str(prediction.id))
        while prediction.status not in TERMINAL:
            await asyncio.sleep(self.poll_interval)
            await prediction.async_reload()
        if prediction.status == "failed":
            raise ClipFailed(f"the model failed: {prediction.error or 'no reason given'}")
        if prediction.status == "canceled":
            raise ClipFailed("the prediction was canceled")
        return await download(http, output_url(prediction.output), self.config.max_bytes)


def _upload(png: bytes, name: str) -> io.BytesIO:
    """A keyframe as a file the SDK uploads (POST /v1/files) and replaces with its URL."""
    f = io.BytesIO(png)
    f.name = name
    return f
