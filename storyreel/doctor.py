"""`storyreel doctor`: which providers the settings use, which keys are missing, and a cheap live check of each.

Live checks cost nothing: OpenAI `GET /v1/models`, Replicate `GET /v1/account`, Stability `GET /v1/user/account`,
Firecrawl `GET /v2/team/credit-usage` (no credits spent), and for `virality.provider: public` one one-result
search on each public forum API used (HN Algolia, Reddit JSON); each with a short timeout and no retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from storyreel.services.images.providers import IMAGE_PROVIDERS
from storyreel.services.scenes.providers import PLANNERS
from storyreel.services.transcribe.providers import TRANSCRIBERS
from storyreel.shared.secrets import VendorKey
from storyreel.shared.settings import Settings

Status = Literal["ok", "missing", "fail", "unused", "local"]
CHECK_TIMEOUT_S = 10.0


@dataclass
class Check:
    provider: str  # openai, replicate, stability, local, firecrawl, hn-algolia, reddit-json, forums
    used_for: str  # "transcribe, context, scenes" or "-"
    status: Status
    detail: str
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "unused", "local")


def _vendors() -> tuple[VendorKey, ...]:
    """The vendors the transcribers, planners and image providers can use, in the registries' order (forum
    evidence has its own checks below)."""
    keys = [*TRANSCRIBERS.keys(), *PLANNERS.keys(), *IMAGE_PROVIDERS.keys()]
    return tuple(dict.fromkeys(keys))


def _uses(settings: Settings) -> dict[str, list[str]]:
    """Vendor ("local": no vendor) -> what these settings use it for."""
    used: dict[str, list[str]] = {key.secret: [] for key in _vendors()}
    used["local"] = []

    def use(key: VendorKey | None, what: str) -> None:
        used[key.secret if key is not None else "local"].append(what)

    use(TRANSCRIBERS.get(settings.transcription.provider).key, "transcribe")
    use(PLANNERS.get(settings.llm.provider).key, "context+scenes")
    if settings.images_enabled:
        image = settings.image_generation.provider
        use(IMAGE_PROVIDERS.get(image).key, f"images ({image})")
    return used


def _openai_live(environ: Mapping[str, str]) -> str:
    from storyreel.shared.openai_client import make_client

    client = make_client(CHECK_TIMEOUT_S, 0, environ=environ)
    ids = [m.id for m in client.models.list().data]
    # the URL the client really used: OPENAI_BASE_URL, else the SDK's default
    return f"{len(ids)} models visible at {str(client.base_url).rstrip('/')}"


def _where(provider: str, settings: Settings, environ: Mapping[str, str]) -> str:
    """The base URL a provider's client will use (config key > the vendor's variable > the vendor's default)."""
    if provider == "openai":
        from storyreel.shared.openai_client import effective_base_url

        return effective_base_url(None, environ)
    if provider == "replicate":
        from storyreel.services.images.providers.replicate import DEFAULT_BASE_URL

        env = environ.get("REPLICATE_BASE_URL")
    else:
        from storyreel.services.images.providers.stability import DEFAULT_BASE_URL

        env = environ.get("STABILITY_BASE_URL")
    return (settings.image_generation.base_url or env or DEFAULT_BASE_URL).rstrip("/")


def _replicate_live(environ: Mapping[str, str], base_url: str | None) -> str:
    # A plain GET: the replicate SDK always wraps its transport in a retrying one, and a check must not retry.
    import httpx

    from storyreel.services.images.providers.replicate import DEFAULT_BASE_URL

    base = (base_url or environ.get("REPLICATE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    resp = httpx.get(
        f"{base}/v1/account",
        headers={"Authorization": f"Bearer {environ['REPLICATE_API_TOKEN']}"},
        timeout=CHECK_TIMEOUT_S,
    )
    if resp.status_code != 200:
        from replicate.exceptions import ReplicateError

        raise ReplicateError.from_response(
            resp
        )  # the SDK's own reading of the error body, worded by explain()
    return f"account {resp.json().get('username', '?')}"


def _stability_live(environ: Mapping[str, str], base_url: str | None) -> str:
    import httpx

    from storyreel.services.images.providers.stability import DEFAULT_BASE_URL

    base = (base_url or environ.get("STABILITY_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    resp = httpx.get(
        f"{base}/v1/user/account",
        headers={"Authorization": f"Bearer {environ['STABILITY_API_KEY']}"},
        timeout=CHECK_TIMEOUT_S,
    )
    if resp.status_code != 200:
        from storyreel.services.images.providers.stability import error_message

        raise RuntimeError(error_message(resp))
    resp.json()
    return "account reachable"


def _explain(provider: str, exc: Exception) -> str:
    if provider == "openai":
        from storyreel.shared.openai_client import explain

        return explain(exc)
    if provider == "replicate":
        from storyreel.services.images.providers.replicate import explain

        return explain(exc)
    return str(exc)


def _run_check(
    provider: str,
    used_for: str,
    fn: Callable[[], str],
    errors: tuple[type[Exception], ...],
    explain: Callable[[str, Exception], str],
) -> Check:
    """Time one live check; the listed errors are a 'fail' with their plain-words explanation."""
    t0 = time.monotonic()
    try:
        detail = fn()
    except errors as exc:
        return Check(provider, used_for, "fail", explain(provider, exc), round(time.monotonic() - t0, 3))
    return Check(provider, used_for, "ok", detail, round(time.monotonic() - t0, 3))


def _live(provider: str, fn: Callable[[], str], used_for: str) -> Check:
    import httpx
    import openai
    import replicate.exceptions

    errors = (
        httpx.HTTPError,
        ValueError,
        RuntimeError,
        KeyError,
        openai.OpenAIError,
        replicate.exceptions.ReplicateException,
    )
    return _run_check(provider, used_for, fn, errors, _explain)


def run_doctor(settings: Settings, environ: Mapping[str, str], *, live: bool = True) -> list[Check]:
    used = _uses(settings)
    checks: list[Check] = []
    if used["local"]:
        checks.append(
            Check("local", ", ".join(used["local"]), "local", "embedded defaults: no key, no network")
        )

    checks.extend(_transcriber_checks(settings))

    # vendor -> its live check: every vendor the registries name needs one here
    probes: dict[str, Callable[[], str]] = {
        "openai": lambda: _openai_live(environ),
        "replicate": lambda: _replicate_live(environ, settings.image_generation.base_url),
        "stability": lambda: _stability_live(environ, settings.image_generation.base_url),
    }
    for vendor in _vendors():
        provider, key, probe = vendor.secret, vendor.env, probes[vendor.secret]
        # a local OpenAI-compatible server (OPENAI_BASE_URL) needs no key
        keyless_ok = provider == "openai" and bool(environ.get("OPENAI_BASE_URL"))
        used_for = ", ".join(used.get(provider, [])) or "-"
        has_key = bool(environ.get(key)) or keyless_ok
        if used_for == "-":
            state = "key set" if environ.get(key) else "no key"
            checks.append(Check(provider, used_for, "unused", f"not used by these settings ({key}: {state})"))
        elif not has_key:
            checks.append(Check(provider, used_for, "missing", f"{key} is not set"))
        elif not live:
            auth = f"{key} set" if environ.get(key) else f"no {key} (local server)"
            where = _where(provider, settings, environ)
            checks.append(Check(provider, used_for, "ok", f"{auth}, at {where} (live check skipped)"))
        else:
            checks.append(_live(provider, probe, used_for))
    image = settings.image_generation.provider
    if settings.images_enabled and image in ("diffusers", "batch"):
        checks.append(Check(image, f"images ({image})", "local", "GPU provider: not checked by doctor"))
    checks.extend(_forum_checks(settings, environ, live=live))
    return checks


# --------------------------------------------------------------------------- transcriber
def _transcriber_checks(settings: Settings) -> list[Check]:
    """Which transcriber a run will use and why (auto: the local Whisper when its model is here), and how to get
    the better one. Never downloads: it only looks in the cache and the configured folder."""
    from storyreel.services.transcribe.models import SIZES_MB, find_model, model_ref
    from storyreel.services.transcribe.providers import auto_choice
    from storyreel.shared.errors import ConfigError

    config = settings.transcription
    if config.provider == "openai":
        return []
    if config.provider in ("auto", "local"):
        choice = auto_choice(config)
        if config.provider == "auto":
            what = "whisper" if choice.provider == "whisper" else "local (pocketsphinx)"
            detail = f"auto -> {what}: {choice.reason}"
            if choice.better:
                detail += f"; better: {choice.better}"
            return [Check("transcriber", "transcribe", "local", detail)]
        detail = "local (pocketsphinx), as transcription.provider says"
        if choice.provider == "whisper":
            detail += f"; better: --transcriber whisper ({choice.reason}) or transcription.provider: auto"
        elif choice.better:
            detail += f"; better: {choice.better}"
        return [Check("transcriber", "transcribe", "local", detail)]
    try:
        import faster_whisper  # noqa: F401  (installed or not is the question)
    except ImportError:
        return [Check("transcriber", "transcribe", "missing", "whisper: pip install 'storyreel[whisper]'")]
    try:
        ref = model_ref(config.model)
    except ConfigError as exc:
        return [Check("transcriber", "transcribe", "fail", str(exc))]
    found = find_model(ref)
    if found is not None:
        return [Check("transcriber", "transcribe", "local", f"whisper: {ref.label} at {found}")]
    if ref.kind == "folder":
        return [Check("transcriber", "transcribe", "fail", f"whisper: no model in the folder {ref.spec}")]
    mb = next((n for size, n in SIZES_MB.items() if ref.spec.removeprefix("s3://").startswith(size)), None)
    source = "from S3" if ref.kind == "s3" else "from the Hugging Face Hub"
    about = f" (about {mb} MB)" if mb else ""
    return [
        Check(
            "transcriber",
            "transcribe",
            "missing",
            f"whisper: {ref.label} is not on this machine: the first run will download it {source}{about}; "
            f"offline: set transcription.model to a model folder",
        )
    ]


# --------------------------------------------------------------------------- virality / forum evidence
FORUMS_USED_FOR = "virality evidence"


def _forum_checks(settings: Settings, environ: Mapping[str, str], *, live: bool) -> list[Check]:
    """The forum-evidence source `virality.provider` resolves to (the same choice get_evidence_source makes)."""
    config = settings.virality
    from storyreel.services.virality.providers.base import firecrawl_configured, firecrawl_url_setting

    key = environ.get("FIRECRAWL_API_KEY")
    firecrawl_set = firecrawl_configured(config, environ)
    if not settings.pipeline.virality_evaluation:
        return [
            Check(
                "forums",
                "-",
                "unused",
                f"virality_evaluation is off: no forum evidence (virality.provider: {config.provider}, "
                f"FIRECRAWL_API_KEY: {'key set' if key else 'no key'})",
            )
        ]
    if config.provider == "public":
        return _public_checks(settings, live=live)
    if config.provider == "auto" and not firecrawl_set:
        return [
            Check(
                "forums",
                FORUMS_USED_FOR,
                "unused",
                "virality.provider auto with no FIRECRAWL_API_KEY, virality.firecrawl_api_url or "
                "FIRECRAWL_API_URL: no forum is "
                "asked (the report lists the forum components as not evaluated); set one, or "
                "virality.provider: public",
            )
        ]
    used_for = f"{FORUMS_USED_FOR} ({config.provider})"
    from storyreel.shared.errors import ConfigError

    try:
        from storyreel.services.virality.providers.firecrawl import check_config

        api_url = check_config(config, key, environ)
    except ConfigError as exc:
        return [
            Check("firecrawl", used_for, "missing" if "FIRECRAWL_API_KEY" in str(exc) else "fail", str(exc))
        ]
    where = f" at {api_url}" if firecrawl_url_setting(config, environ)[0] else ""
    if not live:
        auth = "FIRECRAWL_API_KEY set" if key else "no key (self-hosted)"
        return [Check("firecrawl", used_for, "ok", f"{auth}{where} (live check skipped)")]
    return [_timed("firecrawl", used_for, lambda: _firecrawl_live(api_url, key) + where)]


def _firecrawl_live(api_url: str, key: str | None) -> str:
    from firecrawl import Firecrawl

    client = Firecrawl(
        api_key=key, api_url=api_url, timeout=CHECK_TIMEOUT_S, max_retries=1, origin="storyreel"
    )
    usage = client.get_credit_usage()
    return f"{usage.remaining_credits} credits left"


def _public_checks(settings: Settings, *, live: bool) -> list[Check]:
    """One one-result search per public forum API the configured forums need, through the real fetchers."""
    import threading

    from storyreel.services.virality.providers.base import Deadline, Forum, parse_forum
    from storyreel.services.virality.providers.hackernews import HackerNewsSearch
    from storyreel.services.virality.providers.reddit import RedditJSON
    from storyreel.shared.errors import ConfigError

    config = settings.virality
    used_for = f"{FORUMS_USED_FOR} (public)"
    try:
        forums = [parse_forum(spec) for spec in config.forums]
    except ConfigError as exc:
        return [Check("forums", used_for, "fail", str(exc))]
    probes: list[tuple[str, str, Callable[[Any], Any], Forum]] = []
    hn = next((f for f in forums if f.kind == "hackernews"), None)
    reddit = next((f for f in forums if f.kind == "reddit"), None)
    if reddit is None and config.topic_subreddits:
        reddit = Forum("reddit", "videos")
    if hn is not None:
        probes.append(("hn-algolia", config.hn_api_url, HackerNewsSearch, hn))
    if reddit is not None:
        probes.append(("reddit-json", config.reddit_base_url, RedditJSON, reddit))
    if not probes:
        return [Check("forums", used_for, "fail", "virality.forums names no forum")]
    checks: list[Check] = []
    for name, url, fetcher_cls, forum in probes:
        if not live:
            checks.append(Check(name, used_for, "ok", f"public API at {url}, no key (live check skipped)"))
            continue

        def probe(
            fetcher_cls: Callable[[Any], Any] = fetcher_cls, forum: Forum = forum, url: str = url
        ) -> str:
            fetcher = fetcher_cls(config.model_copy(update={"max_retries": 0}))
            posts, _ = fetcher.fetch(
                forum, ["video"], 1, Deadline(CHECK_TIMEOUT_S), threading.BoundedSemaphore(1)
            )
            return f"{forum.id} answered ({len(posts)} of 1 post asked) at {url}"

        checks.append(_timed(name, used_for, probe))
    return checks


def _timed(provider: str, used_for: str, fn: Callable[[], str]) -> Check:
    """A forum live check: our ProviderError / ConfigError, or the Firecrawl SDK's own errors, as a 'fail'."""
    import requests
    from firecrawl.v2.utils.error_handler import FirecrawlError

    from storyreel.shared.errors import StoryreelError

    errors = (StoryreelError, requests.RequestException, ValueError, FirecrawlError)
    return _run_check(provider, used_for, fn, errors, _forum_error)


def _forum_error(provider: str, exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    if provider == "firecrawl" and status in (401, 403):
        return f"Firecrawl rejected the API key ({status}): check FIRECRAWL_API_KEY"
    if provider == "firecrawl" and status == 402:
        return "Firecrawl: payment required (402), out of credits"
    if provider == "firecrawl" and status is not None:
        return f"Firecrawl failed with HTTP {status}: {str(exc).splitlines()[0][:160]}"
    if provider == "firecrawl" and not isinstance(exc, ValueError):
        return f"cannot reach Firecrawl ({type(exc).__name__})"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


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
