"""Where a local Whisper model comes from (services/transcribe/models.py): sizes, folders, S3; offline."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from storyreel.services.transcribe import models
from storyreel.services.transcribe.models import fetch_model, find_model, model_ref
from storyreel.services.transcribe.providers import auto_choice
from storyreel.shared.errors import ConfigError, ProviderError
from storyreel.shared.settings import Settings, TranscriptionConfig

from storyreel.doctor import run_doctor


@pytest.fixture(autouse=True)
def _empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No model cached anywhere, and the Hub unreachable (as on this machine, but decided, not assumed)."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("STORYREEL_MODEL_CACHE", str(tmp_path / "models"))


def test_what_transcription_model_names() -> None:
    assert model_ref(None).spec == "base.en" and model_ref(None).kind == "size"
    assert model_ref("small").kind == "size"
    assert model_ref("s3://bucket/whisper/base.en").kind == "s3"
    assert model_ref("./models/base").kind == "folder"
    with pytest.raises(ConfigError, match="'whisper-1' is an OpenAI API model"):
        model_ref("whisper-1")
    with pytest.raises(ConfigError, match="'huge' is not a Whisper size"):
        model_ref("huge")


def test_a_size_not_in_the_cache_is_not_found_and_its_download_fails_in_one_line() -> None:
    assert find_model(model_ref("tiny.en")) is None
    with pytest.raises(ProviderError) as err:
        fetch_model(model_ref("tiny.en"))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("Whisper tiny.en is not on this machine and could not be downloaded")
    assert "--transcriber local" in message


def test_a_folder_without_a_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the folder does not exist"):
        fetch_model(model_ref(str(tmp_path / "none")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"holds no model\.bin and config\.json"):
        fetch_model(model_ref(str(tmp_path / "empty")))


def _put_model(s3, bucket: str, prefix: str, model_bytes: int = 1000) -> None:
    s3.create_bucket(Bucket=bucket)
    for name, body in {
        "config.json": b"{}",
        "model.bin": b"\0" * model_bytes,
        "tokenizer.json": b"{}",
        "vocabulary.json": b"[]",
        "preprocessor_config.json": b"{}",
    }.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
    s3.put_object(Bucket=bucket, Key=f"{prefix}/old/model.bin", Body=b"not this one")


def test_an_s3_model_is_downloaded_once_into_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        _put_model(s3, "models", "whisper/base.en")
        ref = model_ref("s3://models/whisper/base.en")
        assert find_model(ref) is None
        folder = fetch_model(ref)
        assert folder == tmp_path / "models" / "s3" / "models" / "whisper" / "base.en"
        assert sorted(p.name for p in folder.iterdir()) == [
            "config.json",
            "model.bin",
            "preprocessor_config.json",
            "tokenizer.json",
            "vocabulary.json",
        ]
        assert (folder / "model.bin").stat().st_size == 1000
        s3.delete_object(Bucket="models", Key="whisper/base.en/model.bin")
        assert fetch_model(ref) == folder  # found in the cache: S3 is not asked again


def test_an_s3_prefix_over_the_bound_or_without_a_model_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        _put_model(s3, "models", "big", model_bytes=5000)
        with pytest.raises(ConfigError, match="more than the"):
            models._fetch_s3("s3://models/big", max_bytes=4000)
        assert not (tmp_path / "models" / "s3" / "models" / "big" / "model.bin").exists()
        with pytest.raises(ConfigError, match=r"no model\.bin and config\.json under that prefix"):
            fetch_model(model_ref("s3://models/nothing"))


def test_auto_falls_back_to_pocketsphinx_and_doctor_says_why_and_how_to_get_whisper() -> None:
    choice = auto_choice(TranscriptionConfig())
    assert choice.provider == "local"
    assert choice.why == "auto: pocketsphinx, since no Whisper model base.en is in the Hugging Face cache"
    assert choice.better is not None and "--transcriber whisper" in choice.better
    [check] = [c for c in run_doctor(Settings(), {}, live=False) if c.provider == "transcriber"]
    assert check.used_for == "transcribe" and check.ok
    assert check.detail.startswith("auto -> local (pocketsphinx): no Whisper model base.en")
    assert "better: run once with --transcriber whisper" in check.detail


def test_doctor_names_an_explicit_whisper_whose_model_is_missing_as_a_problem() -> None:
    settings = Settings(transcription=TranscriptionConfig(provider="whisper", model="small"))
    [check] = [c for c in run_doctor(settings, {}, live=False) if c.provider == "transcriber"]
    assert check.status == "missing" and "small" in check.detail and "download" in check.detail


def test_auto_without_faster_whisper_installed_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "faster_whisper" else real(name, *a)
    )
    choice = auto_choice(TranscriptionConfig(model="small.en"))
    assert choice.provider == "local"
    assert choice.why == "auto: pocketsphinx, since faster-whisper is not installed"
    assert (
        choice.better
        == "pip install 'storyreel[whisper]'; a run with --transcriber whisper then downloads small.en once"
    )
