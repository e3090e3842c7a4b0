import pytest

from cltc_tools.report import cells_from_records, comparison_table, render

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
    rows = comparison_table(cells_from_records(records()))
    md = render(rows, "markdown")
    assert "| EN | best multi | 92.07 (sem) |" in md
    csv = render(rows, "csv")
    assert csv.splitlines()[0] == "lang,row,arch,space,F1,P,R"
    assert '"row": "gain"' in render(rows, "json")

