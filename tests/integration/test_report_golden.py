"""Golden test: the paper's per-space results (Table 6) fed as records reproduce its Table 2 rows."""

from __future__ import annotations

import csv

import pytest

from cltc_tools.report.tables import cells_from_records, comparison_table

# Table 2 of M'hamdi et al. (2019), F1 columns: (mono, best multi, avg multi, gain) per language and architecture.
TABLE2_F1 = {
    ("ft-mlp", "en"): (91.68, 92.07, 91.62, 0.39), ("mf-cnn", "en"): (90.34, 90.80, 90.43, 0.46),
    ("ft-mlp", "de"): (81.65, 84.85, 83.90, 3.20), ("mf-cnn", "de"): (84.11, 86.41, 84.89, 2.30),
    ("ft-mlp", "fr"): (81.92, 88.55, 88.32, 6.63), ("mf-cnn", "fr"): (85.77, 89.47, 88.89, 3.70),
    ("ft-mlp", "it"): (74.20, 81.86, 80.79, 7.66), ("mf-cnn", "it"): (78.16, 81.78, 80.48, 3.62),
}
AVG_GAIN_F1 = {"ft-mlp": 4.47, "mf-cnn": 2.52}


@pytest.fixture(scope="module")
def rows(shared_data):
    path = shared_data.parent / "paper" / "table6-cldc.tsv"
    if not path.is_file():
        pytest.fail(f"{path} is missing")
    records = []
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            mono = row["embeddings"] == "mono"
            records.append({
                "kind": "metrics", "arch": row["arch"], "mode": "mono" if mono else "multi",
                "train_langs": [row["test_lang"]] if mono else ["de", "en", "fr", "it"], "test_lang": row["test_lang"],
                "space_method": row["embeddings"][6:-1] if not mono else "mono", "seed": 0,
                "macro_f1": float(row["f1"]) / 100, "macro_precision": float(row["precision"]) / 100,
                "macro_recall": float(row["recall"]) / 100})
    return {(r["arch"], r["lang"], r["row"]): r for r in comparison_table(cells_from_records(records))}


@pytest.mark.integration
@pytest.mark.parametrize("key", sorted(TABLE2_F1))
def test_mono_best_average_and_gain_match_table_2(rows, key):
    arch, lang = key
    mono, best, avg, gain = TABLE2_F1[key]
    assert rows[(arch, lang, "mono")]["F1"] == pytest.approx(mono, abs=0.005)
    assert rows[(arch, lang, "best multi")]["F1"] == pytest.approx(best, abs=0.005)
    assert rows[(arch, lang, "avg multi")]["F1"] == pytest.approx(avg, abs=0.011)  # the paper rounds the mean
    assert rows[(arch, lang, "gain")]["F1"] == pytest.approx(gain, abs=0.011)


@pytest.mark.integration
@pytest.mark.parametrize("arch", sorted(AVG_GAIN_F1))
def test_average_gain_matches_table_2(rows, arch):
    assert rows[(arch, "all", "avg gain")]["F1"] == pytest.approx(AVG_GAIN_F1[arch], abs=0.011)
