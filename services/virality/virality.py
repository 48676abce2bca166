"""Virality stage: a 0-100 score from named components, each with its numbers and evidence.

STUB: the virality/optimizer work fills this in (content-only components now; forum evidence later).
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.contracts import CreativeContext, Evidence, SourceStatus, Transcript, ViralityReport
from shared.settings import ViralityConfig


class EvidenceSource(Protocol):
    name: str

    def gather(
        self, keywords: list[str], config: ViralityConfig
    ) -> tuple[list[Evidence], list[SourceStatus]]: ...


def get_evidence_source(config: ViralityConfig, cache: Any) -> EvidenceSource:
    raise NotImplementedError


def evaluate(
    transcript: Transcript,
    context: CreativeContext,
    variant: dict[str, str],
    source: EvidenceSource | None,
    config: ViralityConfig,
) -> ViralityReport:
    raise NotImplementedError
