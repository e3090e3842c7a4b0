"""What every command shares: error handling, exit statuses, SIGPIPE, stdin records, stderr output."""

from __future__ import annotations

import errno
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cltc_tools.errors import CLTCError, InputError
from cltc_tools.io import records as rec

F = TypeVar("F", bound=Callable[..., Any])

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or messages on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error.")]
Force = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing outputs.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed: fixes every random choice.")]
DEVICE_DEFAULT = "auto"
Device = Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda",
                                     help="Where to compute: auto takes a GPU when there is one.")]


def make_app(help_text: str, epilog: str | None = None, **kwargs: Any) -> typer.Typer:
    return typer.Typer(
        help=help_text, epilog=epilog, add_completion=False, no_args_is_help=False,
        rich_markup_mode=None, pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, **kwargs,
    )


_SESSIONS: list[Session] = []  # the sessions of the command running now (see cli_errors)


class Session:
    """The I/O of one command run: stdin records in, records out, messages to stderr."""

    def __init__(self, tool: str, quiet: bool = False, read_stdin: bool = True, emit: bool = True):
        self.tool = tool
        self.quiet = quiet
        self.emits = emit
        self.err = Console(stderr=True, quiet=quiet, highlight=False, soft_wrap=True)
        raw = _stdin_lines() if read_stdin else []
        self.records: list[dict[str, Any]] = rec.parse_records(raw)
        # passed through before the first record of this command, or when it succeeds (cli_errors): a command
        # that fails prints nothing on stdout, so a pipeline never carries the provenance of a failed step
        self._passthrough = [line.rstrip(b"\r\n") + b"\n" for line in raw if line.strip()]
        _SESSIONS.append(self)

    def flush_passthrough(self) -> None:
        if self._passthrough:
            out = _stdout()
            out.write(b"".join(self._passthrough))
            out.flush()
            self._passthrough = []

    @staticmethod
    def read_stdin_records() -> list[dict[str, Any]]:
        """Records on stdin without passing them through (for commands that end a pipeline)."""
        return rec.parse_records(_stdin_lines())

    @staticmethod
    def read_stdin_numbered_records() -> list[tuple[int, dict[str, Any]]]:
        """(line number, record) on stdin, without passing them through."""
        return rec.numbered_records(_stdin_lines())

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return rec.of_kind(self.records, kind)

    def emit(self, record: dict[str, Any]) -> None:
        if self.emits:
            self.flush_passthrough()
            rec.write_record(record, _stdout())

    def record(self, kind: str, **fields: Any) -> dict[str, Any]:
        record = rec.make_record(kind, self.tool, **fields)
        self.emit(record)
        return record

    def log(self, message: str) -> None:
        self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        self.err.print(f"{self.tool}: warning: {message}", markup=False)

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr (rate and ETA); yields ``advance(n)``."""
        if self.quiet or not self.err.is_terminal:
            yield lambda n=1: None
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.speed:>8.1f}/s" if total else ""), TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=self.err, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.advance(task, n)


def _stdout():
    return getattr(sys.stdout, "buffer", sys.stdout)


def _stdin_lines() -> list[bytes]:
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return []
    try:
        if stdin.isatty():
            return []
    except ValueError:
        return []
    data = getattr(stdin, "buffer", stdin).read()
    if isinstance(data, str):
        data = data.encode()
    if data.startswith(b"\xef\xbb\xbf"):  # a record file saved with a UTF-8 byte order mark
        data = data[3:]
    return data.splitlines()


def cli_errors(tool: str) -> Callable[[F], F]:
    """Turn library exceptions into one stderr line and an exit status (2 bad input, 1 other)."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            debug = bool(kwargs.get("debug"))
            _SESSIONS.clear()
            try:
                result = func(*args, **kwargs)
                _flush_sessions()
                return result
            except typer.Exit as done:
                if not done.exit_code:
                    _flush_sessions()
                raise
            except typer.Abort:
                raise
            except InputError as err:
                _fail(tool, err, debug, 2)
            except KeyboardInterrupt:
                typer.echo(f"{tool}: interrupted", err=True)
                raise typer.Exit(130) from None
            except BrokenPipeError:
                _silence_stdout()
                raise typer.Exit(0) from None
            except OSError as err:
                _fail(tool, _disk_full(err) or err, debug, 1)
            except (CLTCError, MemoryError, RuntimeError, ValueError) as err:
                _fail(tool, err, debug, 1)
            except Exception as err:  # a bug, not the user's fault: still one line, the traceback with --debug
                _fail(tool, err, debug, 1, internal=True)
            finally:
                _SESSIONS.clear()

        return wrapper  # type: ignore[return-value]

    return decorator


def _flush_sessions() -> None:
    for session in _SESSIONS:
        session.flush_passthrough()


def _fail(tool: str, err: BaseException, debug: bool, status: int, internal: bool = False) -> None:
    if debug:
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    if isinstance(err, InputError):
        message = err.render()
    elif internal:
        message = f"internal error: {type(err).__name__}: {err} (rerun with --debug for the traceback)"
    else:
        message = f"error: {err}"
    typer.echo(f"{tool}: {' '.join(message.split(chr(10)))}", err=True)
    raise typer.Exit(status) from None


_DISK_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
              errno.EFBIG: "file too large (file size limit, ulimit -f)"}


def _disk_full(err: OSError) -> CLTCError | None:
    """A full disk, quota or file size limit as one clear line (the outputs' temporaries are already removed)."""
    if err.errno not in _DISK_FULL:
        return None
    where = f" while writing {err.filename}" if err.filename else ""
    return CLTCError(f"{_DISK_FULL[err.errno]}{where}: nothing was written (partial outputs removed); free space "
                     "or write elsewhere with --out")


def _stdout_closed() -> bool:
    """Started with standard output closed (``>&-``): Python then has no sys.stdout."""
    if sys.stdout is None:
        return True
    try:
        os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return True
    return False


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def run(app: typer.Typer) -> None:
    """Entry point of a console script: default SIGPIPE, so ``| head`` ends quietly."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if hasattr(signal, "SIGXFSZ"):  # over ``ulimit -f`` a write fails with EFBIG (a message) instead of a core dump
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    if _stdout_closed():  # every command writes records: refuse before any work rather than lose them
        tool = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "cltc"
        print(f"{tool}: error: standard output is closed, so the records would be lost: redirect it "
              "(> records.jsonl, or > /dev/null to discard them)", file=sys.stderr)
        raise SystemExit(1)
    app()


def parse_langs(value: str | None) -> list[str] | None:
    """``"en,de"`` -> ["en", "de"]; None or empty -> None."""
    if not value:
        return None
    langs = [x.strip() for x in value.split(",") if x.strip()]
    return langs or None


def paths_from(values: Iterable[Path] | None) -> list[Path]:
    return [Path(v) for v in values or []]
