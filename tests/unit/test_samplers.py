"""Samplers: stratified splits, per-language caps (the paper's shares), the low-data regime, determinism."""

from __future__ import annotations

import random
from collections import Counter

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cltc_tools.datasets.samplers import (
    PAPER_SHARES,
    Line,
    apportion,
    cap_sample,
    controlled_round,
    plan_caps,
    read_documents_pool,
    read_lines,
    read_pool,
    sample_pool,
    shares_caps,
    stratified_split,
)
from cltc_tools.errors import InputError

LABEL_SIZES = {"a": 53, "b": 31, "c": 12, "d": 3, "e": 1}


def _lines(lang: str, sizes: dict[str, int] = LABEL_SIZES, seed: int = 0) -> list[Line]:
    labels = [label for label, n in sizes.items() for _ in range(n)]
    random.Random(seed).shuffle(labels)
    return [Line(orjson.dumps({"id": f"{lang}-{i}", "lang": lang, "text": f"t{i}", "label": label}), lang, label,
                 (label,)) for i, label in enumerate(labels)]


def _labels(lines: list[Line]) -> Counter[str]:
    return Counter(line.label for line in lines)


# --------------------------------------------------------------------------------------------------
# Apportionment


def test_apportion_largest_remainder_within_one():
    rng = random.Random(0)
    alloc = apportion(20, LABEL_SIZES, None, rng)
    assert sum(alloc.values()) == 20
    whole = sum(LABEL_SIZES.values())
    for label, n in LABEL_SIZES.items():
        assert abs(alloc[label] - 20 * n / whole) < 1


def test_apportion_caps_and_limits():
    rng = random.Random(0)
    assert apportion(5, {"a": 1, "b": 1}, {"a": 1, "b": 0}, rng) == {"a": 1, "b": 0}, "total capped by the caps"
    assert apportion(0, {"a": 3}, None, rng) == {"a": 0}
    alloc = apportion(4, {"a": 2, "b": 2}, {"a": 0, "b": 2}, rng)
    assert alloc == {"a": 0, "b": 2}
    alloc = apportion(3, {"a": 5, "b": 5, "c": 5}, {"a": 0, "b": 5, "c": 5}, rng)
    assert alloc["a"] == 0 and sum(alloc.values()) == 3


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefg"), st.integers(1, 40), min_size=1), st.integers(0, 300),
       st.integers(0, 10))
def test_apportion_properties(sizes, total, seed):
    alloc = apportion(total, sizes, None, random.Random(seed))
    whole = sum(sizes.values())
    assert sum(alloc.values()) == min(total, whole)
    for label, n in sizes.items():
        assert 0 <= alloc[label] <= n
        assert abs(alloc[label] - min(total, whole) * n / whole) < 1


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefghij"), st.integers(0, 30), min_size=1),
       st.floats(0, 0.45), st.floats(0, 0.45), st.integers(0, 10))
def test_controlled_round_properties(sizes, dev, test, seed):
    whole = sum(sizes.values())
    n_test, n_dev = int(test * whole + 0.5), int(dev * whole + 0.5)
    totals = [n_test, n_dev, whole - n_test - n_dev]
    cells = controlled_round(sizes, totals, random.Random(seed))
    for j, total in enumerate(totals):
        assert sum(cells[k][j] for k in sizes) == total
    for k, n in sizes.items():
        assert sum(cells[k]) == n
        for j, total in enumerate(totals):
            assert abs(cells[k][j] - n * total / whole) < 1 if whole else cells[k][j] == 0


# --------------------------------------------------------------------------------------------------
# Stratified split


def test_split_stratified_complete_and_ordered():
    lines = _lines("en") + _lines("de", {"a": 10, "b": 10}, seed=1)
    groups = stratified_split(lines, dev=0.1, test=0.2, seed=3)
    for lang, n in (("en", 100), ("de", 20)):
        parts = {split: groups.get((lang, split), []) for split in ("train", "dev", "test")}
        every = [line for part in parts.values() for line in part]
        assert sorted(line.raw for line in every) == sorted(line.raw for line in lines if line.lang == lang)
        assert len(parts["test"]) == round(0.2 * n) and len(parts["dev"]) == round(0.1 * n)
        sizes = _labels([line for line in lines if line.lang == lang])
        for split, part in parts.items():
            counts = _labels(part)
            for label, size in sizes.items():
                assert abs(counts[label] - len(part) * size / n) < 1, (lang, split, label)
            order = [lines.index(line) for line in part]
            assert order == sorted(order), "input order kept"


def test_split_deterministic_by_seed_and_per_language():
    en = _lines("en")
    a = stratified_split(en, 0.1, 0.2, seed=7)
    assert a == stratified_split(en, 0.1, 0.2, seed=7)
    assert a != stratified_split(en, 0.1, 0.2, seed=8)
    with_de = stratified_split(en + _lines("de"), 0.1, 0.2, seed=7)
    assert {k: v for k, v in with_de.items() if k[0] == "en"} == a, "adding a language leaves the others alone"


def test_split_fractions_checked():
    for dev, test in ((0.5, 0.5), (-0.1, 0.2), (0.1, 1.0)):
        with pytest.raises(InputError, match="--dev and --test"):
            stratified_split(_lines("en"), dev, test, 0)
    only_train = stratified_split(_lines("en"), 0.0, 0.0, 0)
    assert list(only_train) == [("en", "train")]


def test_split_single_documents_stay_in_train():
    lines = _lines("it", {"x": 1, "y": 1, "z": 8})
    groups = stratified_split(lines, 0.1, 0.1, seed=0)
    assert len(groups[("it", "test")]) == 1 and len(groups[("it", "dev")]) == 1


# --------------------------------------------------------------------------------------------------
# Caps, shares, low-data regime


def test_cap_sample_stratified_and_honoured():
    lines = _lines("en")
    kept = cap_sample(lines, 40, seed=0, lang="en")
    assert len(kept) == 40
    counts = _labels(kept)
    for label, size in LABEL_SIZES.items():
        assert abs(counts[label] - 40 * size / 100) < 1
    order = [lines.index(line) for line in kept]
    assert order == sorted(order)
    assert cap_sample(lines, 40, 0, "en") == kept and cap_sample(lines, 40, 1, "en") != kept
    assert cap_sample(lines, 500, 0, "en") == lines


def test_paper_shares_scaled_to_the_largest_language():
    available = {"en": 1000, "de": 1000, "fr": 1000, "it": 1000}
    caps = shares_caps(PAPER_SHARES, available, None)
    assert caps["en"] == 1000
    assert caps == {lang: 1000 * PAPER_SHARES[lang] // PAPER_SHARES["en"] for lang in available}
    assert caps == {"en": 1000, "de": 120, "fr": 96, "it": 30}
    total = shares_caps(PAPER_SHARES, available, 500)
    assert sum(total.values()) <= 500 and total["en"] == 500 * 418566 // sum(PAPER_SHARES.values())
    only_two = shares_caps(PAPER_SHARES, {"de": 100, "it": 100}, None)
    assert only_two == {"de": 100, "it": 100 * 12566 // 50387}, "the largest share present keeps all"
    with pytest.raises(InputError, match="no share for language.*es: give --cap es=N"):
        shares_caps(PAPER_SHARES, {"en": 5, "es": 5}, None)


def test_plan_caps_combines_constraints():
    available = {"en": 1000, "de": 200, "it": 50}
    plan = plan_caps(available, caps={"de": 150}, shares=PAPER_SHARES, max_docs=600)
    assert plan.caps == {"en": 600, "de": 120, "it": 30}
    plan = plan_caps(available, max_docs=100)
    assert plan.caps == {"en": 100, "de": 100, "it": 100} and plan.short == {"it": 50}
    with pytest.raises(InputError, match="--cap names language.*fr"):
        plan_caps(available, caps={"fr": 3})
    with pytest.raises(InputError, match="--total needs --shares"):
        plan_caps(available, total=5)
    with pytest.raises(InputError, match="--max-docs must be at least 1"):
        plan_caps(available, max_docs=0)


def test_sample_pool_caps_one_split_and_copies_the_others(tmp_path):
    root = tmp_path / "data"
    for lang, sizes in (("en", LABEL_SIZES), ("it", {"a": 6, "b": 4})):
        (root / lang).mkdir(parents=True)
        lines = _lines(lang, sizes)
        (root / lang / "train.jsonl").write_bytes(b"\n".join(line.raw for line in lines) + b"\n")
        (root / lang / "test.jsonl").write_bytes(lines[0].raw + b"\n\n" + lines[1].raw + b"\n")
    pool = read_pool([root])
    assert pool.langs() == ["en", "it"] and pool.labels == set(LABEL_SIZES)
    plan = plan_caps({"en": 100, "it": 10}, max_docs=8)
    out = sample_pool(pool, "train", plan, seed=0)
    assert len(out[("en", "train")]) == 8 and len(out[("it", "train")]) == 8
    assert out[("en", "test")] == pool.lines("en", "test") and len(out[("it", "test")]) == 2
    assert _labels(out[("it", "train")]) == {"a": 5, "b": 3}, "8 x (0.6, 0.4) = (4.8, 3.2): largest remainder"


def test_read_pool_files_take_the_split_from_their_name(tmp_path):
    (tmp_path / "dev.jsonl").write_text('{"lang":"en","text":"x","label":"a"}\n', encoding="utf-8")
    (tmp_path / "docs.jsonl").write_text('{"lang":"de","text":"y","label":"b"}\n', encoding="utf-8")
    pool = read_pool([tmp_path / "dev.jsonl", tmp_path / "docs.jsonl"], default_split="train")
    assert sorted(pool.groups) == [("de", "train"), ("en", "dev")]


@pytest.mark.parametrize("content, problem", [
    ("", "no documents (the file is empty)"),
    ("\n\n", "no documents (the file is empty)"),
    ('{"lang":"en","text":"x"}\n{"lang":"en"\n', ":2: invalid JSON"),
    ('{"lang":"en","text":"x"}\n{"text":"y"}\n', ":2: missing field 'lang'"),
])
def test_bad_or_empty_inputs(tmp_path, content, problem):
    path = tmp_path / "train.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        read_lines(path)
    assert excinfo.value.render().startswith(str(path)) and problem in excinfo.value.render()


def test_folder_without_documents_files(tmp_path):
    with pytest.raises(InputError, match="no <lang>/<split>.jsonl files"):
        read_documents_pool([tmp_path])
    with pytest.raises(InputError, match="no <lang>/<split>.jsonl files"):
        read_pool([tmp_path])
    with pytest.raises(InputError, match="no such file or folder"):
        read_pool([tmp_path / "missing"])
