"""Every copy of the input is bounded by the settings: the local runner's store of the audio (a hard link, or a
copy that stops at the bound) and the cloud intake's copy of the S3 upload (its size checked first)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import boto3
import pytest
import storyreel.shared.settings as settings_module
from moto import mock_aws
from storyreel.shared.contracts import RunRecord, RunStatus
from storyreel.shared.errors import InputError
from storyreel.shared.stores import LocalBlobStore

from storyreel import runner

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brief.wav"


# --------------------------------------------------------------------------- local runner
def _cross_device(*a, **k):
    raise OSError(18, "Invalid cross-device link")


def test_store_links_or_copies_a_good_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = LocalBlobStore(tmp_path / "out")
    key = runner._store_audio(blobs, "r1", EXAMPLE, 30)
    assert blobs.local_path(key).read_bytes() == EXAMPLE.read_bytes()

    monkeypatch.setattr(runner.os, "link", _cross_device)
    key = runner._store_audio(blobs, "r2", EXAMPLE, 30)
    copied = blobs.local_path(key)
    assert copied.read_bytes() == EXAMPLE.read_bytes() and copied.stat().st_ino != EXAMPLE.stat().st_ino


def test_a_copy_stops_at_the_bound_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that grows past the bound while it is copied (or one start_run saw smaller) is cut off there."""
    monkeypatch.setattr(settings_module, "AUDIO_OVERHEAD_BYTES", 0)
    assert settings_module.max_audio_bytes(0.01) == 230_400  # 0.6 s
    src = tmp_path / "growing.wav"
    src.write_bytes(b"\0" * 1000)
    real_fstat = os.fstat

    def small_then_big(fd: int) -> os.stat_result:  # fstat saw 1 kB; the file then grew to 10 MB
        st = real_fstat(fd)
        with src.open("ab") as fh:
            fh.write(b"\1" * (10 * 1024 * 1024))
        return st

    monkeypatch.setattr(runner.os, "fstat", small_then_big)
    monkeypatch.setattr(runner.os, "link", _cross_device)
    blobs = LocalBlobStore(tmp_path / "out")
    with pytest.raises(
        InputError, match=r"growing\.wav grew past 0\.2 MB while it was copied.*pipeline\.max_audio_minutes"
    ):
        runner._store_audio(blobs, "r1", src, 0.01)
    assert list((tmp_path / "out" / "r1" / "audio").iterdir()) == []


def test_an_input_swapped_for_a_fifo_after_start_run_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "brief.wav"
    os.mkfifo(fifo)
    blobs = LocalBlobStore(tmp_path / "out")
    outcome: list[BaseException | str] = []

    def store() -> None:
        try:
            runner._store_audio(blobs, "r1", fifo, 30)
            outcome.append("stored")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=store, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "opening the FIFO blocked"
    [exc] = outcome
    assert isinstance(exc, InputError) and "named pipe (FIFO)" in str(exc)
    assert list((tmp_path / "out" / "r1" / "audio").iterdir()) == []


# --------------------------------------------------------------------------- cloud intake
BUCKET = TABLE = "storyreel-bounds"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    from storyreel.services.intake.step import start_upload_once as _start_upload_once
    from storyreel.shared.aws.env import reset_clients
    from storyreel.shared.aws.stores import create_table

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "STORYREEL_BUCKET": BUCKET,
        "STORYREEL_TABLE": TABLE,
        "POWERTOOLS_SERVICE_NAME": "storyreel",
        "POWERTOOLS_METRICS_NAMESPACE": "storyreel-test",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:none",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        reset_clients()
        _start_upload_once.cache_clear()
        yield boto3.client("s3", region_name="us-east-1")
        reset_clients()


def _upload(key: str) -> dict:
    from datetime import UTC, datetime

    return {"bucket": BUCKET, "key": key, "etag": "e1", "size": 0, "time": datetime(2026, 11, 25, tzinfo=UTC)}


def _run_objects(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/").get("Contents", [])]


def test_intake_refuses_an_upload_past_the_bound_before_copying(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from storyreel.services.intake.step import start_upload as _start_upload
    from storyreel.shared.aws.env import state

    monkeypatch.setattr(settings_module, "AUDIO_OVERHEAD_BYTES", 0)
    options = json.dumps({"pipeline": {"max_audio_minutes": 0.01}})  # 230 kB
    aws.put_object(Bucket=BUCKET, Key="uploads/big.wav", Body=b"\0" * 300_000, Metadata={"options": options})
    out = _start_upload(_upload("uploads/big.wav"))
    assert out["status"] == "failed"
    assert "big.wav is 0.3 MB" in out["error"] and "pipeline.max_audio_minutes" in out["error"]
    record = state().get(out["run_id"])
    assert (
        record.status == RunStatus.failed and record.error.stage == "intake" and record.error.kind == "user"
    )
    assert _run_objects(aws) == []  # nothing was copied


def test_intake_refuses_an_api_upload_past_the_bound(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from storyreel.services.intake.step import start_upload as _start_upload
    from storyreel.shared.aws.env import state
    from storyreel.shared.settings import load_settings

    monkeypatch.setattr(settings_module, "AUDIO_OVERHEAD_BYTES", 0)
    settings = load_settings(cli={"pipeline": {"max_audio_minutes": 0.01}}, environ={})
    record = RunRecord(
        run_id="20261125-000000-abcd",
        source=f"s3://{BUCKET}/uploads/api/20261125-000000-abcd/a.wav",
        output_dir=f"s3://{BUCKET}/runs/20261125-000000-abcd/",
        options=settings.model_dump(mode="json"),
    )
    state().create(record)
    key = f"uploads/api/{record.run_id}/a.wav"
    aws.put_object(Bucket=BUCKET, Key=key, Body=b"\0" * 300_000)
    out = _start_upload(_upload(key))
    assert out["status"] == "failed" and "pipeline.max_audio_minutes" in out["error"]
    assert state().get(record.run_id).status == RunStatus.failed
    assert _run_objects(aws) == []
