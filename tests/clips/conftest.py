"""A finished run's keyframes (the local planner + sketch panels, through the real stage seams) and the fake
Replicate the real SDK talks to."""

from __future__ import annotations

import pytest

from testkit.vendors.replicate import FakeReplicate


@pytest.fixture
def replicate_server(monkeypatch: pytest.MonkeyPatch):
    with FakeReplicate() as server:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_test_token")
        monkeypatch.setenv("REPLICATE_BASE_URL", server.url)
        monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
        yield server
