"""Training word embeddings from text: monolingual fastText, multilingual BiSkip and Sent-Ali.

``train_embeddings(method, ...)`` looks the method up in ``METHODS`` (``fasttext``, ``biskip``,
``sent-align``), merges its defaults, the ``paper`` preset and the caller's overrides, trains, writes one
space directory atomically and returns a ``TrainResult`` whose ``record_fields()`` make the ``space`` record.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cltc_tools.embeddings.job import TrainJob, TrainResult
from cltc_tools.embeddings.registry import METHODS, Method
from cltc_tools.errors import InputError


def train_embeddings(job: TrainJob, preset: str | None = None, overrides: dict[str, Any] | None = None) -> TrainResult:
    """Train ``job.method`` with its hyper-parameters (defaults < preset < overrides) and write the space."""
    method = METHODS.get(job.method)
    if method.inputs == "parallel" and job.texts:
        raise InputError(f"--method {method.name} reads sentence pairs: give --parallel FILE, not --input")
    if method.inputs == "text" and job.parallel:
        raise InputError(f"--method {method.name} reads text: give --input FILE, not --parallel")
    if method.inputs == "parallel" and job.lang:
        raise InputError(f"--lang does not apply to --method {method.name} (the pairs name their languages)")
    if job.init_spaces and method.name != "sent-align":
        raise InputError(f"--init-space does not apply to --method {method.name}")
    if job.save_bin is not None and method.name == "sent-align":
        raise InputError("--save-bin applies to the fastText methods (fasttext, biskip)")
    params = method.hparams(preset, overrides or {})
    return method.train(replace(job, params=params))


__all__ = ["METHODS", "Method", "TrainJob", "TrainResult", "train_embeddings"]
