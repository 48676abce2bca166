"""Names and helpers shared by the tests in tests/aws (imported as a plain module: pytest puts this dir on
sys.path)."""

from __future__ import annotations

REGION = "us-east-1"
BUCKET = "storyreel-test"
TABLE = "storyreel-test"
BUS = "storyreel-test-bus"

MOTO_CONFIG = {
    # the real ASL file runs in moto's interpreter
    "stepfunctions": {"execute_state_machine": True},
    # moto's docker-free Lambda backend; the bridge routes its invoke to the in-process handlers
    "lambda": {"use_docker": False},
    "batch": {"use_docker": False},
}
