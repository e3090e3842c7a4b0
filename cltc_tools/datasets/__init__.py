"""Datasets for the cltc commands: converters from source formats to documents JSONL, and samplers.

Converters (:data:`CONVERTERS`): Reuters RCV1/RCV2 XML, MLDoc, SIB-200, xlm-t, generic TSV/CSV. Samplers:
stratified train/dev/test splits, per-language caps (the paper's imbalance) and the low-data regime.
The library prints nothing and raises :class:`~cltc_tools.errors.InputError` for bad input.
"""

from cltc_tools.datasets.common import DatasetSummary, dataset_sha256, source_sha256, write_documents, write_lines
from cltc_tools.datasets.rcv import TOP_TOPICS, RcvStats, read_rcv
from cltc_tools.datasets.registry import CONVERTERS, SHARES, Converter
from cltc_tools.datasets.samplers import (
    PAPER_SHARES,
    apportion,
    cap_sample,
    plan_caps,
    read_pool,
    sample_pool,
    stratified_split,
)
from cltc_tools.datasets.textformats import read_mldoc, read_sib200, read_table, read_xlmt

__all__ = [
    "CONVERTERS", "PAPER_SHARES", "SHARES", "TOP_TOPICS", "Converter", "DatasetSummary", "RcvStats", "apportion",
    "cap_sample", "dataset_sha256", "plan_caps", "read_mldoc", "read_pool", "read_rcv", "read_sib200",
    "read_table", "read_xlmt", "sample_pool", "source_sha256", "stratified_split", "write_documents", "write_lines",
]
