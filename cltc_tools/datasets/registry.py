"""Converters and language-share tables by name (explicit registration)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cltc_tools.datasets.rcv import read_rcv
from cltc_tools.datasets.samplers import PAPER_SHARES
from cltc_tools.datasets.textformats import read_mldoc, read_sib200, read_table, read_xlmt
from cltc_tools.io.documents import Document
from cltc_tools.registry import Registry


@dataclass(frozen=True)
class Converter:
    """A source format: ``read(...)`` streams documents.

    With ``generic=True`` the format needs no options of its own: ``read(file, lang, split)``, and ``cltc-data
    NAME FILE --out DIR [--lang L] [--split S]`` is made for it from this entry (``help`` is its --help text,
    ``empty`` says why a file gave no document). Formats with their own options have a command in ``cli/data.py``.
    """

    name: str
    summary: str
    read: Callable[..., Iterator[Document]]
    generic: bool = False
    help: str = ""
    empty: str = "no documents (empty file)"


MLDOC_HELP = """\b
Examples:
  cltc-data mldoc mldoc/english.train.1000 --out mldoc
  cltc-data mldoc mldoc/german.dev --lang de --split dev --out mldoc

One 'LABEL<TAB>TEXT' document per line, labels CCAT, ECAT, GCAT, MCAT (the output of MLDoc's
generate_documents.py). Texts written as Python bytes literals (b'...', with escaped quotes and
\\xNN escapes) are decoded. The language and split default to the file name (english.train.1000:
en, train); ids are <lang>-<split>-<n>, n the 0-based line number.
"""

CONVERTERS: Registry[Converter] = Registry("converter")
CONVERTERS.register("rcv", Converter("rcv", "Reuters RCV1/RCV2 newsitem XML (files, folders, zips); one top-level topic",
                                read_rcv))
CONVERTERS.register("mldoc", Converter("mldoc", "MLDoc LABEL<TAB>TEXT lines (CCAT, ECAT, GCAT, MCAT)", read_mldoc,
                                       generic=True, help=MLDOC_HELP))
CONVERTERS.register("sib200", Converter("sib200", "SIB-200 TSV: index_id<TAB>category<TAB>text", read_sib200))
CONVERTERS.register("xlmt", Converter("xlmt", "cardiffnlp/xlm-t text file + label-id file", read_xlmt))
CONVERTERS.register("tsv", Converter("tsv", "any TSV/CSV file (csv module quoting)", read_table))

SHARES: Registry[dict[str, int]] = Registry("share table")
SHARES.register("paper", PAPER_SHARES)
