"""The virality stage's provider registry: the forum evidence sources a run can use, declared once, below; the
settings Literal `virality.provider` names the same choices (shared/settings.py EvidenceSourceName). "auto" is a
choice, not a vendor: Firecrawl when it is configured, else no forum is asked.

It lives beside providers/ rather than in its __init__ (as the other stages' registries do) because a source is
a ForumEvidence (evidence.py), which imports providers/: declared inside, the two would import each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storyreel.services.virality.providers.base import EvidenceSource, ForumFetcher
from storyreel.shared.registry import ProviderSpec, Registry
from storyreel.shared.secrets import FIRECRAWL
from storyreel.shared.settings import EvidenceSourceName, ViralityConfig

if TYPE_CHECKING:
    from storyreel.shared.stores import CacheStore


@dataclass(frozen=True)
class ForumSetup:
    """What an evidence source is built from: the virality settings and the cache forum answers are kept in
    (None: no caching)."""

    config: ViralityConfig
    cache: CacheStore | None

    @property
    def provider(self) -> str:
        return self.config.provider


def _fallbacks(config: ViralityConfig) -> dict[str, ForumFetcher]:
    """The public JSON APIs: what `public` uses, and what Firecrawl falls back to when it refuses a site."""
    from storyreel.services.virality.providers.hackernews import HackerNewsSearch
    from storyreel.services.virality.providers.reddit import RedditJSON

    return {"hackernews": HackerNewsSearch(config), "reddit": RedditJSON(config)}


def _public(setup: ForumSetup) -> EvidenceSource:
    from storyreel.services.virality.evidence import ForumEvidence

    return ForumEvidence(setup.cache, None, _fallbacks(setup.config))


def _firecrawl(setup: ForumSetup) -> EvidenceSource:
    from storyreel.services.virality.evidence import ForumEvidence
    from storyreel.services.virality.providers import firecrawl  # the SDK import is slow: only when used

    return ForumEvidence(setup.cache, firecrawl.FirecrawlForums(setup.config), _fallbacks(setup.config))


def _auto(setup: ForumSetup) -> EvidenceSource:
    """Firecrawl when FIRECRAWL_API_KEY, virality.firecrawl_api_url or FIRECRAWL_API_URL is set; otherwise no
    forum is asked (the local default stays offline) and the report says what to set."""
    from storyreel.services.virality.evidence import Unconfigured
    from storyreel.services.virality.providers.base import firecrawl_configured

    if firecrawl_configured(setup.config):
        return EVIDENCE_SOURCES.get("firecrawl").factory(setup)
    return Unconfigured(
        "no forum evidence provider configured: set FIRECRAWL_API_KEY or virality.firecrawl_api_url, "
        "or virality.provider: public"
    )


EVIDENCE_SOURCES: Registry[ForumSetup, EvidenceSource] = Registry(
    "evidence_source",
    "virality.provider",
    EvidenceSourceName,
    [
        ProviderSpec(
            "auto",
            "Firecrawl when a key or URL is set, else no forum evidence",
            _auto,
            key=FIRECRAWL,
            extra="providers",
            sdks=("firecrawl",),
        ),
        ProviderSpec(
            "firecrawl",
            "Firecrawl search (HN Algolia and Reddit JSON where it refuses a site)",
            _firecrawl,
            key=FIRECRAWL,
            extra="providers",
            sdks=("firecrawl",),
        ),
        ProviderSpec("public", "HN Algolia and Reddit JSON only: no key", _public),
    ],
)
