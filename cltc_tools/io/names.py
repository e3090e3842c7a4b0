"""Names from data files that become parts of paths: language codes, names of spaces and models, and the one
function that builds an output path under ``--out`` and proves it stays there.

A language code or a record's ``name`` is data: a corpus, a ``space.json`` or a record stream may hold
``"../../victim"``, an absolute path or a line break. Every reader checks language codes with ``check_lang``,
every name used as a folder or file name goes through ``check_name``, and every path made from such names is
built by ``path_under``, which resolves it (``..`` and symbolic links) and refuses anything outside ``--out``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cltc_tools.errors import InputError

# BCP-47-like: a 2-8 letter primary tag, then subtags of 1-8 letters or digits; "_" is accepted as separator
# (MUSE and fastText write pt_BR, zh_Hans). ASCII only, matched as a whole (no trailing line break).
LANG_PATTERN = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*", re.ASCII)
MAX_NAME = 200


def is_lang(code: object) -> bool:
    return isinstance(code, str) and LANG_PATTERN.fullmatch(code) is not None


def check_lang(code: object, path: str | Path | None = None, line: int | None = None) -> str:
    """A language code or BCP-47 tag (``de``, ``pt-BR``, ``zh_Hans``), else ``InputError`` at ``path:line``."""
    if not is_lang(code):
        shown = repr(code)[:60]
        raise InputError(f"not a language code: {shown} (expected e.g. en, de, pt-BR)", path, line)
    return code  # type: ignore[return-value]


def check_name(name: object, path: str | Path | None = None, line: int | None = None, what: str = "name") -> str:
    """A name usable as one path part: printable, no separator, not ``.``/``..``, not hidden, at most 200
    characters; else ``InputError`` (it came from data, so it is bad input, never silently changed)."""
    problem = _name_problem(name)
    if problem:
        raise InputError(f"{what} {repr(name)[:60]} cannot be a file name: {problem}", path, line)
    return name  # type: ignore[return-value]


def _name_problem(name: object) -> str:
    if not isinstance(name, str) or not name:
        return "empty or not a string"
    if len(name) > MAX_NAME or len(name.encode("utf-8", "surrogatepass")) > 255:
        return f"longer than {MAX_NAME} characters"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "it holds a path separator or is '.' or '..'"
    if name.startswith("."):
        return "it starts with '.' (hidden names are the temporaries of outputs)"
    if not name.isprintable() or name != name.strip():
        return "it holds control characters, line breaks or surrounding white space"
    return ""


def resolved(path: str | Path) -> Path:
    """``path`` with ``..`` and the symbolic links of its folders resolved (the kernel's view), the last part
    kept as written unless it is ``.`` or ``..``: ``out/new/../keep`` is ``out/keep``, whether ``new`` exists
    or not."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        return Path(os.path.realpath(path))
    return Path(os.path.realpath(path.parent)) / path.name


def path_under(out: str | Path, *parts: str, what: str = "name") -> Path:
    """``out/part/...``: every part checked with ``check_name``, and the result, resolved, inside resolved ``out``.

    Returns the path as the user wrote ``out`` (for records and messages); raises ``InputError`` otherwise.
    """
    out = Path(out)
    for part in parts:
        check_name(part, what=what)
    target = out.joinpath(*parts)
    root = Path(os.path.realpath(out))
    real = Path(os.path.realpath(target))
    if real != root and root not in real.parents:
        raise InputError(f"output {target} resolves to {real}, outside {root}", out)
    return target
