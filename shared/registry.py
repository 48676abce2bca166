"""Provider registries: each stage declares its providers once, in `services/<stage>/providers/__init__.py`
(virality: `services/virality/sources.py`), and everything that needs the list reads it from there.

A `ProviderSpec` is one provider: its settings name, a factory that imports its module only when it is built,
the vendor key it needs (shared/secrets.py), and the pip extra and modules of its SDK. A `Registry` is one stage's
specs, in order. Its names must equal the settings Literal exactly (checked when the registry is made, so a
provider added to one and not the other fails at import), and it answers what the rest of the tree asks:
`build(config)` for the stage, `get(name)` (a ConfigError naming the setting and the choices), `keys()` and
`secrets()` for the Lambdas' grants, `extra_of(module)` for the CLI's missing-SDK message.

Injection is typed by registry. `Providers` holds instances given to a run instead of built from settings (a
benchmark's fakes, the GPU worker's one loaded model), keyed by the registry they stand in for, so what comes back
has that registry's provider type; `RunContext.provider(registry, config)` (shared/pipeline.py) returns the given
instance, else builds the configured one. Tests that go through a Lambda handler, which builds its own context,
replace a spec's factory in `Registry.specs` with pytest's monkeypatch instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast, get_args

from storyreel.shared.errors import ConfigError
from storyreel.shared.secrets import VendorKey


class Chosen(Protocol):
    """A settings section that names its provider (`transcription`, `llm`, `image_generation`, ...)."""

    @property
    def provider(self) -> str: ...


C = TypeVar("C", bound=Chosen)  # what a provider is built from: its settings section
P = TypeVar("P")  # what it is: the stage's provider Protocol


@dataclass(frozen=True)
class ProviderSpec(Generic[C, P]):
    name: str  # as the settings Literal spells it
    summary: str
    factory: Callable[[C], P]  # imports the provider's module when called, never before
    key: VendorKey | None = None  # the vendor key it needs (a Lambda hosting it is granted that secret)
    extra: str | None = None  # the pip extra that installs its SDK (`storyreel[providers]`)
    sdks: tuple[str, ...] = ()  # top-level modules of that SDK: a missing one names `extra`


class Registry(Generic[C, P]):
    """One stage's providers, in declaration order."""

    def __init__(self, kind: str, setting: str, names: object, specs: Sequence[ProviderSpec[C, P]]) -> None:
        """`kind` is what one provider is ("image_provider", as the runner's log names it); `setting` the settings
        key that chooses ("image_generation.provider"); `names` that key's Literal."""
        declared = [spec.name for spec in specs]
        allowed = [str(name) for name in get_args(names)]
        problems = []
        if missing := [name for name in allowed if name not in declared]:
            problems.append(f"no provider for {', '.join(missing)}")
        if unknown := [name for name in declared if name not in allowed]:
            problems.append(f"{', '.join(unknown)} not in the Literal")
        if twice := sorted({name for name in declared if declared.count(name) > 1}):
            problems.append(f"{', '.join(twice)} declared twice")
        if problems:
            raise TypeError(f"the {kind} registry does not match {setting}'s Literal: " + "; ".join(problems))
        self.kind = kind
        self.setting = setting
        # name -> spec. Read it through get(); tests replace a factory here with monkeypatch.setitem.
        self.specs: dict[str, ProviderSpec[C, P]] = {spec.name: spec for spec in specs}

    def __repr__(self) -> str:
        return f"Registry({self.kind}: {', '.join(self.specs)})"

    def __iter__(self) -> Iterator[ProviderSpec[C, P]]:
        return iter(self.specs.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self.specs)

    def get(self, name: str) -> ProviderSpec[C, P]:
        spec = self.specs.get(name)
        if spec is None:
            raise ConfigError(f"unknown {self.setting} {name!r} (choose one of: {', '.join(self.specs)})")
        return spec

    def build(self, config: C) -> P:
        """The provider `config` names, built from it."""
        return self.get(config.provider).factory(config)

    def keys(self) -> tuple[VendorKey, ...]:
        """The vendor keys its providers can use, each once, in declaration order."""
        return tuple(dict.fromkeys(spec.key for spec in self if spec.key is not None))

    def secrets(self) -> tuple[str, ...]:
        """The stack's secret names of those keys (what a Lambda hosting this stage is granted)."""
        return tuple(key.secret for key in self.keys())

    def extra_of(self, module: str) -> str | None:
        """The pip extra that installs top-level `module`, if one of these providers' SDKs is that module."""
        return next((spec.extra for spec in self if module in spec.sdks and spec.extra), None)


class Providers:
    """Provider instances given to a run instead of built from its settings, one per registry."""

    def __init__(self) -> None:
        # Values are the keys' provider type; add() is the only writer, so get()'s cast holds.
        self._given: dict[Registry[Any, Any], object] = {}

    def add(self, registry: Registry[C, P], provider: P) -> Providers:
        """Give `provider` for `registry` (replacing one given before). Returns self, so calls chain."""
        self._given[registry] = provider
        return self

    def get(self, registry: Registry[C, P]) -> P | None:
        return cast("P | None", self._given.get(registry))

    def __contains__(self, registry: object) -> bool:
        return registry in self._given

    def __len__(self) -> int:
        return len(self._given)

    def named(self) -> list[tuple[str, object]]:
        """(registry kind, instance) in the order they were given: what a run logs."""
        return [(registry.kind, provider) for registry, provider in self._given.items()]

    def copy(self) -> Providers:
        out = Providers()
        out._given = dict(self._given)
        return out
