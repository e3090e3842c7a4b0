"""Alignment methods by name: ``fit(X, Y) -> W`` with X the paired source rows and Y the pivot rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cltc_tools.align.procrustes import procrustes
from cltc_tools.registry import Registry

AlignMethod = Callable[[np.ndarray, np.ndarray], np.ndarray]

METHODS: Registry[AlignMethod] = Registry("alignment method")
METHODS.add("procrustes", procrustes)
