"""Shared pieces of the reliability suite: Hypothesis profiles, byte and JSON mutators, the error-format checks.

Profiles (chosen with the environment variable HYPOTHESIS_PROFILE):
  default  500 examples per reader fuzz target, 100 per command-line fuzz target (CI)
  long     10,000 per reader target, 1,000 per command-line target (the recorded run of docs/RELIABILITY.md)
Each target runs once per seed of ``FUZZ_SEEDS`` (conftest.py), with its examples shared among the seeds, so a
failure names its seed (``test_x[seed11]``) and reproduces.
The profiles are applied per test (``@FUZZ``, ``@CLI_FUZZ``); Hypothesis' global settings stay untouched, so the
other tests of the repository keep their own example counts.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from cltc_tools.errors import InputError

_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("reliability", max_examples=500, **_COMMON)
settings.register_profile("reliability-long", max_examples=10_000, **_COMMON)

PROFILE = "reliability-long" if os.environ.get("HYPOTHESIS_PROFILE", "") in ("long", "reliability-long") \
    else "reliability"
FUZZ_SEEDS = (0, 11, 2026)  # 11: the seed of the BOM-only stdin case (test_train_on_damaged_stdin_records)
_TOTAL = settings.get_profile(PROFILE).max_examples
FUZZ = settings(settings.get_profile(PROFILE), max_examples=-(-_TOTAL // len(FUZZ_SEEDS)))
CLI_EXAMPLES = _TOTAL // 10 if PROFILE == "reliability-long" else _TOTAL // 5
CLI_FUZZ = settings(FUZZ, max_examples=-(-CLI_EXAMPLES // len(FUZZ_SEEDS)))

# Bytes that break naive readers: line ends, BOM, Unicode spaces, NaN/Inf, huge numbers, NUL, bad UTF-8, JSON
# punctuation, gzip magic.
SPICE = [
    b"\r\n", b"\r", b"\n", b"\n\n", b"\t", b" ", b"  ", b"\xef\xbb\xbf", "\u3000".encode(), "\u00a0".encode(),
    "\u2028".encode(), "\u0085".encode(), b"\x0b", b"\x0c", b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80",
    b"nan", b"NaN", b"inf", b"-inf", b"1e39", b"-1e400", b"1e400", b"99999999999999999999", b"1000000000000",
    b"-1", b"0", b"0x10", b"1_0", "\u0661".encode(), "\u00b2".encode(), b"1.5", b'"', b"{", b"}", b"[", b"]",
    b":", b",", b"null", b"true", b"false", b'""', b'"label"', b'"lang"', b'"text"', b'"id"', b"[]", b"{}",
    b'["a","b"]', b"\\u0000", b"\\ud800", b"\x1f\x8b", b"\x1f\x8b\x08\x00", b"haus", b"\xe6\x97\xa5",
]


@st.composite
def mutated(draw: Any, seeds: list[bytes], max_ops: int = 6) -> bytes:
    """A seed file with a few random edits: set, insert, delete, truncate, duplicate or swap a range."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, max_ops))):
        op = draw(st.sampled_from(("set", "insert", "insert", "delete", "truncate", "dup", "swap")))
        pos = draw(st.integers(0, len(data)))
        if op == "set" and data:
            data[min(pos, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(SPICE) | st.binary(min_size=1, max_size=6))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 12))]
        elif op == "truncate":
            del data[pos:]
        elif op == "dup":
            end = min(len(data), pos + draw(st.integers(1, 40)))
            data[end:end] = data[pos:end]
        elif op == "swap" and len(data) > 2:
            other = draw(st.integers(0, len(data) - 1))
            a, b = sorted((pos, other))
            n = min(draw(st.integers(1, 20)), b - a, len(data) - b)
            data[a:a + n], data[b:b + n] = data[b:b + n], data[a:a + n]
    return bytes(data)


def fuzz_bytes(seeds: list[bytes], max_size: int = 300) -> st.SearchStrategy[bytes]:
    """Mostly mutated seeds, sometimes arbitrary bytes."""
    return st.one_of(mutated(seeds), mutated(seeds), mutated(seeds), st.binary(max_size=max_size))


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 63), 2 ** 64 - 1), st.sampled_from([0, 1, -1, 2 ** 31, 10 ** 12]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=8)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, prefix + (i,))
    return out


@st.composite
def mutated_json(draw: Any, seed: Any, max_ops: int = 3) -> bytes:
    """A JSON document with a few values replaced by arbitrary JSON values, or keys deleted."""
    doc = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, max_ops))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            doc = draw(JSON_VALUES)
            continue
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(JSON_VALUES)
    return json.dumps(doc).encode()


LOCATED = re.compile(r"^(?P<file>.+?)(?::(?P<line>[0-9]+))?: (?P<problem>\S.*)$")


def check_located(err: InputError, *allowed: Path) -> re.Match:
    """An InputError that names a file (one of ``allowed`` or inside one of them), a line if any, and a problem."""
    message = str(err)
    assert "\n" not in message and "\r" not in message, f"message spans lines: {message!r}"
    assert err.path is not None, f"no file in the message: {message!r}"
    match = LOCATED.match(message)
    assert match, f"not 'file:line: problem': {message!r}"
    assert match["file"] == err.path
    where = Path(err.path)
    assert any(where == a or a in where.parents for a in allowed), f"{where} is not about {allowed}"
    if err.line is not None:
        assert err.line >= 1
    return match


def run_reader(reader, path: Path, *allowed: Path) -> Any:
    """The reader's result, or None when it raised a well-formed InputError; anything else fails the test."""
    try:
        result = reader(path)
        if hasattr(result, "__next__"):
            result = list(result)
    except InputError as err:
        check_located(err, *(allowed or (path,)))
        event("InputError")
        return None
    event("valid parse")
    return result


CLI_LINE = re.compile(r"^(?P<tool>cltc-[a-z]+): (?P<file>.+?)(?::(?P<line>[0-9]+))?: (?P<problem>\S.*)$")


def succeeded(result: Any) -> bool:
    """Exit 0 (counted for the statistics); anything else must then pass ``check_cli_error``."""
    if result.exit_code == 0:
        event("exit 0")
    return result.exit_code == 0


def check_cli_error(result: Any, *allowed: Path, mentioned: bytes = b"") -> None:
    """Exit status 2, one stderr line ``cltc-x: file[:line]: problem`` about one of ``allowed`` (or a path that the
    damaged input itself names, in ``mentioned``), no traceback."""
    stderr = result.stderr
    event(f"exit {result.exit_code}")
    assert result.exit_code == 2, f"exit {result.exit_code}: {stderr!r} {result.exception!r}"
    assert "Traceback" not in stderr
    lines = [x for x in stderr.splitlines() if x.strip() and ": warning: " not in x]
    assert len(lines) == 1, f"expected one error line: {stderr!r}"
    if os.environ.get("CLTC_FUZZ_LOG"):  # collect the messages, to read what users would see
        with open(os.environ["CLTC_FUZZ_LOG"], "a", encoding="utf-8") as log:
            log.write(lines[0] + "\n")
    match = CLI_LINE.match(lines[0])
    assert match, f"not 'cltc-x: file:line: problem': {lines[0]!r}"
    where = Path(match["file"])
    named = match["file"].encode() in mentioned or json.dumps(match["file"]).encode()[1:-1] in mentioned
    assert named or any(where == a or a in where.parents for a in allowed), f"{lines[0]!r} does not name {allowed}"
