import numpy as np
import pytest

from cltc_tools.report.render import render_tables
from cltc_tools.report.tables import (
    Cell,
    bootstrap_macro_f1,
    cells_from_records,
    comparison_table,
    paired_bootstrap,
    spaces_table,
    translation_table,
    wide_comparison,
    zero_shot_tables,
)

# The paper's Table 6 (FT-MLP, macro F1/P/R in percent) for EN and IT: mono and the six multilingual spaces.
TABLE6 = {
    "en": {"mono": (91.68, 91.62, 91.75), "pseudo_dict": (91.46, 91.21, 91.71), "exp_dict": (91.61, 91.40, 91.81),
           "cca": (91.48, 91.91, 91.05), "sem": (92.07, 93.14, 91.02), "sent_ali": (91.61, 91.68, 91.55),
           "skip_gram": (91.49, 91.40, 91.58)},
}


def records():
    for lang, rows in TABLE6.items():
        for space, (f1, p, r) in rows.items():
            mode = "mono" if space == "mono" else "multi"
            yield {"kind": "metrics", "arch": "ft-mlp", "mode": mode, "train_langs": [lang] if mode == "mono"
                   else ["de", "en", "fr", "it"], "test_lang": lang, "space_method": space, "seed": 0,
                   "macro_f1": f1 / 100, "macro_precision": p / 100, "macro_recall": r / 100}


def test_best_average_and_gain_recomputed_from_per_space_rows():
    rows = {(r["lang"], r["row"]): r for r in comparison_table(cells_from_records(records()))}
    best = rows[("en", "best multi")]
    assert best["space"] == "sem" and best["F1"] == pytest.approx(92.07)
    avg = rows[("en", "avg multi")]
    assert avg["F1"] == pytest.approx(round((91.46 + 91.61 + 91.48 + 92.07 + 91.61 + 91.49) / 6, 2))
    gain = rows[("en", "gain")]
    assert gain["F1"] == pytest.approx(0.39) and gain["P"] == pytest.approx(1.52) and gain["R"] == pytest.approx(-0.73)
    assert rows[("all", "avg gain")]["F1"] == pytest.approx(0.39)


def test_seeds_are_averaged_and_zero_shot_mono_rows_excluded():
    recs = [
        {"kind": "metrics", "arch": "mlp", "mode": "mono", "train_langs": ["de"], "test_lang": "de",
         "space_method": "s", "seed": s, "macro_f1": v, "macro_precision": v, "macro_recall": v}
        for s, v in ((0, 0.5), (1, 0.7))
    ] + [{"kind": "metrics", "arch": "mlp", "mode": "mono", "train_langs": ["en"], "test_lang": "de",
          "space_method": "s", "seed": 0, "macro_f1": 0.1, "macro_precision": 0.1, "macro_recall": 0.1}]
    cells = cells_from_records(recs)
    assert len(cells) == 1 and cells[0].scores["macro_f1"] == pytest.approx(60.0) and cells[0].n_seeds == 2


def test_formats():
    table = wide_comparison(comparison_table(cells_from_records(records())))
    md = render_tables([table], "markdown")
    assert "| EN | best multi | 92.07 (sem) | 93.14 | 91.02 |" in md
    assert render_tables([table], "csv").splitlines()[0] == "lang,setting,ft-mlp F1,ft-mlp P,ft-mlp R"
    tex = render_tables([table], "latex")
    assert r"\begin{tabular}" in tex and r"92.07 (sem) & 93.14 & 91.02 \\" in tex
    assert "<td>92.07 (sem)</td>" in render_tables([table], "html")
    assert '"setting": "gain"' in render_tables([table], "json")


def run(seed, f1, gold, pred, mode="multi", lang="de", train=("de", "en")):
    return {"kind": "metrics", "arch": "mlp", "mode": mode, "train_langs": list(train), "test_lang": lang,
            "space_method": "s", "seed": seed, "macro_f1": f1, "macro_precision": f1, "macro_recall": f1,
            "confusion": {"labels": ["a", "b"]}, "outcomes": {"docs_sha256": "x", "gold": gold, "pred": pred}}


def test_mean_and_std_over_seeds():
    cells = cells_from_records([run(s, v, [0], [0]) for s, v in ((1, 0.5), (2, 0.7), (3, 0.6))])
    assert cells[0].scores["macro_f1"] == 60.0 and round(cells[0].stds["macro_f1"], 6) == 10.0
    table = wide_comparison(comparison_table(cells))
    assert table.rows[0]["mlp F1"] == "60.00 ± 10.00 (s)"


def test_bootstrap_macro_f1_of_the_whole_sample_is_the_macro_f1():
    gold, pred = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    from cltc_tools.training.metrics import macro_f1

    whole = bootstrap_macro_f1(gold, pred, np.arange(5)[None, :], 3)
    assert whole[0] == macro_f1(gold, pred, 3)


def test_paired_bootstrap_separates_a_real_gain_from_noise():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 300)
    good = np.where(rng.random(300) < 0.9, gold, 1 - gold)
    bad = np.where(rng.random(300) < 0.6, gold, 1 - gold)
    also_bad = np.where(rng.random(300) < 0.6, gold, 1 - gold)
    mono = Cell("mlp", "mono", "de", "s", {}, {}, (run(0, 0, gold.tolist(), bad.tolist(), "mono", train=("de",)),))
    multi = Cell("mlp", "multi", "de", "s", {}, {}, (run(0, 0, gold.tolist(), good.tolist()),))
    same = Cell("mlp", "multi", "de", "s", {}, {}, (run(0, 0, gold.tolist(), also_bad.tolist()),))
    assert paired_bootstrap(mono, multi) < 0.01
    assert paired_bootstrap(mono, same) > 0.05
    other_docs = Cell("mlp", "multi", "de", "s", {}, {}, ({**run(0, 0, [0], [0]), "outcomes": {"docs_sha256": "y",
                                                          "gold": [0], "pred": [0]}},))
    assert paired_bootstrap(mono, other_docs) is None


def test_spaces_zero_shot_and_translation_tables():
    recs = list(records()) + [
        {"kind": "metrics", "arch": "mlp", "mode": "mono", "train_langs": ["en"], "test_lang": "de",
         "space_method": "p", "macro_f1": 0.4, "macro_precision": 0.4, "macro_recall": 0.4},
        {"kind": "metrics", "arch": "mlp", "mode": "mono", "train_langs": ["en"], "test_lang": "en",
         "space_method": "p", "macro_f1": 0.9, "macro_precision": 0.9, "macro_recall": 0.9},
        {"kind": "translation-metrics", "name": "procrustes", "src_lang": "de", "tgt_lang": "en",
         "nn": {"p@1": 30.0}, "csls": {"p@1": 35.5}, "nn_all": {"p@1": 20.0}, "csls_all": {"p@1": 22.0},
         "covered_words": 874, "src_words": 1500},
    ]
    spaces = spaces_table(cells_from_records(recs))
    assert [r["embeddings"] for r in spaces.rows][:2] == ["mono", "multi(cca)"]
    zero = zero_shot_tables(recs)
    assert len(zero) == 1 and zero[0].rows == [{"train \\ test": "en", "en": 90.0, "de": 40.0}]  # numbers stay numbers
    assert translation_table(recs).rows[0]["CSLS P@1"] == 35.5

