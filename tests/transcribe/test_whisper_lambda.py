"""The transcribe Lambda's code path with the local Whisper and `transcription.model: s3://bucket/prefix`
(moto S3 + DynamoDB, the handler called with the state machine's event): the tiny model (tinywhisper.py) is
listed, downloaded once into the Lambda's /tmp cache and loaded; the transcript is Whisper's. This is the code a
container-image Lambda or the Batch worker runs (docs/transcribe.md, "Whisper in the cloud"); the zip asset
cannot carry faster-whisper, and says so in one line."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from speechkit import Speech
from storyreel.services.transcribe.models import model_cache_dir
from storyreel.shared.contracts import RunRecord, RunStatus, Transcript
from tinywhisper import build

from testkit.aws import BUCKET, REGION, TABLE, FakeLambdaContext

MODELS = "storyreel-models"


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STORYREEL_BUCKET": BUCKET,
        "STORYREEL_TABLE": TABLE,
        "POWERTOOLS_SERVICE_NAME": "storyreel",
        "POWERTOOLS_METRICS_NAMESPACE": "storyreel-test",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "storyreel-transcribe",
        "STORYREEL_MODEL_CACHE": str(tmp_path / "lambda-tmp"),  # the Lambda's /tmp, here a test folder
    }.items():
        monkeypatch.setenv(name, value)
    from storyreel.shared.aws.env import reset_clients
    from storyreel.shared.aws.stores import create_table

    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=MODELS)
        create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        reset_clients()
        yield s3
        reset_clients()


def test_the_lambda_downloads_an_s3_model_once_and_transcribes_with_it(
    lambda_env, tiny_whisper: Path, speech: Speech, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storyreel.services.transcribe import handler as transcribe_handler
    from storyreel.services.transcribe import models
    from storyreel.shared.aws.context import resolve_settings
    from storyreel.shared.aws.env import blobs, state

    s3 = lambda_env
    fetched: list[str] = []
    real_fetch = models._fetch_s3

    def counting_fetch(uri: str, *args, **kwargs):
        fetched.append(uri)
        return real_fetch(uri, *args, **kwargs)

    monkeypatch.setattr(models, "_fetch_s3", counting_fetch)
    for f in tiny_whisper.iterdir():
        s3.upload_file(str(f), MODELS, f"whisper/tiny/{f.name}")
    s3.put_object(Bucket=MODELS, Key="whisper/tiny/old/model.bin", Body=b"a deeper folder is not the model")
    uri = f"s3://{MODELS}/whisper/tiny"
    settings = resolve_settings({"transcription": {"provider": "whisper", "model": uri, "beam_size": 1}})
    ctx = FakeLambdaContext("storyreel-transcribe")
    for run_id in ("20261203-180000-aaaaaa", "20261203-180001-bbbbbb"):
        state().create(
            RunRecord(
                run_id=run_id,
                status=RunStatus.running,
                source=f"s3://{BUCKET}/uploads/brief.wav",
                output_dir=f"s3://{BUCKET}/runs/{run_id}/",
                options=settings.model_dump(mode="json"),
            )
        )
        blobs().put_bytes(f"{run_id}/audio/brief.wav", speech.brief.read_bytes(), "audio/wav")
        out = transcribe_handler.handler({"run_id": run_id, "audio_key": f"{run_id}/audio/brief.wav"}, ctx)
        assert out["segments"] >= 1
        transcript = Transcript.model_validate_json(blobs().get_bytes(f"{run_id}/transcript.json"))
        assert transcript.provider == "whisper" and transcript.model == uri
        assert transcript.segments and any(s.words for s in transcript.segments)

    cached = model_cache_dir() / "s3" / MODELS / "whisper" / "tiny"
    assert cached.is_relative_to(tmp_path / "lambda-tmp")
    assert sorted(p.name for p in cached.iterdir()) == sorted(p.name for p in tiny_whisper.iterdir())
    assert (cached / "model.bin").read_bytes() == (tiny_whisper / "model.bin").read_bytes()
    assert fetched == [uri]  # the second run found the model in the cache
    assert not list(cached.glob("*.part"))


def test_without_faster_whisper_the_lambda_says_where_whisper_runs(
    lambda_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from storyreel.services.transcribe.providers import TRANSCRIBERS
    from storyreel.shared.errors import ConfigError
    from storyreel.shared.settings import TranscriptionConfig

    real_import = builtins.__import__

    def no_faster_whisper(name, *args, **kwargs):
        if name.split(".")[0] == "faster_whisper":
            raise ModuleNotFoundError("No module named 'faster_whisper'", name="faster_whisper")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_faster_whisper)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "faster_whisper" else 1)
    for provider in ("whisper", "auto"):
        with pytest.raises(ConfigError) as err:
            TRANSCRIBERS.build(TranscriptionConfig(provider=provider, model="s3://m/whisper/base.en"))
        message = str(err.value)
        assert "zip" in message and "container-image Lambda" in message and "docs/transcribe.md" in message


def test_in_the_container_image_the_lambda_builds_whisper_from_s3(
    lambda_env, tiny_whisper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image (infra/images/transcribe) sets STORYREEL_LAMBDA_IMAGE and carries faster-whisper: no refusal,
    the transcriber is Whisper with the S3 model fetched into the Lambda's cache at setup."""
    from storyreel.services.transcribe.providers import LAMBDA_IMAGE_ENV, TRANSCRIBERS
    from storyreel.services.transcribe.providers.whisper import WhisperTranscriber
    from storyreel.shared.settings import TranscriptionConfig

    dockerfile = Path(__file__).resolve().parents[2] / "infra/images/transcribe/Dockerfile"
    assert f"{LAMBDA_IMAGE_ENV}=transcribe" in dockerfile.read_text()  # what the image sets
    monkeypatch.setenv(LAMBDA_IMAGE_ENV, "transcribe")
    for f in tiny_whisper.iterdir():
        lambda_env.upload_file(str(f), MODELS, f"image/tiny/{f.name}")
    transcriber = TRANSCRIBERS.build(
        TranscriptionConfig(provider="whisper", model=f"s3://{MODELS}/image/tiny")
    )
    assert isinstance(transcriber, WhisperTranscriber)
    assert transcriber.path.is_relative_to(model_cache_dir()) and (transcriber.path / "model.bin").is_file()


def test_a_container_image_without_faster_whisper_says_rebuild_it(
    lambda_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    from storyreel.services.transcribe.providers import LAMBDA_IMAGE_ENV, TRANSCRIBERS
    from storyreel.shared.errors import ConfigError
    from storyreel.shared.settings import TranscriptionConfig

    real_import = builtins.__import__

    def no_faster_whisper(name, *args, **kwargs):
        if name.split(".")[0] == "faster_whisper":
            raise ModuleNotFoundError("No module named 'faster_whisper'", name="faster_whisper")
        return real_import(name, *args, **kwargs)

    monkeypatch.setenv(LAMBDA_IMAGE_ENV, "transcribe")
    monkeypatch.setattr(builtins, "__import__", no_faster_whisper)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "faster_whisper" else 1)
    for provider in ("whisper", "auto"):
        with pytest.raises(ConfigError) as err:
            TRANSCRIBERS.build(TranscriptionConfig(provider=provider, model="s3://m/whisper/base.en"))
        message = str(err.value)
        assert "container image" in message and "infra/images/transcribe/Dockerfile" in message
        assert "zip" not in message and "\n" not in message
