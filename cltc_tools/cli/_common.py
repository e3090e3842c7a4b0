"""What every command shares: error handling, exit statuses, SIGPIPE, stdin records, stderr output."""

from __future__ import annotations

import errno
import functools
import itertools
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer.core import TyperCommand

from cltc_tools.errors import CLTCError, InputError, NoInputError
from cltc_tools.io import records as rec

try:  # typer >= 0.26 vendors click
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError

F = TypeVar("F", bound=Callable[..., Any])

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or messages on stderr.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show the Python traceback of an error.")]
Force = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing outputs.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed: fixes every random choice.")]
DEVICE_DEFAULT = "auto"
Device = Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda",
                                     help="Where to compute: auto takes a GPU when there is one.")]


def make_app(help_text: str, epilog: str | None = None, **kwargs: Any) -> typer.Typer:
    return _App(
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
        # on a terminal, people read a summary of the records (see summarize); a pipe or file gets the records
        self.to_terminal = _stdout_is_terminal()
        self._held: dict[str, int] = {}
        _SESSIONS.append(self)

    def flush_passthrough(self) -> None:
        if self._passthrough:
            if self.to_terminal:
                self._held["passed through"] = self._held.get("passed through", 0) + len(self._passthrough)
            else:
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
            if self.to_terminal:
                self._held[record["kind"]] = self._held.get(record["kind"], 0) + 1
            else:
                rec.write_record(record, _stdout())

    def summarize(self) -> None:
        """On a terminal, one line instead of the records: how many of each kind, and how to keep them."""
        if self.to_terminal and self._held:
            kinds = ", ".join(f"{n} {kind}" for kind, n in self._held.items())
            typer.echo(f"{self.tool}: {sum(self._held.values())} records ({kinds}), shown in full when stdout is "
                       f"a pipe or a file (| cltc-..., > run.jsonl)")
            self._held = {}

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
            task = bar.add_task(f"{self.tool}: {description}", total=total)
            yield lambda n=1: bar.advance(task, n)


def _stdout():
    return getattr(sys.stdout, "buffer", sys.stdout)


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (ValueError, AttributeError):
        return False


_EMPTY_PIPE = [False]  # stdin was a pipe that closed without a byte: the command before this one failed


def _is_pipe(stream: Any) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


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
    _EMPTY_PIPE[0] = not data and _is_pipe(stdin)
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
            _EMPTY_PIPE[0] = False
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
        session.summarize()


def _fail(tool: str, err: BaseException, debug: bool, status: int, internal: bool = False) -> None:
    if debug:
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    if isinstance(err, NoInputError) and _EMPTY_PIPE[0] and not debug:
        raise typer.Exit(status) from None  # one line per cause: the failed command before it has said why
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
    """Entry point of a console script: default SIGPIPE, so ``| head`` ends quietly; thread defaults."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    default_threads(os.environ)
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


# --- help and usage: readable metavars, the '=' hint, thread defaults ---------------------------------------------

MAX_DEFAULT_THREADS = 4


def default_threads(env: MutableMapping[str, str]) -> None:
    """Threads for torch/OpenMP when the user set none: min(usable cores, 4), idle workers sleep (no spinning).

    OMP_NUM_THREADS, MKL_NUM_THREADS and OMP_WAIT_POLICY given by the user win; this runs before torch is imported.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = str(max(1, min(cores, MAX_DEFAULT_THREADS)))
    env.setdefault("OMP_NUM_THREADS", threads)
    env.setdefault("MKL_NUM_THREADS", env["OMP_NUM_THREADS"])
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")


MMAP_THRESHOLD = 2 * 2**20
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def return_freed_matrices(env: MutableMapping[str, str]) -> bool:
    """Give every freed block of over ``MMAP_THRESHOLD`` bytes back to the system at once (glibc ``mallopt``).

    glibc raises its mmap threshold to the size of the largest block freed (up to 32 MB), after which blocks that
    size come from the heap and freed ones stay in the process; a command that reads, maps and drops one
    language's matrix after another then holds tens of MB it no longer uses. A fixed threshold keeps the resident
    memory at what is in use; at 2 MB the small temporaries of the similarity search (under 2 MB per tile) still
    come from the heap, reused without page faults (at 128 kB they cost 1 s of system time per Procrustes run).
    MALLOC_MMAP_THRESHOLD_ given by the user wins; elsewhere than glibc, nothing happens. Returns whether the
    threshold was set."""
    if "MALLOC_MMAP_THRESHOLD_" in env or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # no C library to load, or one without mallopt (musl)
        return False


def readable_metavar(param: Any) -> str | None:
    """``--langs LANGS``, ``--epochs N``, ``--out PATH`` instead of typer's ``<str>``, ``<int>``, ``<path>``."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False) or param.metavar is not None:
        return param.metavar
    desc = getattr(param, "type_descriptor", None)
    if desc is None or desc.is_choice:
        return param.metavar
    bare = param.bare_type()  # "int", "float", "str", "Path", "list[Path]", ...
    if "Path" in bare:
        return "PATH"
    if "int" in bare:
        return "N"
    if "float" in bare:
        return "X"
    return (param.name or "value").upper().replace("_", "-")


class ReadableCommand(TyperCommand):
    """A command whose help shows readable metavars and whose usage errors hint at the ``--opt=VALUE`` form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            param.metavar = readable_metavar(param)
            if param.param_type_name == "argument":  # the metavar says it all: no "<list[Path]>" after it
                param.display_type_rich = lambda ctx: None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        given = list(args)
        try:
            return super().parse_args(ctx, args)
        except UsageError as err:
            hint = repeat_hint(self, given) if "unexpected extra argument" in err.message else None
            if hint:
                err.message = f"{err.message}\n{hint}"
            raise


def repeat_hint(command: Any, args: list[str]) -> str | None:
    """The hint for ``--space a b``: a repeatable option takes one value per use."""
    repeatable = {opt for p in command.params if getattr(p, "multiple", False) for opt in p.opts}
    for i, arg in enumerate(args):
        values = list(itertools.takewhile(lambda a: not a.startswith("-"), args[i + 1:]))
        if arg in repeatable and len(values) > 1:
            shown = " ".join(f"{arg}={v}" for v in values[:2])
            return (f"Hint: {arg} takes one value per use: write {shown} ..., or let the shell repeat it with "
                    f"brace expansion and no space after '=': {arg}={brace_form(values)}")
    return None


def brace_form(values: list[str]) -> str:
    """``["d/en", "d/de"]`` -> ``"d/{en,de}"``: the shell pattern that expands to the values."""
    head = os.path.commonprefix(values)
    tail = os.path.commonprefix([v[len(head):][::-1] for v in values])[::-1]
    middles = [v[len(head):len(v) - len(tail)] for v in values]
    return f"{head}{{{','.join(middles)}}}{tail}"


class _App(typer.Typer):
    """typer.Typer whose commands are ReadableCommand."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", ReadableCommand)
        return super().command(*args, **kwargs)
