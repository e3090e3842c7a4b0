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


DENSE_CONFUSION_MAX = 1000  # labels up to which a metrics record holds the dense confusion matrix


def label_counts(gold: Sequence[int], pred: Sequence[int], n_labels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, predictions and support of each label: O(documents + labels) memory, where the
    confusion matrix is O(labels^2) (20,000 labels: 3.2 GB)."""
    g = np.asarray(gold, dtype=np.int64)
    p = np.asarray(pred, dtype=np.int64)
    tp = np.bincount(g[g == p], minlength=n_labels)[:n_labels]
    return tp, np.bincount(p, minlength=n_labels)[:n_labels], np.bincount(g, minlength=n_labels)[:n_labels]


def sparse_confusion(gold: Sequence[int], pred: Sequence[int]) -> list[list[int]]:
    """The non-zero cells of the confusion matrix as [gold, predicted, count], sorted."""
    if len(gold) == 0:
        return []
    cells, counts = np.unique(np.stack([np.asarray(gold, np.int64), np.asarray(pred, np.int64)], axis=1), axis=0,
                              return_counts=True)
    return [[int(g), int(p), int(c)] for (g, p), c in zip(cells, counts)]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=np.float64), where=den > 0)


def per_label_scores(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 and support of each label (0 where undefined, as scikit-learn's zero_division=0)."""
    return scores_from_counts(np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1))


def scores_from_counts(tp: np.ndarray, predicted: np.ndarray,
                       support: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-label precision, recall, F1 and support from the three counts of ``label_counts``."""
    tp, predicted, support = (np.asarray(x, dtype=np.float64) for x in (tp, predicted, support))
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return precision, recall, f1, support


def classification_metrics(gold: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Macro averages over the labels that occur in gold or predictions (scikit-learn's default). The confusion
    matrix is dense up to ``DENSE_CONFUSION_MAX`` labels, else its non-zero cells (``cells``: gold, pred, count)."""
    tp, predicted, support_ = label_counts(gold, pred, len(labels))
    precision, recall, f1, support = scores_from_counts(tp, predicted, support_)
    present = (support > 0) | (predicted > 0)
    n = int(support_.sum())
    if len(labels) <= DENSE_CONFUSION_MAX:
        matrix = confusion_matrix(gold, pred, len(labels))
        confusion: dict[str, Any] = {"labels": list(labels), "matrix": matrix.tolist()}
    else:
        confusion = {"labels": list(labels), "cells": sparse_confusion(gold, pred)}
    return {
        "n": n,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "macro_precision": float(precision[present].mean()) if present.any() else 0.0,
        "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "per_label": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(support[i])}
            for i, label in enumerate(labels) if present[i]
        },
        "confusion": confusion,
    }


def macro_f1(gold: Sequence[int], pred: Sequence[int], n_labels: int) -> float:
    tp, predicted, support = label_counts(gold, pred, n_labels)
    _, _, f1, _ = scores_from_counts(tp, predicted, support)
    present = (support > 0) | (predicted > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def class_weights(counts: Sequence[int]) -> np.ndarray:
    """w_c = ln(sum_k max(n_k, 1) / max(n_c, 1)) + 1 (M'hamdi et al. 2019, eq. 5)."""
    n = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    return np.log(n.sum() / n) + 1.0
