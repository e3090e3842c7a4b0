"""Space directories: vectors.npy (memory-mapped), words.txt, space.json."""

from __future__ import annotations

import os
import stat

import numpy as np
import orjson
import pytest

from cltc_tools.errors import InputError, OutputExistsError
from cltc_tools.io.space import FORMAT, LangBlock, open_space, write_space


def blocks(dim: int = 4, seed: int = 0) -> list[LangBlock]:
    rng = np.random.default_rng(seed)
    de = ["haus", "ein haus", "\u3000", "straße", "haus"]
    en = ["house", "a\u00a0house", "tab\tword"]
    return [LangBlock("de", de, rng.standard_normal((5, dim)).astype(np.float32)),
            LangBlock("en", en, rng.standard_normal((3, dim)).astype(np.float32))]


@pytest.fixture
def space_dir(tmp_path):
    path = tmp_path / "space"
    write_space(path, blocks(), provenance=[{"method": "test"}])
    return path


def test_layout_follows_the_spec(space_dir):
    assert sorted(p.name for p in space_dir.iterdir()) == ["space.json", "vectors.npy", "words.txt"]
    meta = orjson.loads((space_dir / "space.json").read_bytes())
    assert meta["format"] == FORMAT
    assert meta["dim"] == 4
    assert meta["langs"] == {"de": [0, 5], "en": [5, 8]}
    assert meta["provenance"] == [{"method": "test"}]
    assert len(meta["sha256"]) == 64
    lines = (space_dir / "words.txt").read_bytes().decode().split("\n")
    assert lines[:2] == ["de\thaus", "de\tein haus"]
    assert lines[7] == "en\ttab\tword"
    assert lines[8] == ""
    matrix = np.load(space_dir / "vectors.npy", mmap_mode="r")
    assert isinstance(matrix, np.memmap)
    assert matrix.dtype == np.float32 and matrix.shape == (8, 4) and matrix.flags.c_contiguous
    expected = np.concatenate([b.vectors for b in blocks()])
    assert np.array_equal(np.asarray(matrix), expected)


def test_open_space_maps_instead_of_reading(space_dir):
    space = open_space(space_dir)
    assert isinstance(space.vectors, np.memmap)
    assert "_words" not in space.__dict__  # words are read on first use only
    assert len(space) == 8 and space.dim == 4
    assert space.langs == {"de": (0, 5), "en": (5, 8)}
    assert space.provenance == [{"method": "test"}]
    assert space.sha256 == orjson.loads((space_dir / "space.json").read_bytes())["sha256"]


def test_multilingual_spans_and_lookup(space_dir):
    space = open_space(space_dir)
    original = blocks()
    assert space.rows("en") == (5, 8)
    assert space.words("de") == original[0].words
    assert space.words("en") == original[1].words
    assert np.array_equal(space.lang_vectors("en"), original[1].vectors)
    block = space.block("de")
    assert block.lang == "de" and np.array_equal(block.vectors, original[0].vectors)
    index = space.index("de")
    assert index["haus"] == 0  # first occurrence wins
    assert index["\u3000"] == 2
    assert "house" not in index
    assert space.index("en")["tab\tword"] == 2
    assert np.array_equal(space.lang_vectors("en")[space.index("en")["house"]], original[1].vectors[0])
    with pytest.raises(InputError, match="'fr' is not in this space.*de, en"):
        space.rows("fr")


@pytest.mark.parametrize("fortran", [False, True])
def test_read_lang_is_a_writable_copy_of_the_language_rows(space_dir, fortran):
    if fortran:  # a Fortran-order file (numpy writes one for a column-major array): rows are not contiguous
        matrix = np.load(space_dir / "vectors.npy")
        np.save(space_dir / "vectors.npy", np.asfortranarray(matrix))
    space, original = open_space(space_dir), blocks()
    for lang, block in zip(("de", "en"), original):
        rows = space.read_lang(lang)
        assert np.array_equal(rows, block.vectors) and rows.flags.writeable and rows.flags.c_contiguous
    rows[:] = 0  # a copy: the space is untouched
    assert np.array_equal(open_space(space_dir).lang_vectors("en"), original[1].vectors)


def test_sha256_is_a_content_fingerprint(tmp_path):
    a = write_space(tmp_path / "a", blocks())
    b = write_space(tmp_path / "b", blocks(), provenance=[{"other": "provenance"}])
    c = write_space(tmp_path / "c", blocks(seed=1))
    assert a == b != c
    assert (tmp_path / "a" / "vectors.npy").read_bytes() == (tmp_path / "b" / "vectors.npy").read_bytes()


def test_space_directory_gets_the_usual_mode(space_dir):
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(space_dir.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's private 0700


def test_overwrite_needs_force(space_dir):
    with pytest.raises(OutputExistsError):
        write_space(space_dir, blocks(seed=3))
    write_space(space_dir, blocks(seed=3), force=True)
    assert np.array_equal(open_space(space_dir).lang_vectors("en"), blocks(seed=3)[1].vectors)
    assert sorted(p.name for p in space_dir.parent.iterdir()) == ["space"]


@pytest.mark.parametrize("bad", [
    [],
    [LangBlock("de", ["a"], np.zeros((1, 2), np.float32)), LangBlock("de", ["b"], np.zeros((1, 2), np.float32))],
    [LangBlock("de", ["a", "b"], np.zeros((1, 2), np.float32))],
    [LangBlock("de", ["a"], np.zeros((1, 2), np.float32)), LangBlock("en", ["b"], np.zeros((1, 3), np.float32))],
    [LangBlock("de", ["line\nbreak"], np.zeros((1, 2), np.float32))],
])
def test_write_space_rejects_bad_blocks_and_leaves_nothing(tmp_path, bad):
    with pytest.raises(InputError):
        write_space(tmp_path / "space", bad)
    assert list(tmp_path.iterdir()) == []


def _edit_meta(path, **changes):
    meta = orjson.loads((path / "space.json").read_bytes())
    meta.update(changes)
    (path / "space.json").write_bytes(orjson.dumps(meta))


def test_words_and_vectors_disagree(space_dir):
    words = space_dir / "words.txt"
    text = words.read_text(encoding="utf-8")
    words.write_text(text + "en\textra\n", encoding="utf-8")
    with pytest.raises(InputError, match="more lines than vectors.npy"):
        open_space(space_dir).words("de")
    words.write_text("".join(text.splitlines(keepends=True)[:-1]), encoding="utf-8")
    with pytest.raises(InputError, match="7 lines but vectors.npy has 8 rows"):
        open_space(space_dir).words("en")


def test_words_txt_language_and_format_checked(space_dir):
    words = space_dir / "words.txt"
    lines = words.read_text(encoding="utf-8").splitlines(keepends=True)
    words.write_text("".join(lines[:5] + ["de\thouse\n"] + lines[6:]), encoding="utf-8")
    with pytest.raises(InputError) as info:
        open_space(space_dir).words("en")
    assert info.value.line == 6
    words.write_text("".join(lines[:2] + ["no tab here\n"] + lines[3:]), encoding="utf-8")
    with pytest.raises(InputError, match="lang<TAB>token") as info:
        open_space(space_dir).words("de")
    assert info.value.line == 3


@pytest.mark.parametrize("changes, message", [
    ({"format": "other/1"}, "not a cltc-space/1"),
    ({"langs": {}}, "langs"),
    ({"langs": {"de": [0, 5], "en": [6, 8]}}, "contiguous"),
    ({"langs": {"de": [0, 5], "en": [5, 7]}}, "cover 7 rows"),
    ({"langs": {"de": [5, 0], "en": [5, 8]}}, "bad row range"),
    ({"dim": 5}, "dim 5"),
    ({"dim": "4"}, "'dim'"),
])
def test_bad_space_json(space_dir, changes, message):
    _edit_meta(space_dir, **changes)
    with pytest.raises(InputError, match=message):
        open_space(space_dir)


def test_unreadable_parts(tmp_path, space_dir):
    with pytest.raises(InputError, match="not a space directory"):
        open_space(tmp_path / "nothing")
    (space_dir / "space.json").write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON"):
        open_space(space_dir)
    (space_dir / "words.txt").unlink()
    with pytest.raises(InputError, match="lacks words.txt"):
        open_space(space_dir)


def test_matrix_must_be_float32_2d(space_dir):
    np.save(space_dir / "vectors.npy", np.zeros((8, 4), dtype=np.float64))
    with pytest.raises(InputError, match="float32"):
        open_space(space_dir)
    (space_dir / "vectors.npy").write_bytes(b"not an npy file")
    with pytest.raises(InputError, match="unreadable"):
        open_space(space_dir)
