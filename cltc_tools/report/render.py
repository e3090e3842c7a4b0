"""Render report tables as Markdown, CSV, LaTeX, HTML or JSON."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

import orjson

from cltc_tools.errors import InputError
from cltc_tools.report.tables import Table

FORMATS = ("markdown", "csv", "latex", "html", "json")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def markdown(table: Table) -> str:
    lines = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(_text(r.get(c)) for c in table.columns) + " |" for r in table.rows]
    return "\n".join(lines) + "\n"


def csv_text(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=table.columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(table.rows)
    return buffer.getvalue()


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}", "±": r"$\pm$"}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex(table: Table) -> str:
    """A booktabs tabular inside a table float with the title as caption."""
    spec = "l" * 2 + "r" * (len(table.columns) - 2)
    lines = [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(_latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_escape(_text(r.get(c))) for c in table.columns) + r" \\" for r in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_latex_escape(table.title)}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def html_text(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_text(r.get(c)))}</td>" for c in table.columns) + "</tr>\n"
                   for r in table.rows)
    return f"<h3>{html.escape(table.title)}</h3>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"


def render_tables(tables: Sequence[Table], fmt: str) -> str:
    if fmt == "json":
        data = [{"title": t.title, "columns": t.columns, "rows": t.rows} for t in tables]
        return orjson.dumps(data if len(data) != 1 else data[0], option=orjson.OPT_INDENT_2).decode() + "\n"
    renderers = {"markdown": markdown, "csv": csv_text, "latex": latex, "html": html_text}
    if fmt not in renderers:
        raise InputError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return "\n".join(renderers[fmt](t) for t in tables)
