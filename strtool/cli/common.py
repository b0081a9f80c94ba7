"""Shared CLI pieces: the two consoles, `Annotated` option aliases, error mapping,
progress bars and table/JSON output. Commands stay thin: parse, call the library,
print the returned value."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from strtool.errors import StrtoolError

#: Progress, logs and warnings go to stderr.
err_console = Console(stderr=True, soft_wrap=True)
#: Results (tables) go to stdout.
out_console = Console(soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print results as JSON on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or info messages.")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace the output if it already exists.")
]
ResumeOpt = Annotated[
    bool,
    typer.Option("--resume", help="Continue an interrupted run (<output>.partial)."),
]
WorkersOpt = Annotated[int, typer.Option("--workers", "-j", min=0, help="Worker processes.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed.")]
LangsOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        "-l",
        help="Languages or groups, comma separated (e.g. 'en,fr' or 'LAT,ARA').",
    ),
]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Output path.")]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print a one-line error on stderr and return the Exit(1) to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code=1)


def handle_errors(fn: F) -> F:
    """Decorator for commands: map library errors to a one-line message + exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StrtoolError as e:
            raise fail(str(e)) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(code=130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(code=0) from None

    return wrapper  # type: ignore[return-value]


def make_progress(quiet: bool = False, transient: bool = False) -> Progress:
    """A rich progress bar on stderr with count, rate and ETA (disabled if quiet)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=transient,
    )


def info(message: str, quiet: bool = False) -> None:
    """An informational line on stderr."""
    if not quiet:
        err_console.print(message, highlight=False)


def warn(message: str) -> None:
    """A warning on stderr (never silenced by --quiet)."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def print_json(data: Any) -> None:
    """Results as JSON on stdout (UTF-8, not ASCII-escaped)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_table(
    rows: Iterable[Sequence[Any]],
    columns: Sequence[str],
    title: str | None = None,
) -> None:
    """A rich table of results on stdout."""
    table = Table(title=title, show_lines=False)
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*[_fmt(v) for v in r])
    out_console.print(table)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) <= 1.0 else f"{v:.2f}"
    return str(v)
