"""Replicate's webhooks: the signing secret (the SDK asks Replicate for it with the API token, once per sandbox)
and the check of each delivery (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature; HMAC-SHA256
with the whsec_ secret; a timestamp more than 5 minutes off is refused), done by the `standardwebhooks` package."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

from storyreel.shared.errors import ConfigError

MAX_BODY_BYTES = 1024 * 1024  # a prediction's JSON (its output is a URL); past this a delivery is refused


class BadWebhook(Exception):
    """The delivery is not a genuine, well-formed Replicate webhook (answered 4xx)."""


@cache
def signing_secret(base_url: str | None = None) -> str:
    """The account's webhook signing secret (GET /v1/webhooks/default/secret, through the SDK)."""
    import replicate

    token = os.environ.get("REPLICATE_API_TOKEN")
    if not token:
        raise ConfigError("REPLICATE_API_TOKEN is not set: the webhook's signing secret is read with it")
    client = replicate.Client(api_token=token, base_url=base_url or os.environ.get("REPLICATE_BASE_URL"))
    return str(client.webhooks.default.secret().key)


def verify(body: bytes, headers: dict[str, str], secret: str) -> dict[str, Any]:
    """The delivery's prediction, when its signature and timestamp check out; BadWebhook otherwise."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    if len(body) > MAX_BODY_BYTES:
        raise BadWebhook(f"body of {len(body):,} bytes is past the {MAX_BODY_BYTES:,} a prediction takes")
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        payload = Webhook(secret).verify(body.decode("utf-8"), lowered)
    except WebhookVerificationError as exc:
        raise BadWebhook(f"signature check failed: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadWebhook(f"body is not JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise BadWebhook("body is not a prediction (no id)")
    return payload
