from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storyreel.shared.contracts import CreativeContext, Transcript
from storyreel.shared.stores import SqliteStateStore

from testkit.fakes import make_creative
from testkit.vendors.firecrawl import FakeFirecrawl
from testkit.vendors.forums import FakeWeb


@pytest.fixture(autouse=True)
def _no_firecrawl_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """FIRECRAWL_API_URL picks Firecrawl (provider auto) and its URL: a developer's own must not leak in."""
    monkeypatch.delenv("FIRECRAWL_API_URL", raising=False)


@pytest.fixture
def fake_web() -> Iterator[FakeFirecrawl]:
    with FakeFirecrawl(FakeWeb()) as server:
        yield server


@pytest.fixture
def state(tmp_path: Path) -> SqliteStateStore:
    return SqliteStateStore(tmp_path / "state.sqlite3")


@pytest.fixture
def transcript() -> Transcript:
    return Transcript(
        text=(
            "Did you know most home cooks burn their garlic? I want a short cooking video for TikTok that shows "
            "my one pan garlic pasta. We start in my tiny kitchen and I love how simple it is. "
            "Five ingredients, ten minutes, and it looks amazing!"
        ),
        duration_s=18.0,
    )


@pytest.fixture
def context() -> CreativeContext:
    return make_creative(
        title="One pan garlic pasta",
        subject="garlic pasta",
        intent="educate",
        vibe="warm and upbeat",
        content_style="tutorial",
        target_audience="home cooks",
        keywords=["cooking video", "garlic pasta"],
        tone="positive",
        sentiment=0.6,
        platform="TikTok",
    )
