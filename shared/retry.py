"""What every outside-service client needs to honour a 429: the wait its Retry-After header asks for."""

from __future__ import annotations

import email.utils
import time


def retry_after_seconds(value: str | None, cap: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), at most `cap`; None when absent or
    unreadable (the caller then backs off on its own schedule)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = max(float(value), 0.0)
    except ValueError:
        try:
            seconds = max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            return None
    return seconds if cap is None else min(seconds, cap)
