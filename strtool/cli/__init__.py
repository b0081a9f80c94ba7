"""The `strtool` command: this file is the table of contents of the CLI."""

from __future__ import annotations

import typer

from strtool.cli import (
    bank,
    demo,
    evaluate,
    export,
    fonts,
    lmdb,
    predict,
    root,
    synth,
    train,
)

app = typer.Typer(
    name="strtool",
    help="Multilingual scene text recognition: data, synthesis, training, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.callback()(root.callback)

# The main job
app.command("demo")(demo.demo_cmd)
# Data
app.command("make-lmdb")(lmdb.make_lmdb)
app.add_typer(lmdb.lmdb_app, name="lmdb")
app.add_typer(synth.synth_app, name="synth")
app.add_typer(fonts.fonts_app, name="fonts")
# Models
app.command("train")(train.train_cmd)
app.command("eval")(evaluate.eval_cmd)
app.command("predict")(predict.predict_cmd)
app.add_typer(export.export_app, name="export")
# mSTR
app.add_typer(bank.bank_app, name="bank")


def main() -> None:
    """Console-script entry point."""
    app()
