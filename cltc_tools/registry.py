"""Named registries (torchvision ``models/_api.py`` style) and the one merge of hyper-parameters.

Every registry of the toolbox (alignment methods, embedding trainers, architectures, converters, share tables,
normalisation steps) is a :class:`Registry`: entries are added explicitly with ``register(name, obj)`` in the
package's registration module, a duplicate name is rejected and an unknown name is answered with the known ones.
Every configurable entry merges its settings with :func:`merge_hparams`: defaults < preset < explicit options.
Modules that define entries import torch with :func:`deferred_import`, so that listing a registry's names (every
``--help``) does not load it.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cltc_tools.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table; duplicate names are rejected, unknown names list the known ones."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._deferred: dict[str, Callable[[], T]] = {}

    def register(self, name: str, obj: T) -> T:
        """Add ``obj`` under ``name`` and return it; a name can be registered once."""
        if name in self._items or name in self._deferred:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        return obj

    def register_deferred(self, name: str, load: Callable[[], T]) -> None:
        """Add the entry that ``load()`` returns on first use, so that listing the names (``--help``) does not
        import what the entry needs (torch)."""
        if name in self._items or name in self._deferred:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._deferred[name] = load

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for plug-ins and tests that register temporarily)."""
        self.get(name)
        del self._items[name]

    def get(self, name: str) -> T:
        if name in self._deferred:
            self._items[name] = self._deferred.pop(name)()
        try:
            return self._items[name]
        except KeyError:
            raise InputError(f"unknown {self.kind} {name!r} (known: {', '.join(self.names())})") from None

    def names(self) -> list[str]:
        return sorted([*self._items, *self._deferred])

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._deferred

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


class _DeferredModule(types.ModuleType):
    """A stand-in that imports the real module on the first attribute access, then holds its attributes."""

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(vars(module))
        return getattr(module, attr)


def deferred_import(name: str) -> Any:
    """``torch = deferred_import("torch")``: the module is imported when first used, not when this line runs."""
    return _DeferredModule(name)


@dataclass(frozen=True)
class Option:
    """A hyper-parameter that a registered entry takes on the command line as ``flag(key)``: its value type (bool: an
    on/off pair, list: repeatable), a metavar and a one-line help that ends with the default in brackets."""

    key: str
    type: type
    metavar: str
    help: str


TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool, "list": list}


def options_table(table: str) -> tuple[Option, ...]:
    """Options from a table, one per line: ``key type metavar help`` (metavar ``-`` for a bool)."""
    found = []
    for line in filter(None, map(str.strip, table.splitlines())):
        key, kind, metavar, text = line.split(None, 3)
        found.append(Option(key, TYPES[kind], "" if metavar == "-" else metavar, text))
    return tuple(found)


def flag(key: str) -> str:
    """The command-line spelling of a hyper-parameter: ``max_epochs`` -> ``--max-epochs``."""
    return "--" + key.replace("_", "-")


def merge_hparams(owner: str, defaults: Mapping[str, Any], presets: Mapping[str, Mapping[str, Any]],
                  preset: str | None, overrides: Mapping[str, Any],
                  generic: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults (``generic`` then the entry's own), then the named preset, then explicit overrides.

    ``None`` overrides mean "not given". An unknown preset, or an option that is not among the defaults, is an
    ``InputError`` naming ``owner`` (e.g. ``--method cca``) and its own options.
    """
    if preset is not None and preset not in presets:
        raise InputError(f"unknown preset {preset!r} (known: {', '.join(sorted(presets)) or 'none'})")
    given = {k: v for k, v in overrides.items() if v is not None}
    known = {**(generic or {}), **defaults}
    foreign = sorted(k for k in given if k not in known)
    if foreign:
        options = ", ".join(flag(k) for k in foreign)
        own = ", ".join(flag(k) for k in defaults) or "none"
        raise InputError(f"{options} does not apply to {owner} (its own options: {own})")
    params = dict(known)
    if preset is not None:
        params.update(presets[preset])
    params.update(given)
    return params
