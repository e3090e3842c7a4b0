import numpy as np
import pytest

from cltc_tools.training.metrics import class_weights, classification_metrics, macro_f1


def test_macro_scores_match_hand_computation():
    gold = [0, 0, 0, 1, 1, 2]
    pred = [0, 0, 1, 1, 2, 2]
    m = classification_metrics(gold, pred, ["a", "b", "c"])
    # per label P/R: a 1/ (2/3), b (1/2)/(1/2), c (1/2)/1
    f1 = [2 * 1 * (2 / 3) / (1 + 2 / 3), 0.5, 2 * 0.5 * 1 / 1.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert m["macro_precision"] == pytest.approx(np.mean([1, 0.5, 0.5]))
    assert m["macro_recall"] == pytest.approx(np.mean([2 / 3, 0.5, 1]))
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"]["matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["per_label"]["a"]["support"] == 3


def test_labels_absent_from_gold_and_predictions_do_not_dilute_the_macro_average():
    m = classification_metrics([0, 1], [0, 1], ["a", "b", "c"])
    assert m["macro_f1"] == 1.0
    assert "c" not in m["per_label"]
    assert macro_f1([0, 1], [0, 1], 3) == 1.0


def test_class_weights_follow_equation_5():
    w = class_weights([90, 10, 0])
    total = 90 + 10 + 1
    assert w == pytest.approx([np.log(total / 90) + 1, np.log(total / 10) + 1, np.log(total / 1) + 1])
    assert w[2] > w[1] > w[0] >= 1.0
