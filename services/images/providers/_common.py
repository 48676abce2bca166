"""Helpers the API image providers share: PNG normalisation, aspect ratios, Retry-After, usage totals, and the
account-level refusal that stops a render call from re-sending a bad key for every frame."""

from __future__ import annotations

import io
import threading

from storyreel.shared.contracts import Usage
from storyreel.shared.retry import retry_after_seconds as shared_retry_after

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_RETRY_AFTER_S = 120.0


def to_png(data: bytes) -> bytes:
    """PNG bytes as they are; JPEG/WebP converted with Pillow; anything else is a malformed answer."""
    if data.startswith(PNG_MAGIC):
        return data
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            out = io.BytesIO()
            img.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"the image body is not an image ({len(data)} bytes)") from exc


def nearest_ratio(width: int, height: int, choices: tuple[str, ...], sep: str = ":") -> str:
    """The choice ("16:9", or "1536x1024" with sep="x") whose aspect ratio is nearest width/height."""
    want = width / height

    def dist(r: str) -> float:
        a, b = r.split(sep)
        return abs(int(a) / int(b) - want)

    return min(choices, key=dist)


def retry_after_seconds(value: str | None) -> float | None:
    """The Retry-After wait, capped at two minutes (an image is not worth a longer wait)."""
    return shared_retry_after(value, cap=MAX_RETRY_AFTER_S)


def backoff_seconds(attempt: int, base: float = 0.5, cap: float = 8.0) -> float:
    return min(base * (2**attempt), cap)


def image_usage(provider: str, model: str, *, ok: int, attempts: int, price_per_image: float | None) -> Usage:
    return Usage(
        provider=provider,
        model=model,
        stage="images",
        requests=attempts,
        images=ok,
        cost_usd=round(price_per_image * ok, 6) if price_per_image is not None else None,
    )


class AccountRefusal:
    """The first account-level refusal (401/403 bad key or no access, 402 no credits) in one render call.

    Such an answer would be the same for every frame, so the frames not yet sent fail with the same reason
    without being sent. Per-frame refusals (content policy, invalid input) are never recorded here."""

    def __init__(self) -> None:
        self._reason: str | None = None
        self._lock = threading.Lock()

    @property
    def reason(self) -> str | None:
        return self._reason

    def record(self, reason: str) -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason
