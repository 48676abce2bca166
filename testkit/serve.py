"""`storyreel serve` as a user starts it, for the tests: a subprocess on an ephemeral port, with its own
STORYREEL_HOME."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx


@contextlib.contextmanager
def served(home: Path) -> Iterator[httpx.Client]:
    """A client of a fresh `storyreel serve --port 0` (its process as `client.proc`); on exit Ctrl-C, and the
    server must stop cleanly (exit 0, its last lines in `client.stopped_output`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYREEL_")}
    env["STORYREEL_HOME"] = str(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "storyreel.cli", "serve", "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        cwd=home,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    assert match, line
    with httpx.Client(base_url=match.group(1), timeout=60) as client:
        client.proc = proc  # type: ignore[attr-defined]
        yield client
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out = proc.stderr.read()
        assert proc.wait(timeout=20) == 0, out
        client.stopped_output = out  # type: ignore[attr-defined]
