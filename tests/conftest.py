"""Suite-wide fixtures. Every test gets its own STORYREEL_HOME so no run index or policy leaks between tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYREEL_HOME", str(tmp_path_factory.mktemp("home")))
    for name in ("OPENAI_API_KEY", "REPLICATE_API_TOKEN", "STABILITY_API_KEY", "FIRECRAWL_API_KEY"):
        monkeypatch.delenv(name, raising=False)
