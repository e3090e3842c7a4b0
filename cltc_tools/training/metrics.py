"""Classification metrics: macro F1/precision/recall, accuracy, per-label scores, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(gold: Sequence[int], pred: Sequence[int], n_labels: int) -> np.ndarray:
    """[gold, predicted] counts."""
    matrix = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return matrix


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def per_label_scores(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 and support of each label (0 where undefined, as scikit-learn's zero_division=0)."""
    tp = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support


def classification_metrics(gold: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Macro averages over the labels that occur in gold or predictions (scikit-learn's default)."""
    matrix = confusion_matrix(gold, pred, len(labels))
    precision, recall, f1, support = per_label_scores(matrix)
    present = (support > 0) | (matrix.sum(axis=0) > 0)
    n = int(matrix.sum())
    return {
        "n": n,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "macro_precision": float(precision[present].mean()) if present.any() else 0.0,
        "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
        "accuracy": float(np.trace(matrix) / n) if n else 0.0,
        "per_label": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(support[i])}
            for i, label in enumerate(labels) if present[i]
        },
        "confusion": {"labels": list(labels), "matrix": matrix.tolist()},
    }


def macro_f1(gold: Sequence[int], pred: Sequence[int], n_labels: int) -> float:
    matrix = confusion_matrix(gold, pred, n_labels)
    _, _, f1, support = per_label_scores(matrix)
    present = (support > 0) | (matrix.sum(axis=0) > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def class_weights(counts: Sequence[int]) -> np.ndarray:
    """w_c = ln(sum_k max(n_k, 1) / max(n_c, 1)) + 1 (M'hamdi et al. 2019, eq. 5)."""
    n = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    return np.log(n.sum() / n) + 1.0
