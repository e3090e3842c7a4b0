"""The one tokenizer of the toolbox, shared by every command.

``unicode``: Unicode NFC, words (letters/digits with inner hyphens or apostrophes) and single punctuation marks.
``eltec``: the rules that produced the shared fastText vectors (NFC, apostrophes unified, lower-cased, English
clitics and French/Italian elisions split), so that lookups find their words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from cltc_tools.errors import InputError

_WORD = re.compile(r"\w+(?:[-']\w+)*|[^\w\s]")
_ELTEC = re.compile(r"'(?:s|re|ve|ll|d|m)\b|n't\b|\w+'(?=\s|$)|\w+(?:[-']\w+)*|[^\w\s]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})
_SPACES = re.compile(r"\s+")
_EN_CLITIC = re.compile(r"(?<=\w)(n't|'(?:s|re|ve|ll|d|m))\b")
_ELISION = re.compile(r"\b(\w{1,6}')(?=\w)")
_ELISION_KEEP = ("aujourd'hui", "quelqu'un", "quelqu'une", "prud'homme", "presqu'île")

STYLES = ("unicode", "eltec")


@dataclass(frozen=True)
class Tokenizer:
    style: str = "unicode"
    lowercase: bool = True

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise InputError(f"unknown tokenizer {self.style!r} (known: {', '.join(STYLES)})")

    def __call__(self, text: str, lang: str = "") -> list[str]:
        if self.style == "eltec":
            return eltec_tokens(text, lang)
        text = unicodedata.normalize("NFC", text)
        if self.lowercase:
            text = text.lower()
        return _WORD.findall(text)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Tokenizer:
        return cls(style=obj.get("style", "unicode"), lowercase=bool(obj.get("lowercase", True)))


def _split_elisions(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        start = match.start()
        word_end = re.match(r"[\w'-]*", text[start:])
        whole = word_end.group(0) if word_end else ""
        if any(whole.startswith(keep) for keep in _ELISION_KEEP):
            return match.group(1)
        return match.group(1) + " "

    return _ELISION.sub(repl, text)


def eltec_tokens(text: str, lang: str = "") -> list[str]:
    """Tokenise as the shared eltec-parallel vectors were (see their README, section Preprocessing)."""
    text = unicodedata.normalize("NFC", text).replace("\u00ad", "")
    text = _SPACES.sub(" ", text).translate(_APOSTROPHES).lower()
    base = lang.split("-")[0].lower()
    if base == "en":
        text = _EN_CLITIC.sub(r" \1", text)
    elif base in ("fr", "it"):
        text = _split_elisions(text)
    return _ELTEC.findall(text)
