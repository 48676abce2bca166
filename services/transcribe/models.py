"""Where a local Whisper model (CTranslate2, as faster-whisper loads it) comes from.

`transcription.model` names one of three things:
- a size faster-whisper knows (tiny.en, base.en, small, ..., large-v3): fetched from the Hugging Face Hub on first
  use into the user's Hugging Face cache (HF_HOME / HF_HUB_CACHE; a progress bar on stderr), read from there after;
- a folder holding a converted model (model.bin, config.json, tokenizer.json, preprocessor_config.json,
  vocabulary.*): for offline machines;
- `s3://bucket/prefix`: the same files under a prefix, downloaded once (at most MAX_MODEL_BYTES) into
  `model_cache_dir()/s3/...`, for Lambda and Batch.

`find_model` answers "is it on this machine?" without any network (what `auto` and doctor ask); `fetch_model`
gets it when it is not.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from storyreel.shared.errors import ConfigError, ProviderError

DEFAULT_MODEL = "base.en"
# The files faster-whisper reads from a model folder (as its own download_model asks the Hub for).
MODEL_FILES = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
MAX_MODEL_BYTES = 4 * 1024**3  # large-v3 in float16 is 3.1 GB; an S3 prefix holding more is refused
# The OpenAI API's model names: the openai provider's, never a local model.
_API_MODELS = re.compile(r"^(whisper-1|gpt-4o.*transcribe.*)$")
# Approximate download sizes (Systran's int8/float16 CTranslate2 conversions), said by doctor before a download.
SIZES_MB = {"tiny": 75, "base": 145, "small": 484, "medium": 1530, "large": 3090}


# faster-whisper with ctranslate2, PyAV, onnxruntime (Silero VAD) and tokenizers adds 276 MB unzipped for the
# Lambda platform (arm64, CPython 3.13; measured 2026-12-03) to the transcribe asset's 128 MB: past the 250 MB a
# zip Lambda may unpack (docs/transcribe.md, "Whisper in the cloud").
LAMBDA_ZIP_NO_WHISPER = (
    "the local Whisper is not in this Lambda: its zip asset cannot carry faster-whisper (276 MB unzipped with "
    "ctranslate2, PyAV and onnxruntime, 404 MB with the rest, past Lambda's 250 MB); run it in a container-image "
    "Lambda or on the Batch worker (docs/transcribe.md, 'Whisper in the cloud'), or use transcription.provider: "
    "openai"
)


def on_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


@dataclass(frozen=True)
class ModelRef:
    spec: str  # as configured (or DEFAULT_MODEL)
    kind: str  # "size" | "folder" | "s3"

    @property
    def label(self) -> str:
        return self.spec


def model_cache_dir() -> Path:
    """Where S3 models are kept: STORYREEL_MODEL_CACHE, else /tmp on AWS Lambda (the only writable place), else
    the user cache folder."""
    env = os.environ.get("STORYREEL_MODEL_CACHE")
    if env:
        return Path(env)
    if on_lambda():
        return Path("/tmp/storyreel-models")
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("storyreel")) / "models"


def local_name(model: str | None) -> str | None:
    """The configured model if it can be a local one; None when unset or an OpenAI API model name."""
    if model is None or _API_MODELS.match(model):
        return None
    return model


def model_ref(model: str | None, *, check: bool = True) -> ModelRef:
    """What `transcription.model` names for the local Whisper (unset: DEFAULT_MODEL). A ConfigError for an OpenAI
    API model name or (`check`: which imports faster-whisper) an unknown size."""
    if model is not None and _API_MODELS.match(model):
        raise ConfigError(
            f"transcription.model {model!r} is an OpenAI API model: the local whisper takes a size "
            f"(tiny.en, base.en, small, ...), a model folder or s3://bucket/prefix (or use --transcriber openai)"
        )
    spec = model or DEFAULT_MODEL
    if spec.startswith("s3://"):
        return ModelRef(spec, "s3")
    if "/" in spec or spec.startswith((".", "~")) or Path(spec).expanduser().is_dir():
        return ModelRef(spec, "folder")
    if check and spec not in _sizes():
        raise ConfigError(
            f"transcription.model {spec!r} is not a Whisper size ({', '.join(_sizes())}), a folder or s3://..."
        )
    return ModelRef(spec, "size")


def _sizes() -> dict[str, str]:
    """faster-whisper's size -> Hugging Face repository table."""
    from faster_whisper import utils

    return dict(utils._MODELS)  # the table download_model reads; there is no public accessor


def _complete(folder: Path) -> bool:
    return (folder / "model.bin").is_file() and (folder / "config.json").is_file()


def find_model(ref: ModelRef) -> Path | None:
    """The model's folder on this machine, or None; never touches the network."""
    if ref.kind == "folder":
        folder = Path(ref.spec).expanduser()
        return folder if _complete(folder) else None
    if ref.kind == "s3":
        folder = _s3_folder(ref.spec)
        return folder if _complete(folder) else None
    # Importing faster-whisper takes about half a second: look for any cached faster-whisper repository first,
    # so a machine without one (the common case for `auto`) answers in milliseconds.
    from huggingface_hub import constants

    if not any(Path(constants.HF_HUB_CACHE).glob("models--*whisper*")):
        return None
    from faster_whisper.utils import download_model

    try:
        found = Path(download_model(ref.spec, local_files_only=True))
    except (OSError, ValueError):  # LocalEntryNotFoundError: not in the cache; ValueError: not a size
        return None
    return found if _complete(found) else None


def fetch_model(ref: ModelRef) -> Path:
    """The model's folder, downloaded first when it is not on this machine. One-line errors for what a user
    can fix (a folder that is not a model, no network, a missing S3 object)."""
    found = find_model(ref)
    if found is not None:
        return found
    if ref.kind == "folder":
        folder = Path(ref.spec).expanduser()
        why = "does not exist" if not folder.exists() else "holds no model.bin and config.json"
        raise ConfigError(
            f"transcription.model {ref.spec}: the folder {why} (a CTranslate2 Whisper model: "
            f"{', '.join(MODEL_FILES)})"
        )
    if ref.kind == "s3":
        return _fetch_s3(ref.spec)
    return _fetch_hub(ref.spec)


def _fetch_hub(size: str) -> Path:
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError

    repo = _sizes()[size]
    print(f"downloading Whisper {size} ({repo}) into the Hugging Face cache ...", file=sys.stderr)
    try:
        path = huggingface_hub.snapshot_download(repo, allow_patterns=MODEL_FILES, etag_timeout=10)
    except (OSError, HfHubHTTPError) as exc:
        raise ProviderError(
            f"Whisper {size} is not on this machine and could not be downloaded from the Hugging Face Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]}): set transcription.model to a model folder "
            f"or s3://..., or use --transcriber local",
            provider="whisper",
        ) from exc
    folder = Path(str(path))
    if not _complete(folder):
        raise ProviderError(f"the download of Whisper {size} holds no model.bin", provider="whisper")
    return folder


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"transcription.model {uri!r}: no bucket (s3://bucket/prefix)")
    return bucket, prefix.strip("/")


def _s3_folder(uri: str) -> Path:
    bucket, prefix = _split_s3(uri)
    return model_cache_dir() / "s3" / bucket / prefix


def _fetch_s3(uri: str, max_bytes: int = MAX_MODEL_BYTES) -> Path:
    """The model files under an S3 prefix, into the cache folder: listed and summed first (refused past
    `max_bytes`), each written to a temporary name and renamed, so a cut download is never taken for a model."""
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError as exc:
        raise ConfigError(
            f"transcription.model {uri}: reading a model from S3 needs boto3 (pip install 'storyreel[aws]')"
        ) from exc
    bucket, prefix = _split_s3(uri)
    folder = _s3_folder(uri)
    s3 = boto3.client("s3")
    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/" if prefix else "")
        objects = [
            (obj["Key"], int(obj["Size"]))
            for obj in listed.get("Contents", [])
            if "/" not in obj["Key"][len(prefix) + 1 if prefix else 0 :]  # files directly under the prefix
        ]
        names = {key.rsplit("/", 1)[-1] for key, _ in objects}
        if "model.bin" not in names or "config.json" not in names:
            raise ConfigError(f"transcription.model {uri}: no model.bin and config.json under that prefix")
        total = sum(size for _, size in objects)
        if total > max_bytes:
            raise ConfigError(
                f"transcription.model {uri}: {total / 1e9:.1f} GB under that prefix, more than the "
                f"{max_bytes / 1e9:.1f} GB a model may take"
            )
        folder.mkdir(parents=True, exist_ok=True)
        print(f"downloading Whisper model {uri} ({total / 1e6:,.0f} MB) into {folder} ...", file=sys.stderr)
        # model.bin and config.json last: a folder holding them is complete (find_model's test)
        objects.sort(key=lambda obj: obj[0].endswith(("/model.bin", "/config.json", "model.bin")))
        for key, size in objects:
            dest = folder / key.rsplit("/", 1)[-1]
            part = dest.with_name(dest.name + ".part")
            s3.download_file(bucket, key, str(part))
            if part.stat().st_size != size:
                part.unlink(missing_ok=True)
                raise ProviderError(f"{uri}: {dest.name} changed while it was downloaded", provider="whisper")
            part.replace(dest)
    except (BotoCoreError, ClientError) as exc:
        raise ProviderError(
            f"transcription.model {uri}: cannot read it from S3 ({exc})", provider="whisper"
        ) from exc
    return folder
