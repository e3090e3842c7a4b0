"""VecMap-style normalisation of embedding matrices (Artetxe et al. 2018), applied step by step in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from cltc_tools.registry import Registry

Step = Callable[[np.ndarray], np.ndarray]
STEPS: Registry[Step] = Registry("normalisation step")


def _nonzero(norms: np.ndarray) -> np.ndarray:
    return np.where(norms == 0, 1, norms)


def unit(X: np.ndarray) -> np.ndarray:
    """Each row scaled to unit L2 length (zero rows stay zero)."""
    return X / _nonzero(np.linalg.norm(X, axis=1, keepdims=True))


def center(X: np.ndarray) -> np.ndarray:
    """The mean row subtracted: every dimension has mean zero."""
    return X - X.mean(axis=0, keepdims=True, dtype=np.float64).astype(X.dtype)


def unitdim(X: np.ndarray) -> np.ndarray:
    """Each column (dimension) scaled to unit L2 length, as VecMap's ``unitdim``."""
    return X / _nonzero(np.linalg.norm(X, axis=0, keepdims=True))


STEPS.register("unit", unit)
STEPS.register("center", center)
STEPS.register("unitdim", unitdim)


def parse_steps(value: str | Sequence[str] | None) -> list[str]:
    """``"unit,center,unit"`` -> ["unit", "center", "unit"]; unknown steps are an InputError."""
    if value is None:
        return []
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip() for n in names if n.strip() and n.strip() != "none"]
    for name in names:
        STEPS.get(name)
    return names


def normalize(X: np.ndarray, steps: Sequence[str]) -> np.ndarray:
    """Apply the named steps in order; returns a new float32 matrix (``X`` is left as it is)."""
    out = X if steps else np.array(X, dtype=np.float32)  # each step makes a new matrix
    for name in steps:
        out = STEPS.get(name)(out).astype(np.float32, copy=False)
    return out
