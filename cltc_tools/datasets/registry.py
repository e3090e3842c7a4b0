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
    """A source format: ``read(...)`` streams documents (its arguments are the format's own)."""

    name: str
    summary: str
    read: Callable[..., Iterator[Document]]


CONVERTERS: Registry[Converter] = Registry("converter")
CONVERTERS.add("rcv", Converter("rcv", "Reuters RCV1/RCV2 newsitem XML (files, folders, zips); one top-level topic",
                                read_rcv))
CONVERTERS.add("mldoc", Converter("mldoc", "MLDoc LABEL<TAB>TEXT lines (CCAT, ECAT, GCAT, MCAT)", read_mldoc))
CONVERTERS.add("sib200", Converter("sib200", "SIB-200 TSV: index_id<TAB>category<TAB>text", read_sib200))
CONVERTERS.add("xlmt", Converter("xlmt", "cardiffnlp/xlm-t text file + label-id file", read_xlmt))
CONVERTERS.add("tsv", Converter("tsv", "any TSV/CSV file (csv module quoting)", read_table))

SHARES: Registry[dict[str, int]] = Registry("share table")
SHARES.add("paper", PAPER_SHARES)
