"""Image providers at the wire: Replicate (real SDK), Stability (httpx, REST), OpenAI images (real SDK)."""

from __future__ import annotations

import base64

import pytest
from storyreel.services.images.providers._common import PNG_MAGIC
from storyreel.services.images.providers.base import ImageRequest
from storyreel.services.images.providers.openai import OpenAIImagesProvider
from storyreel.services.images.providers.replicate import ReplicateProvider
from storyreel.services.images.providers.stability import StabilityProvider
from storyreel.shared.errors import ConfigError
from storyreel.shared.settings import ImageGenerationConfig

from testkit.vendors.media import tiny_png
from testkit.vendors.openai import openai_error
from testkit.vendors.replicate import replicate_error
from testkit.vendors.server import Reply
from testkit.vendors.stability import stability_error


def reqs(
    n: int, *, init: bytes | None = None, prompt: str = "a roaster drum in warm light"
) -> list[ImageRequest]:
    return [
        ImageRequest(
            frame_id=f"s{i}-start",
            prompt=f"{prompt} #{i}",
            negative_prompt="text, watermark",
            width=1344,
            height=768,
            seed=1000 + i,
            init_image=init,
            strength=0.55,
        )
        for i in range(1, n + 1)
    ]


def cfg(provider: str, **kw) -> ImageGenerationConfig:
    return ImageGenerationConfig(
        provider=provider, timeout_s=kw.pop("timeout_s", 5), max_retries=kw.pop("max_retries", 2), **kw
    )


# =========================================================================== Replicate
def test_replicate_flux_official_model_inputs_auth_and_download(replicate_server) -> None:
    provider = ReplicateProvider(cfg("replicate", concurrency=3))
    results = provider.render(reqs(6))
    assert [r.frame_id for r in results] == [f"s{i}-start" for i in range(1, 7)]
    assert all(r.ok and r.png.startswith(PNG_MAGIC) for r in results)

    creates = replicate_server.matching("POST", "/v1/models/black-forest-labs/flux-schnell/predictions")
    assert len(creates) == 6
    (first,) = [c for c in creates if c.json["input"]["prompt"].endswith("#1")]  # arrival order varies
    assert first.headers["authorization"] == "Bearer r8_test_token"
    assert first.headers["prefer"].startswith("wait=")
    assert first.json["input"] == {
        "prompt": "a roaster drum in warm light #1",
        "aspect_ratio": "16:9",
        "seed": 1001,
        "num_outputs": 1,
        "output_format": "png",
    }
    assert len(replicate_server.matching("GET", "/files/.*")) == 6
    assert provider.usage[0].images == 6 and provider.usage[0].cost_usd == pytest.approx(0.018)


def test_replicate_in_flight_is_bounded_by_concurrency(replicate_server) -> None:
    replicate_server.latency = 0.3
    ReplicateProvider(cfg("replicate", concurrency=3)).render(reqs(7))
    assert replicate_server.peak_in_flight == 3  # never more than asked, and really in parallel


def test_replicate_sdxl_version_and_img2img_end_frame(replicate_server) -> None:
    start_png = tiny_png()
    provider = ReplicateProvider(
        cfg(
            "replicate",
            model="stability-ai/sdxl:abc123",
            steps=30,
            guidance_scale=7.5,
            params={"refine": "no_refiner"},
        )
    )
    assert provider.supports_init_image
    (res,) = provider.render(reqs(1, init=start_png))
    assert res.ok
    (create,) = replicate_server.matching("POST", "/v1/predictions")
    body = create.json
    assert body["version"] == "abc123"
    inp = body["input"]
    assert (inp["width"], inp["height"], inp["seed"]) == (1344, 768, 1001)
    assert inp["negative_prompt"] == "text, watermark"
    assert inp["num_inference_steps"] == 30 and inp["guidance_scale"] == 7.5 and inp["refine"] == "no_refiner"
    assert inp["prompt_strength"] == 0.55
    assert base64.b64decode(inp["image"].split(",", 1)[1]) == start_png


def test_replicate_429_with_retry_after_then_ok(replicate_server) -> None:
    replicate_server.fault(
        "create-model", Reply(429, {"detail": "throttled", "status": 429}, headers={"Retry-After": "1"})
    )
    (res,) = ReplicateProvider(cfg("replicate")).render(reqs(1))
    assert res.ok
    first, second = replicate_server.matching("POST", "/v1/models/.*/predictions")
    assert second.at - first.at >= 0.95


def test_replicate_500_then_ok_and_poll_500_then_ok(replicate_server) -> None:
    replicate_server.latency = 0.2
    replicate_server.fault("create-model", replicate_error(500, "internal"))
    replicate_server.fault("get", replicate_error(500, "internal"))
    (res,) = ReplicateProvider(cfg("replicate")).render(reqs(1))
    assert res.ok, res.error
    assert len(replicate_server.matching("POST", "/v1/models/.*/predictions")) == 2


def test_replicate_failures_are_per_frame_and_the_rest_complete(replicate_server) -> None:
    replicate_server.fail_prompts["#2"] = (
        "NSFW content detected. Try running it again, or try a different prompt."
    )
    results = ReplicateProvider(cfg("replicate", concurrency=1)).render(reqs(3))
    assert [r.ok for r in results] == [True, False, True]
    assert "NSFW content detected" in results[1].error and results[1].png is None


def test_replicate_bad_token_is_not_retried(replicate_server) -> None:
    replicate_server.fault(
        "create-model",
        replicate_error(401, "You did not pass a valid authentication token", "Unauthenticated"),
    )
    (res,) = ReplicateProvider(cfg("replicate", max_retries=3)).render(reqs(1))
    assert res.error == "Replicate rejected the API token (401): check REPLICATE_API_TOKEN"
    assert len(replicate_server.matching("POST", "/v1/models/.*/predictions")) == 1


def test_replicate_malformed_body_is_a_frame_error(replicate_server) -> None:
    replicate_server.fault("create-model", Reply(201, "{oops"))
    results = ReplicateProvider(cfg("replicate", concurrency=1)).render(reqs(2))
    assert not results[0].ok and "malformed answer from Replicate" in results[0].error
    assert results[1].ok


def test_replicate_frame_deadline(replicate_server) -> None:
    replicate_server.never_finish = True
    (res,) = ReplicateProvider(cfg("replicate", timeout_s=0.5)).render(reqs(1))
    assert res.error == "Replicate did not finish the image within 0.5 s"


def test_replicate_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="REPLICATE_API_TOKEN is not set: export REPLICATE_API_TOKEN="):
        ReplicateProvider(cfg("replicate"))


# =========================================================================== Stability
def test_stability_multipart_fields_and_headers(stability_server) -> None:
    provider = StabilityProvider(cfg("stability"))
    (res,) = provider.render(reqs(1))
    assert res.ok and res.png.startswith(PNG_MAGIC)
    (req,) = stability_server.seen("POST /v2beta/stable-image/generate/core")
    assert req.headers["authorization"] == "Bearer sk-stability-test"
    assert req.headers["accept"] == "image/*"
    assert req.headers["content-type"].startswith("multipart/form-data")
    assert req.form["prompt"] == ["a roaster drum in warm light #1"]
    assert req.form["negative_prompt"] == ["text, watermark"]
    assert req.form["aspect_ratio"] == ["16:9"] and req.form["seed"] == ["1001"]
    assert req.form["output_format"] == ["png"]
    assert provider.usage[0].cost_usd == pytest.approx(0.03)


def test_stability_sd3_image_to_image(stability_server) -> None:
    start_png = tiny_png()
    provider = StabilityProvider(cfg("stability", model="sd3.5-large"))
    assert provider.supports_init_image
    (res,) = provider.render(reqs(1, init=start_png))
    assert res.ok
    (req,) = stability_server.seen("POST /v2beta/stable-image/generate/sd3")
    assert req.form["model"] == ["sd3.5-large"] and req.form["mode"] == ["image-to-image"]
    assert req.form["strength"] == ["0.55"] and "aspect_ratio" not in req.form
    assert req.files["image"][1] == start_png


def test_stability_retries_429_and_500(stability_server) -> None:
    stability_server.fault(
        "generate",
        Reply(
            429,
            {"id": "r", "name": "rate_limit_exceeded", "errors": ["slow down"]},
            headers={"retry-after": "1"},
        ),
        stability_error(500, "internal_error", "oops"),
    )
    (res,) = StabilityProvider(cfg("stability", max_retries=2)).render(reqs(1))
    assert res.ok
    a, b, _c = stability_server.seen("POST /v2beta/stable-image/generate/core")
    assert b.at - a.at >= 0.95


def test_stability_gives_up_after_max_retries(stability_server) -> None:
    stability_server.fault("generate", *[stability_error(503, "unavailable", "down")] * 3)
    (res,) = StabilityProvider(cfg("stability", max_retries=1)).render(reqs(1))
    assert res.error == "Stability failed with HTTP 503 after retries"
    assert len(stability_server.seen("POST /v2beta/stable-image/generate/core")) == 2


def test_stability_4xx_in_plain_words_not_retried(stability_server) -> None:
    stability_server.fault(
        "generate",
        stability_error(
            403, "content_moderation", "Your request was flagged by our content moderation system"
        ),
        stability_error(400, "invalid_prompts", "prompt too long"),
    )
    results = StabilityProvider(cfg("stability", concurrency=1)).render(reqs(3))
    assert results[0].error == (
        "Stability refused the prompt under its content moderation: "
        "Your request was flagged by our content moderation system"
    )
    assert results[1].error == "Stability rejected the request (HTTP 400): invalid_prompts: prompt too long"
    assert results[2].ok  # per-frame refusals do not stop the others
    assert len(stability_server.seen("POST /v2beta/stable-image/generate/core")) == 3


def test_stability_content_filtered_and_malformed_image(stability_server) -> None:
    stability_server.fault(
        "generate",
        Reply(200, tiny_png(), headers={"content-type": "image/png", "finish-reason": "CONTENT_FILTERED"}),
        Reply(200, b"<html>not an image</html>", headers={"content-type": "image/png"}),
    )
    results = StabilityProvider(cfg("stability", concurrency=1)).render(reqs(2))
    assert "content filter blocked" in results[0].error
    assert results[1].error.startswith("malformed answer from Stability")


def test_stability_timeout_is_retried_then_reported(stability_server) -> None:
    stability_server.fault("generate", Reply(200, None, delay=1.0), Reply(200, None, delay=1.0))
    (res,) = StabilityProvider(cfg("stability", timeout_s=0.3, max_retries=1)).render(reqs(1))
    assert res.error == "Stability did not answer within 0.3 s"


# =========================================================================== OpenAI images
def test_openai_gpt_image_request_and_b64(openai_server) -> None:
    provider = OpenAIImagesProvider(cfg("openai"))
    results = provider.render(reqs(2))
    assert all(r.ok and r.png.startswith(PNG_MAGIC) for r in results)
    body = openai_server.seen("POST /v1/images/generations")[0].json
    assert body["model"] == "gpt-image-1" and body["size"] == "1536x1024" and body["n"] == 1
    assert "response_format" not in body
    usage = provider.usage[0]
    assert usage.images == 2 and usage.output_tokens == 2 * 1056
    assert usage.cost_usd == pytest.approx(2 * (50 * 5 + 1056 * 40) / 1e6)


def test_openai_dalle3_asks_b64(openai_server) -> None:
    provider = OpenAIImagesProvider(cfg("openai", model="dall-e-3"))
    (res,) = provider.render(reqs(1))
    body = openai_server.seen("POST /v1/images/generations")[0].json
    assert body["response_format"] == "b64_json" and body["size"] == "1792x1024"
    assert res.ok and provider.usage[0].cost_usd == pytest.approx(0.08)


def test_openai_images_faults_per_frame(openai_server) -> None:
    openai_server.fault(
        "images",
        openai_error(
            400,
            "Your request was rejected as a result of our safety system.",
            "image_generation_user_error",
            "content_policy_violation",
        ),
        Reply(
            429,
            {"error": {"message": "Rate limit", "type": "requests", "code": None, "param": None}},
            headers={"retry-after": "1"},
        ),
        Reply(200, {"created": 0, "data": [{"b64_json": "!!!not base64"}]}),
    )
    results = OpenAIImagesProvider(cfg("openai", concurrency=1)).render(reqs(3))
    assert results[0].error.startswith("OpenAI refused the prompt under its content policy")
    # frame 2 waited out the 429, and its retry got the malformed body; frame 3 is fine
    assert results[1].error.startswith("malformed answer from OpenAI")
    assert results[2].ok
    first, retry = openai_server.seen("POST /v1/images/generations")[1:3]
    assert retry.at - first.at >= 0.95
    assert len(openai_server.seen("POST /v1/images/generations")) == 4


def test_stability_connection_failures_are_retried_once_not_twice(monkeypatch) -> None:
    """The transport retries connections (max_retries); the request loop must not retry them again."""
    import socket

    from httpcore._backends.sync import SyncBackend

    attempts = []
    real = SyncBackend.connect_tcp

    def counting(self, host, port, *args, **kwargs):
        attempts.append((host, port))
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(SyncBackend, "connect_tcp", counting)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("STABILITY_API_KEY", "sk-test")
    provider = StabilityProvider(cfg("stability", base_url=f"http://127.0.0.1:{port}", max_retries=2))
    (res,) = provider.render(reqs(1))
    assert not res.ok and "cannot reach Stability" in res.error
    assert len(attempts) == 3  # 1 + max_retries connection attempts by the transport, no outer loop on top
