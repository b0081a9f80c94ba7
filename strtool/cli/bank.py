"""`strtool bank export|info`: the mSTR prototype bank (frozen mCLIP text embeddings
of every character of the chosen languages)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from strtool.cli.common import (
    JsonOpt,
    LangsOpt,
    OutputOpt,
    OverwriteOpt,
    QuietOpt,
    handle_errors,
    info,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from strtool.mstr.bank import PrototypeBank

bank_app = typer.Typer(help="mSTR prototype bank: export from an mCLIP checkpoint, inspect.")


@bank_app.command("export")
@handle_errors
def export_cmd(
    model: Annotated[Path, typer.Option("--model", "-m", help="mCLIP checkpoint (.pt).")],
    output: OutputOpt,
    langs: LangsOpt = None,
    per_language: Annotated[
        bool,
        typer.Option("--per-language", help="One row per (language, character)."),
    ] = False,
    extend: Annotated[
        Path | None,
        typer.Option("--extend", help="Existing bank: keep its rows, add the missing ones."),
    ] = None,
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Encode every character of LANGS (default all) with the mCLIP text encoder and
    write OUTPUT (.pt) + OUTPUT.json. With --extend, existing rows stay bitwise equal."""
    from strtool.mstr.bank import BANK_KIND, export_bank
    from strtool.outputs import check_not_input, check_output

    in_place = extend is not None and extend.resolve() == output.resolve()
    check_output(output, BANK_KIND, [model], overwrite or in_place)
    check_not_input(output.with_suffix(".json"), [model])
    bank, new = export_bank(model, langs, per_language, extend)
    pt, js = bank.save(output)
    info(f"{new} new rows; bank of {len(bank)} rows x {bank.dim} written to {pt} and {js}", quiet)
    summary = _summary(pt, bank)
    summary["new_rows"] = new
    if json_:
        print_json(summary)
    else:
        _print_summary(summary)


@bank_app.command("info")
@handle_errors
def info_cmd(
    path: Annotated[Path, typer.Argument(help="Bank file (.pt with its .json sidecar).")],
    rows: Annotated[bool, typer.Option("--rows", help="List every row.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Size, dimension, source checkpoint, prompt template and rows per language."""
    from strtool.mstr.bank import load_bank

    bank = load_bank(path)
    summary = _summary(path, bank)
    if rows:
        summary["rows"] = [
            {"row": k, "char": e.char, "codepoints": " ".join(f"U+{ord(c):04X}" for c in e.char),
             "group": e.group, "langs": list(e.langs), "subtype": e.subtype, "prompt": e.prompt}
            for k, e in enumerate(bank.entries)
        ]  # fmt: skip
    if json_:
        print_json(summary)
        return
    _print_summary(summary)
    if rows:
        print_table(
            [[r["row"], r["char"], r["codepoints"], r["group"], ",".join(r["langs"]),
              r["subtype"]] for r in summary["rows"]],
            ["row", "char", "code points", "group", "langs", "subtype"],
        )  # fmt: skip


def _summary(path: Path, bank: PrototypeBank) -> dict[str, Any]:
    per_lang: Counter[str] = Counter()
    per_group: Counter[str] = Counter()
    for e in bank.entries:
        per_group[e.group] += 1
        for lang in e.langs:
            per_lang[lang] += 1
    meta = bank.meta
    return {
        "path": str(path), "rows_total": len(bank), "dim": bank.dim,
        "per_language": bool(meta.get("per_language")), "langs": meta.get("langs", []),
        "checkpoint_sha256": meta.get("checkpoint_sha256", ""),
        "prompt_template": meta.get("prompt_template", ""),
        "rows_per_group": dict(per_group), "chars_per_language": dict(per_lang),
    }  # fmt: skip


def _print_summary(s: dict[str, Any]) -> None:
    rows = [[k, v] for k, v in s.items() if not isinstance(v, (dict, list))]
    rows.append(["langs", ",".join(s["langs"])])
    print_table(rows, ["bank", "value"], title="prototype bank")
    print_table(
        [[g, n] for g, n in s["rows_per_group"].items()], ["group", "rows"], title="rows per group"
    )
