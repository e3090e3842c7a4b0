"""Every option that --help shows appears in the command's man page; the pages install with the package."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

MAN = Path(__file__).resolve().parents[2] / "man"
COMMANDS = ("align", "embed", "train", "eval", "report", "data")


def help_options(name: str) -> list[tuple[str, str]]:
    """(subcommand, option name) for every option of every (sub)command, as --help lists them."""
    root = typer.main.get_command(importlib.import_module(f"cltc_tools.cli.{name}").app)
    subs = root.commands.items() if hasattr(root, "commands") else [("", root)]
    out = []
    for sub, command in subs:
        ctx = typer.Context(command)
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                out += [(sub, opt) for opt in param.opts + param.secondary_opts]
    return out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_help_option_is_in_the_man_page(name):
    page = (MAN / f"cltc-{name}.1").read_text().replace("\\-", "-")
    missing = [f"{sub} {opt}".strip() for sub, opt in help_options(name) if opt not in page]
    assert not missing, f"man/cltc-{name}.1 lacks {missing}: run python scripts/gen_man.py"


def test_section_5_and_7_pages_exist():
    assert ".SH RECORD STREAM" in (MAN / "cltc-records.5").read_text()
    assert ".SH EXAMPLE" in (MAN / "cltc-tools.7").read_text()


@pytest.mark.skipif(shutil.which("man") is None, reason="no man program on this machine")
def test_man_finds_the_installed_page():
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "MANPATH": ""}
    env.pop("MANPATH")
    result = subprocess.run(["man", "-w", "cltc-train"], capture_output=True, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip().endswith("cltc-train.1")
