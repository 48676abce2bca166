"""The one way storyreel builds an OpenAI client and explains its errors (transcribe, scenes and images share it).

The SDK reads OPENAI_API_KEY and OPENAI_BASE_URL itself; a base URL pointing at Ollama, vLLM or LM Studio works
the same way. Precedence: an explicit config key (image_generation.base_url, for OpenAI images) > OPENAI_BASE_URL >
the SDK's default; nothing here substitutes a default of its own. Timeouts and retries always come from our config, never the SDK's defaults: the SDK retries
408/409/429/5xx with exponential backoff and honours Retry-After (up to 2 minutes); 4xx answers are not retried.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from storyreel.shared.errors import ConfigError, ProviderError

if TYPE_CHECKING:
    from openai import OpenAI


MISSING_KEY = (
    "OPENAI_API_KEY is not set: export OPENAI_API_KEY=sk-... (for a local OpenAI-compatible server such as "
    "Ollama or vLLM, setting OPENAI_BASE_URL alone is enough)"
)


DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's own default


def effective_base_url(base_url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The URL a client made by make_client() talks to: an explicit config key > OPENAI_BASE_URL > the SDK's
    default (for doctor and error messages; make_client passes None on to the SDK when neither is set)."""
    environ = os.environ if environ is None else environ
    return (base_url or environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def make_client(
    timeout_s: float, max_retries: int, base_url: str | None = None, environ: Mapping[str, str] | None = None
) -> OpenAI:
    """An SDK client; builds no connection (the first request does), so a missing key is a ConfigError here,
    before any audio is sent anywhere."""
    environ = os.environ if environ is None else environ
    api_key = environ.get("OPENAI_API_KEY")
    base = base_url or environ.get("OPENAI_BASE_URL") or None
    if not api_key:
        if base is None:
            raise ConfigError(MISSING_KEY)
        api_key = "not-needed"  # local OpenAI-compatible servers (Ollama, vLLM) accept any key
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base, timeout=timeout_s, max_retries=max_retries)


def _body_message(body: Any) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return ""


def explain(exc: Exception) -> str:
    """One line, in plain words, for an error out of the OpenAI SDK."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "OpenAI did not answer in time (request timed out after the configured retries)"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the OpenAI API ({exc.request.url.host if exc.request else 'unknown host'})"
    if isinstance(exc, openai.AuthenticationError):
        return "OpenAI rejected the API key (401): check OPENAI_API_KEY"
    if isinstance(exc, openai.PermissionDeniedError):
        return f"OpenAI refused access (403): {_body_message(exc.body) or exc.message}"
    if isinstance(exc, openai.RateLimitError):
        return "OpenAI rate limit or quota exceeded (429), still limited after retries"
    if isinstance(exc, openai.BadRequestError):
        code = exc.code or ""
        msg = _body_message(exc.body) or exc.message
        if "content_policy" in code or "moderation" in code or "safety" in code:
            return f"OpenAI refused the prompt under its content policy: {msg}"
        return f"OpenAI rejected the request (400): {msg}"
    if isinstance(exc, openai.NotFoundError):
        return f"OpenAI model or endpoint not found (404): {_body_message(exc.body) or exc.message}"
    if isinstance(exc, openai.APIStatusError):
        return f"OpenAI failed with HTTP {exc.status_code} after retries: {_body_message(exc.body) or exc.message}"
    if isinstance(exc, openai.APIResponseValidationError):
        return "malformed answer from OpenAI: the body does not match its API"
    if isinstance(exc, ValueError):  # json.JSONDecodeError out of the SDK's response parsing
        return f"malformed answer from OpenAI: the body is not valid JSON ({exc})"
    return f"OpenAI error: {exc}"


def retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)  # includes timeouts


def provider_error(exc: Exception, what: str) -> ProviderError:
    return ProviderError(f"{what}: {explain(exc)}", provider="openai", retryable=retryable(exc))


def openai_errors() -> tuple[type[Exception], ...]:
    """What a call into the SDK can raise for a bad answer: its own errors and a body that is not JSON."""
    import openai

    return (openai.OpenAIError, ValueError)
