"""The paper's tables from records: Table 2/3 (mono vs best and average multi, gains), Tables 6/7 (every space),
a zero-shot matrix and a word-translation table; mean +- std over seeds and paired-bootstrap p-values."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cltc_tools.errors import InputError

SCORES = ("macro_f1", "macro_precision", "macro_recall")
SHORT = {"macro_f1": "F1", "macro_precision": "P", "macro_recall": "R"}
TABLES = ("comparison", "spaces", "zero-shot", "translation")


@dataclass(frozen=True)
class Cell:
    """Scores (percent) of one (arch, mode, test language, space) over its seeds: mean, std and the runs."""

    arch: str
    mode: str
    lang: str
    space: str
    scores: dict[str, float]
    stds: dict[str, float] = field(default_factory=dict)
    runs: tuple[dict[str, Any], ...] = ()

    @property
    def n_seeds(self) -> int:
        return len(self.runs)


@dataclass
class Table:
    """A titled table: ``rows`` are dicts keyed by ``columns`` (numbers stay numbers for csv/json)."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]]


def _check_metrics(record: dict[str, Any]) -> None:
    for key in ("arch", "mode", "test_lang", *SCORES):
        if key not in record:
            raise InputError(f"metrics record without {key!r}")


def is_zero_shot(record: dict[str, Any]) -> bool:
    """A model tested on a language it was not trained on."""
    return record["test_lang"] not in record.get("train_langs", [record["test_lang"]])


def cells_from_records(records: Iterable[dict[str, Any]], zero_shot: bool = False) -> list[Cell]:
    """Group metrics records by (arch, mode, test language, space, train languages): the in-language runs, or
    the zero-shot runs (mono or multi) when asked."""
    groups: dict[tuple[str, str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r.get("kind") != "metrics":
            continue
        _check_metrics(r)
        if is_zero_shot(r) != zero_shot:
            continue
        trained = "+".join(r.get("train_langs", [])) if zero_shot else ""
        groups[(r["arch"], r["mode"], r["test_lang"], str(r.get("space_method") or "unknown"), trained)].append(r)
    return [_cell(key[:4], rs) for key, rs in sorted(groups.items())]


def _cell(key: tuple[str, str, str, str], runs: list[dict[str, Any]]) -> Cell:
    runs = sorted(runs, key=lambda r: (str(r.get("seed")), str(r.get("model"))))
    values = {k: np.array([100.0 * float(r[k]) for r in runs]) for k in SCORES}
    stds = {k: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for k, v in values.items()}
    return Cell(*key, {k: float(v.mean()) for k, v in values.items()}, stds, tuple(runs))


# ---- significance --------------------------------------------------------------------------------------------

def bootstrap_macro_f1(gold: np.ndarray, pred: np.ndarray, samples: np.ndarray, n_labels: int) -> np.ndarray:
    """Macro-F1 of each bootstrap sample (rows of document indices), over the labels present in the sample."""
    b = np.repeat(np.arange(samples.shape[0]), samples.shape[1])
    g, p = gold[samples].ravel(), pred[samples].ravel()
    size = samples.shape[0] * n_labels
    tp = np.bincount(b * n_labels + g, weights=(g == p), minlength=size).reshape(-1, n_labels)
    n_gold = np.bincount(b * n_labels + g, minlength=size).reshape(-1, n_labels)
    n_pred = np.bincount(b * n_labels + p, minlength=size).reshape(-1, n_labels)
    present = (n_gold + n_pred) > 0
    f1 = np.divide(2 * tp, n_gold + n_pred, out=np.zeros_like(tp), where=present)
    return (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def _outcomes(run: dict[str, Any]) -> tuple[str, np.ndarray, np.ndarray, int] | None:
    out = run.get("outcomes")
    if not isinstance(out, dict) or "gold" not in out or "pred" not in out:
        return None
    n_labels = len(run.get("confusion", {}).get("labels", [])) or 1 + max(out["gold"] + out["pred"] + [0])
    return out.get("docs_sha256", ""), np.asarray(out["gold"]), np.asarray(out["pred"]), n_labels


def paired_bootstrap(mono: Cell, multi: Cell, n_samples: int = 1000, seed: int = 0) -> float | None:
    """Two-sided p-value of the macro-F1 gain of multi over mono: paired bootstrap over the test documents
    (Berg-Kirkpatrick et al. 2012), seeds paired in order and their gains averaged. None without outcomes."""
    pairs = [(_outcomes(a), _outcomes(b)) for a, b in zip(mono.runs, multi.runs)]
    if not pairs or any(a is None or b is None or a[0] != b[0] or len(a[1]) != len(b[1]) for a, b in pairs):
        return None
    n_docs = len(pairs[0][0][1])  # type: ignore[index]
    if n_docs == 0 or any(len(a[1]) != n_docs for a, _ in pairs):  # type: ignore[index]
        return None
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, n_docs, size=(n_samples, n_docs))
    observed, resampled = 0.0, np.zeros(n_samples)
    for a, b in pairs:
        labels = max(a[3], b[3])  # type: ignore[index]
        whole = np.arange(n_docs)[None, :]
        observed += float(bootstrap_macro_f1(b[1], b[2], whole, labels)[0]
                          - bootstrap_macro_f1(a[1], a[2], whole, labels)[0])  # type: ignore[index]
        resampled += bootstrap_macro_f1(b[1], b[2], samples, labels) - bootstrap_macro_f1(a[1], a[2], samples, labels)  # type: ignore[index]
    observed /= len(pairs)
    resampled /= len(pairs)
    return float((np.abs(resampled - observed) >= abs(observed)).mean())


# ---- tables --------------------------------------------------------------------------------------------------

def _lang_order(lang: str) -> tuple[int, str]:
    return (0 if lang == "en" else 1, lang)


def _row(lang: str, row: str, arch: str, space: str, scores: dict[str, float],
         stds: dict[str, float] | None = None, n_seeds: int = 0, p_value: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"lang": lang, "row": row, "arch": arch, "space": space}
    out.update({SHORT[k]: round(scores[k], 2) for k in SCORES})
    out.update({f"{SHORT[k]}_std": round((stds or {}).get(k, 0.0), 2) for k in SCORES})
    out["seeds"] = n_seeds
    out["p_value"] = None if p_value is None else round(p_value, 4)
    return out


def comparison_table(cells: Sequence[Cell], n_samples: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """Table 2/3 rows: mono, best multi (by mean F1), avg multi, gain (with p-value); then avg gain per arch."""
    by_key: dict[tuple[str, str], dict[str, list[Cell]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        by_key[(c.arch, c.lang)][c.mode].append(c)
    rows: list[dict[str, Any]] = []
    gains: dict[str, list[dict[str, float]]] = defaultdict(list)
    for (arch, lang), modes in sorted(by_key.items(), key=lambda kv: (_lang_order(kv[0][1]), kv[0][0])):
        mono, multi = modes.get("mono", []), modes.get("multi", [])
        if mono:
            rows.append(_row(lang, "mono", arch, mono[0].space, mono[0].scores, mono[0].stds, mono[0].n_seeds))
        if not multi:
            continue
        best = max(multi, key=lambda c: c.scores["macro_f1"])
        avg = {k: float(np.mean([c.scores[k] for c in multi])) for k in SCORES}
        rows.append(_row(lang, "best multi", arch, best.space, best.scores, best.stds, best.n_seeds))
        rows.append(_row(lang, "avg multi", arch, f"{len(multi)} spaces", avg))
        if mono:
            gain = {k: best.scores[k] - mono[0].scores[k] for k in SCORES}
            gains[arch].append(gain)
            p = paired_bootstrap(mono[0], best, n_samples, seed)
            rows.append(_row(lang, "gain", arch, best.space, gain, p_value=p))
    for arch, values in sorted(gains.items()):
        rows.append(_row("all", "avg gain", arch, "", {k: float(np.mean([g[k] for g in values])) for k in SCORES}))
    return rows


def _fmt(value: float, std: float = 0.0, seeds: int = 0) -> str:
    return f"{value:.2f} ± {std:.2f}" if seeds > 1 else f"{value:.2f}"


@dataclass(frozen=True)
class Score:
    """A table cell that stays numbers (JSON: ``{"mean": 85.12, "std": 0.3, "seeds": 3}``) and reads as
    ``85.12 ± 0.30`` in text formats."""

    mean: float
    std: float
    seeds: int

    def __str__(self) -> str:
        return _fmt(self.mean, self.std, self.seeds)


def _score(value: float, std: float, seeds: int) -> float | Score:
    """One seed: the number (2 decimals); several: mean, standard deviation and count."""
    return round(value, 2) if seeds <= 1 else Score(round(value, 2), round(std, 2), seeds)


def wide_comparison(rows: Sequence[dict[str, Any]], title: str = "Mono vs multilingual training") -> Table:
    """The paper's layout: one line per (language, row), F1/P/R columns per architecture."""
    archs = sorted({r["arch"] for r in rows})
    lines: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        lines.setdefault((r["lang"], r["row"]), {})[r["arch"]] = r
    columns = ["lang", "setting"] + [f"{a} {s}" for a in archs for s in ("F1", "P", "R")]
    out = []
    for (lang, row), by_arch in lines.items():
        line: dict[str, Any] = {"lang": lang.upper() if lang != "all" else "", "setting": row}
        for a in archs:
            cell = by_arch.get(a)
            for s in ("F1", "P", "R"):
                line[f"{a} {s}"] = "-" if cell is None else _cell_text(cell, s, row)
        out.append(line)
    return Table(title, columns, out)


def _cell_text(cell: dict[str, Any], score: str, row: str) -> str:
    text = _fmt(cell[score], cell[f"{score}_std"], cell["seeds"])
    if score == "F1" and row == "best multi":
        text += f" ({cell['space']})"
    if score == "F1" and row == "gain" and cell.get("p_value") is not None:
        text += f" (p={cell['p_value']:.3f})"
    return text


def spaces_table(cells: Sequence[Cell]) -> Table:
    """Tables 6/7: every (language, space) with F1/P/R per architecture; mono first."""
    archs = sorted({c.arch for c in cells})
    lines: dict[tuple[str, str], dict[str, Cell]] = {}
    for c in sorted(cells, key=lambda c: (_lang_order(c.lang), c.mode != "mono", c.space)):
        name = "mono" if c.mode == "mono" else f"multi({c.space})"
        lines.setdefault((c.lang, name), {})[c.arch] = c
    columns = ["lang", "embeddings"] + [f"{a} {s}" for a in archs for s in ("F1", "P", "R")]
    rows = []
    for (lang, name), by_arch in lines.items():
        row: dict[str, Any] = {"lang": lang.upper(), "embeddings": name}
        for a in archs:
            c = by_arch.get(a)
            for k in SCORES:
                row[f"{a} {SHORT[k]}"] = "-" if c is None else _score(c.scores[k], c.stds[k], c.n_seeds)
        rows.append(row)
    return Table("Every embedding space", columns, rows)


def in_language_cell(cells: Sequence[Cell], arch: str, space: str, lang: str) -> Cell | None:
    """The model trained on ``lang`` alone that a zero-shot result is compared with: same architecture, the same
    space if there is one, else any."""
    mono = [c for c in cells if c.arch == arch and c.mode == "mono" and c.lang == lang and not is_zero_shot(c.runs[0])]
    return next((c for c in mono if c.space == space), mono[0] if mono else None)


def _zero_shot_text(cell: Cell, reference: Cell | None) -> str:
    """Mean (± std over seeds); a zero-shot cell says so, with its gap to the in-language mono model if any."""
    text = _fmt(cell.scores["macro_f1"], cell.stds["macro_f1"], cell.n_seeds)
    if not is_zero_shot(cell.runs[0]):
        return text
    if reference is None:
        return f"{text} (zero-shot)"
    gap = cell.scores["macro_f1"] - reference.scores["macro_f1"]
    where = "" if reference.space == cell.space else f" in {reference.space}"
    return f"{text} (zero-shot, {gap:+.2f} vs mono{where})"


def zero_shot_tables(records: Iterable[dict[str, Any]]) -> list[Table]:
    """Train language(s) x test language macro-F1 (mean ± std over seeds) of every model, mono and multi, per
    arch and space, for each arch and space with a zero-shot result (a test language the model was not trained
    on); a zero-shot cell shows its gap to the mono model of the test language where there is one."""
    records = [r for r in records if r.get("kind") == "metrics"]
    cells = cells_from_records(records) + cells_from_records(records, zero_shot=True)
    by_model: dict[tuple[str, str], dict[tuple[str, str], Cell]] = defaultdict(dict)
    for cell in cells:
        by_model[(cell.arch, cell.space)]["+".join(cell.runs[0].get("train_langs", [])), cell.lang] = cell
    tables = []
    for (arch, space), found in sorted(by_model.items()):
        if not any(is_zero_shot(c.runs[0]) for c in found.values()):
            continue  # no cross-language evaluation: nothing beyond the in-language results
        trains = sorted({t for t, _ in found}, key=lambda t: (t.count("+"), _lang_order(t)))
        tests = sorted({t for _, t in found}, key=_lang_order)
        rows = [{"train \\ test": t, **{s: _zero_shot_text(found[(t, s)], in_language_cell(cells, arch, space, s))
                                          if (t, s) in found else "-" for s in tests}} for t in trains]
        tables.append(Table(f"Zero-shot macro-F1, {arch}, space {space}", ["train \\ test", *tests], rows))
    return tables


def translation_table(records: Iterable[dict[str, Any]]) -> Table:
    """P@1 (NN, CSLS) per space and language pair, covered and all-words conventions, with coverage."""
    rows = []
    for r in records:
        if r.get("kind") != "translation-metrics":
            continue
        try:
            rows.append({"space": str(r.get("name") or r.get("method")), "pair": f"{r['src_lang']}-{r['tgt_lang']}",
                         "NN P@1": r["nn"]["p@1"], "CSLS P@1": r["csls"]["p@1"],
                         "NN P@1 (all)": r["nn_all"]["p@1"], "CSLS P@1 (all)": r["csls_all"]["p@1"],
                         "coverage": f"{r['covered_words']}/{r['src_words']}"})
        except (KeyError, TypeError):
            raise InputError("translation-metrics record without nn/csls P@1 and coverage") from None
    return Table("Word translation (P@1, %)", ["space", "pair", "NN P@1", "CSLS P@1", "NN P@1 (all)",
                                               "CSLS P@1 (all)", "coverage"], rows)
