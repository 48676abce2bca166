from __future__ import annotations

from pathlib import Path

import pytest
from storyreel.shared.pipeline import CONTEXT, RunContext
from storyreel.shared.settings import Settings
from storyreel.shared.stores import LocalBlobStore, SqliteStateStore, put_model

from testkit.fakes import make_creative


@pytest.fixture
def state(tmp_path: Path) -> SqliteStateStore:
    return SqliteStateStore(tmp_path / "state.sqlite3")


@pytest.fixture
def make_ctx(tmp_path: Path, state: SqliteStateStore):
    blobs = LocalBlobStore(tmp_path / "runs")

    def make(run_id: str, settings: Settings | None = None, tone: str = "positive") -> RunContext:
        ctx = RunContext(run_id=run_id, settings=settings or Settings(), blobs=blobs, state=state)
        context = make_creative(subject="garlic pasta", target_audience="home cooks", tone=tone)
        put_model(blobs, ctx.key(CONTEXT), context)
        return ctx

    return make
