"""Named registries (torchvision ``models/_api.py`` style) and the one merge of hyper-parameters.

Every registry of the toolbox (alignment methods, embedding trainers, architectures, converters, share tables,
normalisation steps) is a :class:`Registry`: entries are added explicitly with ``register(name, obj)`` in the
package's registration module, a duplicate name is rejected and an unknown name is answered with the known ones.
Every configurable entry merges its settings with :func:`merge_hparams`: defaults < preset < explicit options.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from cltc_tools.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table; duplicate names are rejected, unknown names list the known ones."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T) -> T:
        """Add ``obj`` under ``name`` and return it; a name can be registered once."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for plug-ins and tests that register temporarily)."""
        self.get(name)
        del self._items[name]

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            raise InputError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


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
