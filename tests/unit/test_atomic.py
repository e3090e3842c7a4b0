"""Atomic outputs: the old output or none after a failure, never a half-written one; --force semantics."""

from __future__ import annotations

import pytest

from cltc_tools.errors import InputError, OutputExistsError
from cltc_tools.io.atomic import atomic_dir, atomic_file, check_writable


class Boom(Exception):
    pass


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_file(target, mode="w") as handle:
        handle.write("héllo\n")
        assert not target.exists()  # written under a temporary name in the same folder
        assert len(names(target.parent)) == 1 and names(target.parent)[0].startswith(".out.txt.tmp-")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert names(target.parent) == ["out.txt"]


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_atomic_file_failure_keeps_old_output(tmp_path, error):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(error):
        with atomic_file(target, force=True) as handle:
            handle.write(b"half-writ")
            raise error()
    assert target.read_bytes() == b"old"
    assert names(tmp_path) == ["out.bin"]


def test_atomic_file_failure_leaves_nothing(tmp_path):
    with pytest.raises(Boom):
        with atomic_file(tmp_path / "out.bin") as handle:
            handle.write(b"x" * 100_000)
            raise Boom()
    assert names(tmp_path) == []


def test_atomic_file_force(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(OutputExistsError, match="use --force"):
        with atomic_file(target, mode="w") as handle:
            handle.write("new")
    assert target.read_text() == "old"
    with atomic_file(target, force=True, mode="w") as handle:
        handle.write("new")
    assert target.read_text() == "new"
    assert names(tmp_path) == ["out.txt"]


def test_atomic_file_never_replaces_a_directory(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious")
    for force in (False, True):
        with pytest.raises(InputError, match="is a directory"):
            with atomic_file(folder, force=force) as handle:
                handle.write(b"x")
    assert (folder / "keep.txt").read_text() == "precious"


def test_atomic_dir_appears_only_when_complete(tmp_path):
    target = tmp_path / "space"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("a")
        assert not target.exists()
        assert tmp.parent == tmp_path
    assert names(target) == ["a.txt"]
    assert names(tmp_path) == ["space"]


@pytest.mark.parametrize("existing", [False, True])
def test_atomic_dir_failure_keeps_old_output_or_none(tmp_path, existing):
    target = tmp_path / "space"
    if existing:
        target.mkdir()
        (target / "old.txt").write_text("old")
    with pytest.raises(Boom):
        with atomic_dir(target, force=True) as tmp:
            (tmp / "new.txt").write_text("half")
            raise Boom()
    if existing:
        assert names(target) == ["old.txt"]
        assert names(tmp_path) == ["space"]
    else:
        assert names(tmp_path) == []


def test_atomic_dir_force_replaces_whole_directory(tmp_path):
    target = tmp_path / "space"
    target.mkdir()
    (target / "stale.txt").write_text("stale")
    with pytest.raises(OutputExistsError):
        with atomic_dir(target):
            pass
    assert names(target) == ["stale.txt"]
    with atomic_dir(target, force=True) as tmp:
        (tmp / "fresh.txt").write_text("fresh")
    assert names(target) == ["fresh.txt"]
    assert names(tmp_path) == ["space"]  # no .old or .tmp leftovers


def test_check_writable(tmp_path):
    check_writable(tmp_path / "new", force=False)
    (tmp_path / "old").write_text("x")
    check_writable(tmp_path / "old", force=True)
    with pytest.raises(OutputExistsError) as info:
        check_writable(tmp_path / "old", force=False)
    assert isinstance(info.value, InputError)  # exit status 2
    assert str(info.value) == f"{tmp_path / 'old'}: output exists (use --force to overwrite)"
