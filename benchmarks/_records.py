"""Writing benchmark records: JSONL on stdout, or atomically to a file that is replaced only with --force."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def refuse_existing(tool: str, out: Path | None, force: bool) -> bool:
    """True (after a message) when ``out`` exists and --force was not given: check before measuring."""
    if out and out.exists() and not force:
        print(f"{tool}: {out}: output exists (use --force to overwrite)", file=sys.stderr)
        return True
    return False


def write_records(out: Path | None, records: Iterable[dict[str, Any]]) -> None:
    """The records as JSONL on stdout, or written atomically to ``out``."""
    text = "".join(json.dumps(r) + "\n" for r in records)
    if not out:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, out)


def record_main(tool: str, args: Any, render: Callable[[Path], str], measure: Callable[[], Iterable[dict]]) -> int:
    """``--render FILE`` prints the table; otherwise measure and write the records (exit 2 on an existing --out)."""
    if args.render:
        sys.stdout.write(render(args.render))
        return 0
    if refuse_existing(tool, args.out, args.force):
        return 2
    write_records(args.out, measure())
    return 0


def render_main(doc: str, records: Path, table: Callable[[Path], str]) -> None:
    """The command line of a script that only renders: ``--render DIR`` prints ``table(DIR)``."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--render", type=Path, default=records, metavar="DIR",
                        help=f"print the RESULTS.md table of the records in DIR [{records.name}]")
    print(table(parser.parse_args().render))
