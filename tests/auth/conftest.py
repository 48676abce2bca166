"""The stand-in user pool of auth_testkit, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth_testkit import FakePool, serve_pool


@pytest.fixture
def pool() -> Iterator[FakePool]:
    with serve_pool() as served:
        yield served
