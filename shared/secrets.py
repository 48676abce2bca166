"""Provider keys for the Lambda stages, from Secrets Manager or SSM Parameter Store via Powertools Parameters.

The deployment names WHERE each key lives, never the key itself:

    STORYREEL_OPENAI_SECRET=storyreel/openai            -> Secrets Manager secret (name or ARN)
    STORYREEL_REPLICATE_SECRET=ssm:/storyreel/replicate -> SSM SecureString parameter (decrypted)

A secret's value is either the key itself or a JSON object holding it under the environment variable's name
(`{"OPENAI_API_KEY": "sk-..."}`). Values are cached by Powertools for `max_age` seconds across warm invocations.
A key already present in the environment wins (local runs, tests).
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping

from shared.errors import ConfigError

# environment variable the SDK reads -> environment variable naming the secret that holds it
SECRET_ENV: dict[str, str] = {
    "OPENAI_API_KEY": "STORYREEL_OPENAI_SECRET",
    "REPLICATE_API_TOKEN": "STORYREEL_REPLICATE_SECRET",
    "STABILITY_API_KEY": "STORYREEL_STABILITY_SECRET",
    "FIRECRAWL_API_KEY": "STORYREEL_FIRECRAWL_SECRET",
}
DEFAULT_MAX_AGE_S = 300


def _value(raw: str, env_name: str, where: str) -> str:
    text = raw.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{where} looks like JSON but does not parse") from exc
        if isinstance(data, dict):
            if env_name in data:
                return str(data[env_name])
            if len(data) == 1:
                return str(next(iter(data.values())))
        raise ConfigError(f"{where} is a JSON object without a '{env_name}' key")
    if not text:
        raise ConfigError(f"{where} is empty")
    return text


def load_provider_keys(
    environ: MutableMapping[str, str] | None = None, *, max_age: int = DEFAULT_MAX_AGE_S
) -> list[str]:
    """Fill the SDK key variables from their secrets. Returns the names it set."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    environ = os.environ if environ is None else environ
    loaded: list[str] = []
    for env_name, pointer_name in SECRET_ENV.items():
        pointer = environ.get(pointer_name, "").strip()
        if not pointer or environ.get(env_name):
            continue
        try:
            if pointer.startswith("ssm:"):
                where = f"SSM parameter {pointer[4:]} (from {pointer_name})"
                raw = parameters.get_parameter(pointer[4:], decrypt=True, max_age=max_age)
            else:
                where = f"secret {pointer} (from {pointer_name})"
                raw = parameters.get_secret(pointer, max_age=max_age)
        except GetParameterError as exc:
            raise ConfigError(f"cannot read {where}: {exc}") from exc
        if isinstance(raw, bytes):
            raw = raw.decode()
        environ[env_name] = _value(str(raw), env_name, where)
        loaded.append(env_name)
    return loaded
