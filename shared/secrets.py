"""Provider keys for the Lambda stages, from Secrets Manager or SSM Parameter Store via Powertools Parameters.

The deployment names WHERE each key lives, never the key itself:

    STORYREEL_OPENAI_SECRET=storyreel/openai            -> Secrets Manager secret (name or ARN)
    STORYREEL_REPLICATE_SECRET=ssm:/storyreel/replicate -> SSM SecureString parameter (decrypted)

A secret's value is the key itself, or a JSON object holding it under the environment variable's name
(`{"OPENAI_API_KEY": "sk-..."}`), under `api_key` / `token` / `key`, or as its only value. Powertools caches
values for `max_age` seconds; a key this loader set is refreshed through that cache on every call, so a rotated
secret reaches a warm Lambda within `max_age`. A key that was in the environment before (local runs, tests) wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

from storyreel.shared.errors import ConfigError


@dataclass(frozen=True)
class VendorKey:
    """One vendor's key: the variable its SDK reads, and the secret the stack keeps it in (storyreel/<secret>,
    named to the Lambda by the variable `pointer`). The stage registries name the key each provider needs."""

    secret: str  # "openai": the secret's name under the stack's prefix, and the vendor doctor reports
    env: str  # "OPENAI_API_KEY": what the SDK reads

    @property
    def pointer(self) -> str:
        """The variable naming the secret that holds the key: STORYREEL_OPENAI_SECRET."""
        return f"STORYREEL_{self.secret.upper()}_SECRET"


OPENAI = VendorKey("openai", "OPENAI_API_KEY")
REPLICATE = VendorKey("replicate", "REPLICATE_API_TOKEN")
STABILITY = VendorKey("stability", "STABILITY_API_KEY")
FIRECRAWL = VendorKey("firecrawl", "FIRECRAWL_API_KEY")
# Every vendor key, once: the loader below reads them in this order; infra's secrets come from this table.
VENDOR_KEYS: tuple[VendorKey, ...] = (OPENAI, REPLICATE, STABILITY, FIRECRAWL)
DEFAULT_MAX_AGE_S = 300
_GENERIC_FIELDS = ("api_key", "token", "key")
# What this loader wrote, per variable: a variable still holding that value is ours and is refreshed on every
# call (key rotation); any other value was put there by someone else and wins.
_WRITTEN: dict[str, str] = {}


def _value(raw: str, env_name: str, where: str) -> str:
    text = raw.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{where} looks like JSON but does not parse") from exc
        if isinstance(data, dict):
            for field in (env_name, *_GENERIC_FIELDS):
                if data.get(field):
                    return str(data[field])
            if len(data) == 1:
                return str(next(iter(data.values())))
        raise ConfigError(
            f"{where} is a JSON object without a '{env_name}', 'api_key', 'token' or 'key' field"
        )
    if not text:
        raise ConfigError(f"{where} is empty")
    return text


def load_provider_keys(
    environ: MutableMapping[str, str] | None = None,
    *,
    max_age: int = DEFAULT_MAX_AGE_S,
    on_unreadable: Callable[[str], None] | None = None,
) -> list[str]:
    """Fill the SDK key variables from their secrets. Returns the names it set.

    A secret that cannot be read is a ConfigError, unless `on_unreadable` is given: then it is reported there
    and skipped (a Lambda is granted every secret its providers could use; only the provider that needs a
    missing key fails, naming its variable). A secret that exists but holds no usable key is always an error."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    environ = os.environ if environ is None else environ
    loaded: list[str] = []
    for vendor in VENDOR_KEYS:
        env_name, pointer_name = vendor.env, vendor.pointer
        pointer = environ.get(pointer_name, "").strip()
        current = environ.get(env_name)
        if not pointer or (current and current != _WRITTEN.get(env_name)):
            continue
        try:
            if pointer.startswith("ssm:"):
                where = f"SSM parameter {pointer[4:]} (from {pointer_name})"
                raw = parameters.get_parameter(pointer[4:], decrypt=True, max_age=max_age)
            else:
                where = f"secret {pointer} (from {pointer_name})"
                raw = parameters.get_secret(pointer, max_age=max_age)
        except GetParameterError as exc:
            if on_unreadable is None:
                raise ConfigError(f"cannot read {where}: {exc}") from exc
            on_unreadable(f"cannot read {where}: {exc}")
            continue
        if isinstance(raw, bytes):
            raw = raw.decode()
        environ[env_name] = _WRITTEN[env_name] = _value(str(raw), env_name, where)
        loaded.append(env_name)
    return loaded
