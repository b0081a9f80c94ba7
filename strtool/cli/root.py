"""The top-level callback: `--version`."""

from __future__ import annotations

from typing import Annotated

import typer

from strtool import __version__


def _version(value: bool) -> None:
    if value:
        typer.echo(f"strtool {__version__}")
        raise typer.Exit()


def callback(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Multilingual scene text recognition: data, synthesis, training, evaluation."""
