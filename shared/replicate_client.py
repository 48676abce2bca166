"""The one way storyreel builds Replicate's transport and explains its errors (the images and clips providers
share it).

The SDK's client wraps the transport it is given in its own RetryTransport that retries GETs (the polls) on
429/503/504. Under it we retry creates (POST) on 429 and 5xx, Retry-After honoured, else exponential backoff,
and polls on 500/502 too, each `max_retries` times; connection failures are retried by httpx. A 4xx answer
(bad token, invalid input) is not retried.
"""

from __future__ import annotations

import ssl

import httpx

CREATE_RETRY_STATUSES = [429, 500, 502, 503, 504]
POLL_RETRY_STATUSES = [500, 502]  # the SDK's own transport adds 429/503/504 for GETs


def retry_transport(max_retries: int, verify: ssl.SSLContext) -> httpx.AsyncBaseTransport:
    """The async transport for replicate.Client (and for downloading outputs) with our retry policy."""
    from replicate.client import RetryTransport

    attempts = max_retries + 1
    base = httpx.AsyncHTTPTransport(verify=verify, retries=max_retries)  # connection failures
    posts = RetryTransport(
        base,
        max_attempts=attempts,
        retryable_methods=["POST"],
        retry_status_codes=CREATE_RETRY_STATUSES,
        backoff_factor=0.5,
    )
    return RetryTransport(
        posts,
        max_attempts=attempts,
        retryable_methods=["GET"],
        retry_status_codes=POLL_RETRY_STATUSES,
        backoff_factor=0.5,
    )


def explain(exc: Exception, output: str = "the output") -> str:
    """One line for a failed Replicate call (`output`: what a failed download was fetching)."""
    from replicate.exceptions import ModelError, ReplicateError

    if isinstance(exc, ReplicateError):
        detail = exc.detail or exc.title or ""
        if exc.status == 401:
            return "Replicate rejected the API token (401): check REPLICATE_API_TOKEN"
        if exc.status == 403:
            return f"Replicate refused access (403): {detail}".rstrip(": ")
        if exc.status == 402:
            return f"Replicate refused: billing required (402) {detail}".strip()
        if exc.status == 404:
            hint = " (a community model needs its version: owner/name:version)"
            return f"Replicate model or version not found (404): {detail}{hint}"
        if exc.status == 422:
            return f"Replicate rejected the model input (422): {detail}"
        if exc.status == 429:
            return "Replicate rate limit (429), still limited after retries"
        if exc.status is not None and exc.status >= 500:
            return f"Replicate failed with HTTP {exc.status} after retries"
        return f"Replicate error (HTTP {exc.status}): {detail}"
    if isinstance(exc, ModelError):
        return f"the model failed: {exc.prediction.error}"
    if isinstance(exc, httpx.TimeoutException):
        return "Replicate did not answer in time"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"downloading {output} failed with HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return f"cannot reach Replicate ({type(exc).__name__})"
    return f"malformed answer from Replicate ({exc})"
