"""Shared CLI pieces: the two consoles, `Annotated` option aliases, error mapping,
progress bars and table/JSON output. Commands stay thin: parse, call the library,
print the returned value.

Importing this module also installs the help and usage-error conventions of every
command (`install_cli_conventions`): flags show no value type, list options say how to
repeat them, help text wraps to the terminal, and a usage error is one line on stderr
naming the option (exit code 2, Typer's convention; library errors exit 1)."""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, ParamSpec, Protocol, TypeVar

import typer
from rich.cells import cell_len
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
from rich.text import Text

from strtool.errors import InputError, Interrupted, StrtoolError

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
BeamOpt = Annotated[
    int | None,
    typer.Option("--beam", min=1, max=64,
                 help="Line/page (img2seq) models: beam width (1 = greedy; default: the model's)."),
]  # fmt: skip
JointCtcOpt = Annotated[
    float | None,
    typer.Option(
        "--joint-ctc", min=0.0, max=1.0,
        help="Line (img2seq) models trained with a CTC head: weight of its prefix score "
        "in the search (joint CTC/attention decoding; 0 = the decoder alone).",
    ),
]  # fmt: skip
MaxWidthOpt = Annotated[
    int | None,
    typer.Option(
        "--max-width", min=1, metavar="PX",
        help="CTC models: the widest input a crop wider than the model's training width "
        "(a long word, a line) is read at, keeping its own width instead of being "
        "squeezed (default: 4 x the training width where the architecture reads any "
        "width; the training width = squeeze as trained).",
    ),
]  # fmt: skip
LangsOpt = Annotated[
    str | None,
    typer.Option(
        "--lang",
        "-l",
        help="Languages or groups, comma separated (e.g. 'en,fr' or 'LAT,ARA').",
    ),
]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Output path.")]
#: `-o/--output` of the commands that also take their output as a positional argument
#: (`make-lmdb SRC OUT`, `lmdb export LMDB OUT`, `lmdb merge OUT IN...`): either form.
OutputAltOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Output path (or give it as the positional argument)."),
]


def one_output(positional: Path | None, option: Path | None) -> Path:
    """The output path given either as the positional argument or as `-o/--output`;
    `InputError` when it is given both ways or not at all."""
    if positional is not None and option is not None:
        raise InputError(f"output given twice ('{positional}' and -o '{option}'): give one of them")
    out = option if option is not None else positional
    if out is None:
        raise InputError("missing output: give -o/--output PATH (or the positional OUTPUT)")
    return out


P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str) -> typer.Exit:
    """Print a one-line error on stderr and return the Exit(1) to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code=1)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator for commands: map library errors to a one-line message + exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except StrtoolError as e:
            raise fail(str(e)) from None
        except Interrupted as e:  # stopped cleanly, its work saved
            err_console.print(f"interrupted: {escape(str(e))}", highlight=False)
            raise typer.Exit(code=128 + e.signum) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(code=130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(code=0) from None

    return wrapper


class Bar(Progress):
    """A rich `Progress` that leaves no trace when the command fails inside it: the
    error line stands alone (a non-terminal display would otherwise print the bar at
    0/N, or an empty line when transient, as it stops)."""

    def close(self, failed: bool) -> None:
        """Stop the display; when `failed`, silently."""
        if not failed:
            self.stop()
            return
        self.live.transient = True
        was, self.console.quiet = self.console.quiet, True
        try:
            self.stop()
        finally:
            self.console.quiet = was

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        self.close(failed=exc_type is not None)


def make_progress(quiet: bool = False, transient: bool = False) -> Bar:
    """A rich progress bar on stderr with count, rate and ETA (disabled if quiet)."""
    return Bar(
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
    out_console.print(whole_numbers(table))


def whole_numbers(table: Table, names: bool = True) -> Table:
    """`table` with each right-justified (number) column, and with `names` the first
    one (group names), at least as wide as its widest cell, folding rather than
    cutting: in a terminal too narrow for the table, rich would otherwise shorten
    `47.06` to `47.…` and `pooled` to `pool…`; the headings fold instead."""
    for i, col in enumerate(table.columns):
        if col.justify != "right" and not (names and i == 0):
            continue
        widths = [cell_len(c.plain if isinstance(c, Text) else str(c)) for c in col.cells]
        col.min_width, col.overflow = max(widths, default=0), "fold"
    return table


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) <= 1.0 else f"{v:.2f}"
    return str(v)


# -- help and usage-error conventions ----------------------------------------------


def unwrap_help(text: str | None) -> str | None:
    """Help text with the hard line breaks inside paragraphs joined, so the terminal
    wraps it. Blank lines between paragraphs, `- ` list items, a `\\b` paragraph
    (click's keep-as-is marker) and anything after `\\f` stay as they are."""
    if not text:
        return text
    body, cut, tail = inspect.cleandoc(text).partition("\f")
    paragraphs = []
    for para in re.split(r"\n\s*\n", body.strip()):
        if para.startswith("\b"):
            paragraphs.append(para)
            continue
        lines: list[str] = []
        for line in para.splitlines():
            line = line.strip()
            if lines and not line.startswith(("- ", "* ")):
                lines[-1] += " " + line
            else:
                lines.append(line)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) + cut + tail


def _repeat_hint(param: Any) -> str:
    name = max(param.opts, key=len)
    return f"Repeat {name} for each value."


def tidy_command(cmd: Any) -> None:
    """Apply the help conventions to a click command and its subcommands (idempotent)."""
    if getattr(cmd, "_strtool_tidy", False):
        return
    cmd.help = unwrap_help(cmd.help)
    cmd.short_help = unwrap_help(getattr(cmd, "short_help", None))
    for param in cmd.params:
        if getattr(param, "param_type_name", "") != "option" or not param.multiple:
            continue
        if _repeat_hint(param) not in (param.help or ""):
            param.help = f"{(param.help or '').rstrip()} {_repeat_hint(param)}".strip()
    for sub in getattr(cmd, "commands", {}).values():
        tidy_command(sub)
    cmd._strtool_tidy = True


def _display_type(original: Callable[..., str | None]) -> Callable[..., str | None]:
    """Typer's value-type column without `<bool>` on flags; `<str>` (not `<list[str]>`)
    for options given once per value and for variadic arguments (shown as `NAME...`)."""

    @functools.wraps(original)
    def display(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        shown = original(self, ctx)
        many = getattr(self, "multiple", False) or self.nargs != 1
        if many and shown and shown.startswith("<list[") and shown.endswith("]>"):
            shown = f"<{shown[6:-2].lower()}>"
        return shown

    return display


def _format_help(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def format_help(self: Any, ctx: Any, formatter: Any) -> None:
        tidy_command(self)
        original(self, ctx, formatter)

    return format_help


class _ClickError(Protocol):
    """What `usage_error` uses of a click exception (click itself may be vendored)."""

    def format_message(self) -> str: ...


def usage_error(exc: _ClickError) -> None:
    """A click usage error as one line on stderr: the message (naming the option) and
    where to find help. The caller exits with the error's code (2)."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # help was printed instead
        return
    message = " ".join(str(exc.format_message()).split())
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    err_console.print(f"[bold red]error:[/] {escape(message + hint)}", highlight=False)


def install_cli_conventions() -> None:
    """Install the conventions above into Typer (once per process). Typer offers no
    setting for them, so its help formatter and usage-error printer are wrapped."""
    import typer.core as tcore

    if getattr(tcore, "_strtool_conventions", False):
        return
    params: tuple[Any, ...] = (tcore.TyperOption, tcore.TyperArgument)
    for param in params:
        if hasattr(param, "display_type_rich"):
            param.display_type_rich = _display_type(param.display_type_rich)
    commands: tuple[Any, ...] = (tcore.TyperCommand, tcore.TyperGroup)
    for command in commands:
        command.format_help = _format_help(command.format_help)
    try:
        from typer import rich_utils
    except ImportError:  # pragma: no cover - rich is a dependency
        pass
    else:
        rich_utils.rich_format_error = usage_error  # type: ignore[assignment]  # its arg: self
    tcore._strtool_conventions = True  # type: ignore[attr-defined]


install_cli_conventions()


def warn_interrupted(partial: Path) -> None:
    """After Ctrl-C in a resumable command: where the finished part is and how to go
    on (or that nothing was kept, before the first checkpoint)."""
    if partial.exists():
        warn(f"interrupted: the finished part is kept in {partial}; "
             "run the same command with --resume to continue")  # fmt: skip
    else:
        warn("interrupted before the first checkpoint: nothing was kept")


def check_device(device: str) -> str:
    """A `--device` option checked before any work: a device this machine lacks (or an
    unknown string such as `tpu`) is one `InputError` line naming the option."""
    from strtool.device import resolve_device
    from strtool.errors import ConfigError, InputError

    try:
        resolve_device(device)
    except ConfigError as e:
        raise InputError(f"--{e}") from None
    return device
