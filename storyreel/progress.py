"""Progress on stderr: a live table of stages on a terminal, plain lines otherwise (CI, pipes, logs)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from storyreel.shared.pipeline import STAGES

if TYPE_CHECKING:
    from rich.live import Live


class Progress:
    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live_enabled = self.stream.isatty() if live is None else live
        self.rows: dict[str, str] = {}
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._live: Live | None = None

    # ---- context manager: starts/stops the live display
    def __enter__(self) -> Progress:
        if self.live_enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self._table(), console=Console(file=self.stream), refresh_per_second=8, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(None, None, None)
            self._live = None

    def __call__(self, stage: str, message: str) -> None:
        with self._lock:
            self.rows[stage] = message
            if self._live is not None:
                self._live.update(self._table())
            else:
                elapsed = time.perf_counter() - self._t0
                print(f"[{elapsed:6.2f}s] {stage:<10} {message}", file=self.stream, flush=True)

    def _table(self):
        from rich.table import Table

        table = Table(title="storyreel", expand=False, show_edge=False)
        table.add_column("stage")
        table.add_column("status")
        names = list(STAGES) + [s for s in self.rows if s not in STAGES]
        for name in names:
            msg = self.rows.get(name, "waiting")
            style = (
                "green"
                if msg.startswith("done")
                else "red"
                if msg.startswith("failed")
                else ("yellow" if msg == "running" else "dim")
            )
            table.add_row(name, f"[{style}]{msg}[/{style}]")
        return table
