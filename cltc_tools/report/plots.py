"""PNG figures for reports (matplotlib, optional dependency: ``pip install 'cltc-tools[plot]'``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cltc_tools.errors import CLTCError
from cltc_tools.io.atomic import atomic_file


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CLTCError("plots need matplotlib: pip install 'cltc-tools[plot]'") from None
    return plt


def grouped_bars(path: Path, groups: list[str], series: dict[str, list[float]], ylabel: str, title: str) -> None:
    """One group of bars per x label, one bar per series; written atomically as PNG."""
    plt = _pyplot()
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(groups) * max(1, len(series)) / 2), 3.2), dpi=120)
    for i, (name, values) in enumerate(series.items()):
        ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(groups))], values, width, label=name)
    ax.set_xticks(range(len(groups)), groups)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    with atomic_file(path, force=True, mode="wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)


def gain_figure(rows: Sequence[dict[str, Any]], path: Path) -> bool:
    """Macro-F1 gain of the best multilingual space over mono, per language and architecture."""
    gains = [r for r in rows if r["row"] == "gain"]
    if not gains:
        return False
    langs = sorted({r["lang"] for r in gains}, key=lambda x: (x != "en", x))
    series = {a: [next((r["F1"] for r in gains if r["arch"] == a and r["lang"] == lang), 0.0) for lang in langs]
              for a in sorted({r["arch"] for r in gains})}
    grouped_bars(path, [x.upper() for x in langs], series, "macro-F1 gain (points)", "Best multi minus mono")
    return True


def translation_figure(rows: Sequence[dict[str, Any]], path: Path) -> bool:
    """CSLS P@1 per alignment method and language pair."""
    if not rows:
        return False
    pairs = sorted({r["pair"] for r in rows})
    series = {s: [next((r["CSLS P@1"] for r in rows if r["space"] == s and r["pair"] == p), 0.0) for p in pairs]
              for s in sorted({r["space"] for r in rows})}
    grouped_bars(path, pairs, series, "P@1 (CSLS, %)", "Word translation")
    return True
