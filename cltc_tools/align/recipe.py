"""The recipe of an aligned space, kept in its ``space.json``: what a new language must go through to land in the
same coordinate system (pivot, pivot fingerprint, normalisation, method and hyper-parameters)."""

from __future__ import annotations

from typing import Any

from cltc_tools.errors import InputError
from cltc_tools.io.space import LangBlock, Space, block_sha256

RECIPE_KEYS = ("pivot", "pivot_sha256", "normalize", "method", "hparams")


def make_recipe(pivot: LangBlock, method: str, params: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The recipe ``space.json`` keeps: pivot, its fingerprint, normalisation, method and hyper-parameters
    (``params`` as the fit used them, plus ``extra``: the dictionary and refinement settings)."""
    hparams = {k: v for k, v in params.items() if k != "normalize"}
    hparams.update(extra)
    return {"pivot": pivot.lang, "pivot_sha256": block_sha256(pivot), "normalize": list(params["normalize"]),
            "method": method, "hparams": hparams}


def space_recipe(space: Space) -> dict[str, Any] | None:
    """The recipe in ``space.json``, or None (a monolingual import, or a space written before recipes)."""
    recipe = space.meta.get("recipe")
    if recipe is None:
        return None
    if not isinstance(recipe, dict) or any(k not in recipe for k in RECIPE_KEYS):
        raise InputError(f"field 'recipe' must hold {', '.join(RECIPE_KEYS)}", space.path / "space.json")
    return recipe


def describe(recipe: dict[str, Any] | None) -> str:
    """``pivot en (sha256 1a2b3c4d...), normalize unit,center,unit`` for messages."""
    if recipe is None:
        return "no recipe (not made by cltc-align)"
    steps = ",".join(recipe["normalize"]) or "none"
    return f"pivot {recipe['pivot']} (sha256 {str(recipe['pivot_sha256'])[:12]}), normalize {steps}"


def same_coordinates(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Two recipes describe one coordinate system: same pivot, same pivot rows, same normalisation."""
    if a is None or b is None:
        return a is b
    return all(a[k] == b[k] for k in ("pivot", "pivot_sha256", "normalize"))


def coordinates(space: Space, pivot: str) -> dict[str, Any] | None:
    """What fixes a space's coordinates: its recipe's pivot, pivot fingerprint and normalisation; for a space
    without recipe (an import), the fingerprint of its ``pivot`` block as it is, unnormalised (None if it has no
    such block)."""
    recipe = space_recipe(space)
    if recipe is not None:
        return {k: recipe[k] for k in ("pivot", "pivot_sha256", "normalize")}
    if pivot not in space.langs:
        return None
    return {"pivot": pivot, "pivot_sha256": block_sha256(space.block(pivot)), "normalize": []}
