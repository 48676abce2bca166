"""`storyreel doctor`: which providers the settings use, which keys are missing, and a cheap live check of each.

Live checks cost nothing: OpenAI `GET /v1/models`, Replicate `GET /v1/account`, Stability `GET /v1/user/account`,
each with a short timeout and no retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from shared.settings import Settings

Status = Literal["ok", "missing", "fail", "unused", "local"]
CHECK_TIMEOUT_S = 10.0


@dataclass
class Check:
    provider: str  # openai, replicate, stability, local
    used_for: str  # "transcribe, context, scenes" or "-"
    status: Status
    detail: str
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "unused", "local")


def _uses(settings: Settings) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {"openai": [], "replicate": [], "stability": [], "local": []}
    used["openai" if settings.transcription.provider == "openai" else "local"].append("transcribe")
    used["openai" if settings.llm.provider == "openai" else "local"].append("context+scenes")
    if settings.images_enabled:
        image = settings.image_generation.provider
        used.setdefault(image if image in used else "local", []).append(f"images ({image})")
    return used


def _openai_live(environ: Mapping[str, str]) -> str:
    import openai

    client = openai.OpenAI(
        api_key=environ.get("OPENAI_API_KEY") or "not-needed",
        base_url=environ.get("OPENAI_BASE_URL") or None,
        timeout=CHECK_TIMEOUT_S,
        max_retries=0,
    )
    models = client.models.list()
    ids = [m.id for m in models.data]
    return f"{len(ids)} models visible" + (
        f" at {environ['OPENAI_BASE_URL']}" if environ.get("OPENAI_BASE_URL") else ""
    )


def _replicate_live(environ: Mapping[str, str]) -> str:
    import httpx
    import replicate

    client = replicate.Client(
        api_token=environ["REPLICATE_API_TOKEN"],
        base_url=environ.get("REPLICATE_BASE_URL") or None,
        timeout=httpx.Timeout(CHECK_TIMEOUT_S),
    )
    account = client.accounts.current()
    return f"account {account.username}"


def _stability_live(environ: Mapping[str, str], base_url: str | None) -> str:
    import httpx

    base = (base_url or environ.get("STABILITY_BASE_URL") or "https://api.stability.ai").rstrip("/")
    resp = httpx.get(
        f"{base}/v1/user/account",
        headers={"Authorization": f"Bearer {environ['STABILITY_API_KEY']}"},
        timeout=CHECK_TIMEOUT_S,
    )
    if resp.status_code != 200:
        from services.images.providers.stability import error_message

        raise RuntimeError(error_message(resp))
    resp.json()
    return "account reachable"


def _explain(provider: str, exc: Exception) -> str:
    if provider == "openai":
        from services.openai_client import explain

        return explain(exc)
    if provider == "replicate":
        from services.images.providers.replicate import explain

        return explain(exc)
    return str(exc)


def _live(provider: str, fn: Callable[[], str], used_for: str) -> Check:
    import httpx

    errors: tuple[type[Exception], ...] = (httpx.HTTPError, ValueError, RuntimeError, KeyError)
    try:
        import openai
        import replicate.exceptions

        errors = (*errors, openai.OpenAIError, replicate.exceptions.ReplicateException)
    except ImportError:
        pass
    t0 = time.monotonic()
    try:
        detail = fn()
    except errors as exc:
        return Check(provider, used_for, "fail", _explain(provider, exc), round(time.monotonic() - t0, 3))
    return Check(provider, used_for, "ok", detail, round(time.monotonic() - t0, 3))


def run_doctor(settings: Settings, environ: Mapping[str, str], *, live: bool = True) -> list[Check]:
    used = _uses(settings)
    checks: list[Check] = []
    if used["local"]:
        checks.append(
            Check("local", ", ".join(used["local"]), "local", "embedded defaults: no key, no network")
        )

    vendors: list[tuple[str, str, bool, Callable[[], str]]] = [
        (
            "openai",
            "OPENAI_API_KEY",
            bool(environ.get("OPENAI_BASE_URL")),  # a local OpenAI-compatible server needs no key
            lambda: _openai_live(environ),
        ),
        ("replicate", "REPLICATE_API_TOKEN", False, lambda: _replicate_live(environ)),
        (
            "stability",
            "STABILITY_API_KEY",
            False,
            lambda: _stability_live(environ, settings.image_generation.base_url),
        ),
    ]
    for provider, key, keyless_ok, probe in vendors:
        used_for = ", ".join(used.get(provider, [])) or "-"
        has_key = bool(environ.get(key)) or keyless_ok
        if used_for == "-":
            state = "key set" if environ.get(key) else "no key"
            checks.append(Check(provider, used_for, "unused", f"not used by these settings ({key}: {state})"))
        elif not has_key:
            checks.append(Check(provider, used_for, "missing", f"{key} is not set"))
        elif not live:
            checks.append(Check(provider, used_for, "ok", f"{key} set (live check skipped)"))
        else:
            checks.append(_live(provider, probe, used_for))
    image = settings.image_generation.provider
    if settings.images_enabled and image in ("diffusers", "batch"):
        checks.append(Check(image, f"images ({image})", "local", "GPU provider: not checked by doctor"))
    return checks


def format_checks(checks: list[Check]) -> str:
    rows = [("provider", "used for", "status", "time", "detail")]
    for c in checks:
        rows.append(
            (c.provider, c.used_for, c.status, f"{c.seconds:.2f}s" if c.seconds is not None else "", c.detail)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(r[j].ljust(widths[j]) for j in range(4)) + "  " + r[4])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    bad = [c for c in checks if not c.ok]
    lines.append("")
    lines.append(
        "all providers ready" if not bad else f"{len(bad)} problem(s): " + ", ".join(c.provider for c in bad)
    )
    return "\n".join(lines)
