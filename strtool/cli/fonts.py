"""`strtool fonts`: check which characters fonts really render; list the shipped fonts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from strtool.cli.common import (
    JsonOpt,
    LangsOpt,
    QuietOpt,
    handle_errors,
    info,
    make_progress,
    print_json,
    print_table,
)
from strtool.errors import InputError
from strtool.outputs import Kind, atomic_write_text, check_replaceable, text_kind
from strtool.synth.coverage import (
    COVERAGE_CATEGORIES,
    CoverageRow,
    Missing,
    check_entries,
    entries_script,
    lang_categories,
    read_charset_categories,
)
from strtool.synth.fonts import checker_for, discover_fonts, load_manifest, shipped_fonts
from strtool.text.langs import LANG_SCRIPT, resolve_langs

fonts_app = typer.Typer(
    name="fonts",
    help="Font coverage checks (cmap + HarfBuzz shaping) and the shipped font set.",
    no_args_is_help=True,
)

#: Table headings of the categories (`COVERAGE_CATEGORIES`); cells are percentages.
_CATEGORY_HEADINGS = {
    "letters": "letters %",
    "diacritics": "marks %",
    "digits": "digits %",
    "punctuation": "punct %",
    "common": "common %",
    "clusters": "clusters %",
}

Target = tuple[str, dict[str, str], str | None]  # name, entry -> category, script hint


def _targets(langs: str | None, charset: Path | None) -> list[Target]:
    """(name, entries with their categories, script hint) of every charset to check."""
    if langs is not None and charset is not None:
        raise InputError("give either --lang or --charset, not both")
    if charset is not None:
        cats = read_charset_categories(charset)
        return [(charset.name, cats, entries_script(list(cats)))]
    return [(lang, lang_categories(lang), LANG_SCRIPT.get(lang)) for lang in resolve_langs(langs)]


def _pct(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.1f}"


def _coverage_table(rows: list[CoverageRow]) -> None:
    """One line per font and charset: each category's coverage in %, then the total
    (covered / entries and %). Categories no checked charset has are left out."""
    cats = [c for c in COVERAGE_CATEGORIES if any(r.category(c) for r in rows)]
    table = []
    for r in rows:
        per_cat = [r.category(c) for c in cats]
        cells = [_pct(None if c is None else c.fraction) for c in per_cat]
        table.append((r.font, r.face, r.lang, *cells, f"{r.covered}/{r.total}", _pct(r.fraction)))
    columns = ("font", "face", "lang", *(_CATEGORY_HEADINGS[c] for c in cats), "entries", "all %")
    print_table(table, columns, title="font coverage (% of each category's entries)")


_MISSING_HEADER = "font\tlang\tchar\tcodepoints\treason"


def _missing_json_problem(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "it is not JSON"
    if isinstance(data, list) and all(isinstance(d, dict) and "reason" in d for d in data):
        return None
    return "it is not a list of uncovered entries"


def _missing_kind(path: Path) -> Kind:
    """What `--missing` writes (and so may replace): TSV with our header, or JSON."""
    if path.suffix.lower() == ".json":
        return Kind("a --missing JSON written by strtool", _missing_json_problem)
    return text_kind("a --missing TSV written by strtool", _MISSING_HEADER)


def _write_missing(path: Path, missing: list[Missing]) -> None:
    """Uncovered entries as TSV (or JSON for a `.json` path), written atomically."""
    if path.suffix.lower() == ".json":
        text = json.dumps([m.to_dict() for m in missing], ensure_ascii=False, indent=1) + "\n"
    else:
        lines = [_MISSING_HEADER]
        lines += [f"{m.font}\t{m.lang}\t{m.char}\t{m.codepoints}\t{m.reason}" for m in missing]
        text = "\n".join(lines) + "\n"
    atomic_write_text(path, text)


@fonts_app.command("check")
@handle_errors
def check(
    fonts: Annotated[
        list[Path], typer.Argument(help="Font files (.ttf/.otf/.ttc) or folders of fonts.")
    ],
    langs: LangsOpt = None,
    charset: Annotated[
        Path | None,
        typer.Option("--charset", help="A charset file (strtool JSON or one entry per line)."),
    ] = None,
    missing: Annotated[
        Path | None,
        typer.Option("--missing", help="Write uncovered characters here (TSV, or .json)."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Coverage of charsets by fonts, per category (letters, marks, digits,
    punctuation, common, clusters) and in total: an entry counts only when it is in the
    cmap and HarfBuzz shapes it without .notdef, dotted circle or empty glyph. The table
    shows percentages, --json fractions in [0, 1]. --missing replaces only a file it
    wrote before (same TSV header, or a JSON list)."""
    if missing is not None:
        inputs = [*fonts, *([charset] if charset else [])]
        check_replaceable(missing, _missing_kind(missing), inputs)
    faces = discover_fonts(fonts)
    targets = _targets(langs, charset)
    rows: list[CoverageRow] = []
    with make_progress(quiet) as progress:
        task = progress.add_task("checking", total=len(faces) * len(targets), rate="")
        for face in faces:
            checker = checker_for(face)
            for name, cats, hint in targets:
                rows.append(check_entries(checker, list(cats), name, hint, cats))
                progress.advance(task)
    lost = [m for r in rows for m in r.missing]
    if missing is not None:
        _write_missing(missing, lost)
        info(f"{len(lost)} uncovered entries -> {missing}", quiet)
    if as_json:
        print_json({"rows": [_row_json(r) for r in rows]})
        return
    _coverage_table(rows)


def _row_json(row: CoverageRow) -> dict[str, object]:
    out = row.to_dict()
    reasons: dict[str, int] = {}
    for m in row.missing:
        reasons[m.reason] = reasons.get(m.reason, 0) + 1
    out["missing_by_reason"] = reasons
    return out


@fonts_app.command("list")
@handle_errors
def list_fonts(
    recompute: Annotated[
        bool,
        typer.Option("--recompute", help="Recheck coverage against the current charsets."),
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """The shipped fonts (fonts/manifest.json) and the charsets they cover."""
    entries = load_manifest()
    if recompute:
        _recompute(entries, quiet)
    if as_json:
        print_json({"fonts": entries})
        return
    rows = []
    for e in entries:
        cov = e.get("coverage", {})
        cells = [f"{k} {v['covered']}/{v['total']}" for k, v in cov.items()]
        rows.append(
            (
                e["file"],
                f"{e['family']} {e.get('style', '')}".strip(),
                e.get("role", "train"),
                ",".join(e["scripts"]),
                e.get("design", ""),
                e.get("licence", ""),
                f"{e.get('bytes', 0) / 1024:.0f} KiB",
                " ".join(cells),
            )
        )
    cols = ("file", "face", "role", "scripts", "design", "licence", "size", "coverage")
    print_table(rows, cols, title=f"{len(entries)} shipped fonts")


def _recompute(entries: list[dict[str, Any]], quiet: bool) -> None:
    """Recheck every manifest entry's coverage of its languages against the current
    charsets, in place: `coverage[lang]` = covered, total and `categories` (as
    `fonts check --json`). `shipped_fonts(role="all")` gives one face per entry, in
    manifest order, held-out faces included."""
    charsets: dict[str, dict[str, str]] = {}
    with make_progress(quiet) as progress:
        task = progress.add_task("rechecking", total=len(entries), rate="")
        for e, face in zip(entries, shipped_fonts(role="all"), strict=True):
            checker = checker_for(face)
            e["coverage"] = {}
            for lang in e.get("langs", []):
                cats = charsets.setdefault(lang, lang_categories(lang))
                row = check_entries(checker, list(cats), lang, LANG_SCRIPT.get(lang), cats)
                d = row.to_dict()
                e["coverage"][lang] = {k: d[k] for k in ("covered", "total", "categories")}
            progress.advance(task)
    info(f"rechecked {len(entries)} fonts", quiet)
