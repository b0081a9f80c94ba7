"""`strtool eval`: score recognition output.

File mode (`--pred preds.tsv --gt gt.tsv`) scores any OCR engine's output. Model mode
(`--model CKPT --data LMDB`) dispatches to `strtool.cli.eval_model` (a checkpoint run
on LMDBs, giving a `Report`); scoring output stays shared (`print_report`,
`print_worst`, `dump_worst`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from strtool.cli.common import (
    BeamOpt,
    JointCtcOpt,
    JsonOpt,
    LangsOpt,
    MaxWidthOpt,
    QuietOpt,
    err_console,
    handle_errors,
    info,
    out_console,
    print_json,
    warn,
    whole_numbers,
)
from strtool.errors import InputError
from strtool.evaluation.files import evaluate_files
from strtool.evaluation.io import GT_FORMATS
from strtool.evaluation.lines import LineReport, has_multiline, score_lines
from strtool.evaluation.metrics import PROFILES
from strtool.evaluation.report import Report, SampleScore
from strtool.outputs import atomic_write_text, check_replaceable, text_kind
from strtool.text.normalize import UNITS, as_unit

if TYPE_CHECKING:
    from strtool.engine.evaluate import CheckpointEvaluation
    from strtool.tasks.base import DecodingOptions

_PROFILE_HELP = (
    f"Normalisation profile: {', '.join(PROFILES)} (see --list-profiles): "
    "default NFC + collapsed whitespace; mstr NFKD, no whitespace; cll as CLL-STR. "
    "Default: default, or the model family's own (mstr for Spotter/Refiner)."
)


def print_report(report: Report, json_out: bool = False) -> None:
    """The report on stdout: rich tables (rates in %, "%" in each heading; then the
    95 % intervals) or JSON (`Report.to_dict`: the same rates as fractions in
    [0, 1], intervals as `wrr_95` / `crr_95` pairs)."""
    if json_out:
        print_json(report.to_dict())
        return
    with_sacc = any(r.script_acc is not None for r in report.rows)
    table = Table(
        title=f"profile {report.profile}, unit {report.unit}, groups by {report.grouping}"
    )
    cols = ["group", "n", "WRR %", "WRR-nc %", "CRR %", "1-NED %", "empty pred"]
    cols += ["script acc %"] if with_sacc else []
    for i, c in enumerate(cols):
        table.add_column(c, justify="left" if i == 0 else "right")
    for r in report.rows:
        if r.name == "pooled":
            table.add_section()
        cells: list[str | Text] = [Text(r.name), str(r.n)]
        cells += [f"{100 * v:.2f}" for v in (r.wrr, r.wrr_nocase, r.crr, r.ned)]
        cells.append(str(r.empty_preds))
        if with_sacc:
            cells.append("-" if r.script_acc is None else f"{100 * r.script_acc:.2f}")
        table.add_row(*cells)
    out_console.print(whole_numbers(table))
    ci = Table(title="95 % intervals (WRR: Wilson; CRR: delta method)")
    for i, c in enumerate(["group", "n", "WRR %", "WRR 95 %", "CRR %", "CRR 95 %"]):
        ci.add_column(c, justify="left" if i == 0 else "right")
    for r in report.rows:
        if r.name == "pooled":
            ci.add_section()
        ci.add_row(
            r.name, str(r.n), f"{100 * r.wrr:.2f}",
            f"{100 * r.wrr_low:.1f} - {100 * r.wrr_high:.1f}", f"{100 * r.crr:.2f}",
            f"{100 * r.crr_low:.1f} - {100 * r.crr_high:.1f}",
        )  # fmt: skip
    out_console.print(whole_numbers(ci))


def model_lines(ev: CheckpointEvaluation) -> LineReport | None:
    """The line-aware figures of a model evaluation when any gt or reading has several
    lines (line and page models), as in files mode; else None."""
    r = ev.predictions
    if not (has_multiline(r.gts) or has_multiline(r.preds)):
        return None
    return score_lines(r.preds, r.gts, r.langs, ev.report.profile, as_unit(ev.report.unit))


def print_line_report(lines: LineReport) -> None:
    """The line-aware figures (`strtool.evaluation.lines`) as a table on stdout: CER,
    WER (`-` for CJK), line CER and line events per group and pooled."""
    table = Table(title=f"lines: profile {lines.profile}, unit {lines.unit}")
    cols = ["group", "n", "CER %", "WER %", "line CER %", "gt lines", "pred lines"]
    cols += ["dropped", "merged", "split", "inserted"]
    for i, c in enumerate(cols):
        table.add_column(c, justify="left" if i == 0 else "right")
    for r in lines.rows:
        if r.name == "pooled":
            table.add_section()
        wer = "-" if r.wer is None else f"{100 * r.wer:.2f}"
        table.add_row(Text(r.name), str(r.n), f"{100 * r.cer:.2f}", wer,
                      f"{100 * r.line_cer:.2f}", str(r.gt_lines), str(r.pred_lines),
                      str(r.dropped), str(r.merged), str(r.split), str(r.inserted))  # fmt: skip
    out_console.print(whole_numbers(table))


def print_worst(samples: list[SampleScore]) -> None:
    """The worst samples as a table on stderr."""
    table = Table(title=f"{len(samples)} worst samples")
    for c in ("key", "group", "ED", "1-NED", "gt", "prediction"):
        table.add_column(c, justify="right" if c in ("ED", "1-NED") else "left")
    for s in samples:
        table.add_row(
            Text(s.key), Text(s.group), str(s.ed), f"{s.ned:.3f}", Text(s.gt), Text(s.pred)
        )
    err_console.print(whole_numbers(table, names=False))


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


DUMP_HEADER = "key\tgroup\tedits\t1-ned\tgt\tprediction"
#: What `--dump` writes, and so the only kind of existing file it replaces.
DUMP_KIND = text_kind("an eval --dump tsv written by strtool", DUMP_HEADER)


def dump_worst(samples: list[SampleScore], path: Path) -> None:
    """Write samples to a tsv (`key group edits 1-ned gt prediction`, header line;
    backslash, tab and newline in texts escaped as `\\\\`, `\\t`, `\\n`), atomically.
    An existing `path` is replaced only when it is such a dump (`DUMP_KIND`)."""
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    check_replaceable(path, DUMP_KIND)
    lines = [DUMP_HEADER]
    lines += [
        f"{_esc(s.key)}\t{s.group}\t{s.ed}\t{s.ned:.4f}\t{_esc(s.gt)}\t{_esc(s.pred)}"
        for s in samples
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _examples(keys: list[str], k: int = 3) -> str:
    more = ", ..." if len(keys) > k else ""
    return ", ".join(f"'{x}'" for x in keys[:k]) + more


def _warn_unmatched(missing: list[str], extra: list[str]) -> None:
    if missing:
        warn(f"{len(missing)} gt keys have no prediction (scored as empty): {_examples(missing)}")
    if extra:
        warn(f"{len(extra)} prediction keys are not in the gt (ignored): {_examples(extra)}")


def _list_profiles(json_out: bool) -> None:
    if json_out:
        print_json({name: vars(p) for name, p in PROFILES.items()})
        return
    table = Table(title="metric profiles")
    for c in ("profile", "unicode", "whitespace", "casefold", "1-NED(∅,∅)", "description"):
        table.add_column(c)
    for p in PROFILES.values():
        table.add_row(
            p.name, p.form or "-", p.whitespace, str(p.casefold), f"{p.both_empty_ned:g}",
            p.description,
        )  # fmt: skip
    out_console.print(table)


@handle_errors
def eval_cmd(
    pred: Annotated[
        Path | None, typer.Option("--pred", help="Predictions: key<TAB>text[<TAB>confidence].")
    ] = None,
    gt: Annotated[
        Path | None,
        typer.Option(
            "--gt", help="Ground truth: key<TAB>text[<TAB>lang] or MLT image,Script,text."
        ),
    ] = None,
    gt_format: Annotated[
        str, typer.Option("--gt-format", help=f"gt format: {', '.join(GT_FORMATS)}.")
    ] = "auto",
    profile: Annotated[str | None, typer.Option("--profile", "-p", help=_PROFILE_HELP)] = None,
    unit: Annotated[
        str, typer.Option("--unit", help=f"Edit-distance unit: {', '.join(UNITS)}.")
    ] = "codepoint",
    script_acc: Annotated[
        bool, typer.Option("--script-acc", help="Also report script detection accuracy.")
    ] = False,
    errors: Annotated[
        int, typer.Option("--errors", min=0, help="Print the N worst samples to stderr.")
    ] = 0,
    dump: Annotated[
        Path | None,
        typer.Option(
            "--dump", help="Write the worst samples (--errors N, default all wrong) as tsv."
        ),
    ] = None,
    escapes: Annotated[
        bool,
        typer.Option(
            "--escapes/--no-escapes",
            help="--pred/--gt texts: \\n is a line break, \\t a tab, \\\\ a "
            "backslash (as lmdb export and predict write); --no-escapes: verbatim.",
        ),
    ] = True,
    list_profiles: Annotated[
        bool, typer.Option("--list-profiles", help="List the normalisation profiles and exit.")
    ] = False,
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Model mode: a checkpoint (.pt).")
    ] = None,
    data: Annotated[
        list[Path] | None, typer.Option("--data", "-d", help="Model mode: LMDB(s) to score.")
    ] = None,
    langs: LangsOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1)] = 256,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda[:N].")] = "auto",
    max_samples: Annotated[
        int | None, typer.Option("--max-samples", min=1, help="Model mode: per language.")
    ] = None,
    beam: BeamOpt = None,
    joint_ctc: JointCtcOpt = None,
    max_width: MaxWidthOpt = None,
    segment: Annotated[
        bool,
        typer.Option(
            "--segment",
            help="Model mode: the LMDB holds pages; cut each into text lines and read "
            "them with a line model (as predict --segment).",
        ),
    ] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score recognition output: WRR, case-insensitive WRR, CRR and 1-NED per language
    (gt third column) or detected script, pooled (sample-weighted) and macro (mean of
    groups). gt keys without a prediction count as empty predictions. Line and page
    texts are written with \\n for each line break (and \\\\ for a backslash);
    when any text has several lines a second table gives CER, WER (not for
    Chinese/Japanese/Korean), the line-aligned CER and how many gt lines were
    dropped, merged or split and how many predicted lines were inserted. Model mode
    (--model CKPT --data LMDB...) runs a checkpoint on LMDBs (per language, with ms
    per image and parameters; the line table too when texts have several lines)."""
    if list_profiles:
        _list_profiles(json_out)
        return
    if dump is not None:  # before any work; never onto an input or a foreign file
        check_replaceable(dump, DUMP_KIND, [p for p in (pred, gt, model, *(data or [])) if p])
    if profile is not None and profile not in PROFILES:
        raise InputError(f"unknown profile '{profile}' (use one of {', '.join(PROFILES)})")
    if unit not in UNITS:
        raise InputError(f"unknown unit '{unit}' (use one of {', '.join(UNITS)})")
    if model is not None:
        if pred is not None or gt is not None:
            raise InputError("give either --model/--data or --pred/--gt, not both")
        from strtool.tasks.base import DecodingOptions

        decoding = DecodingOptions(beam, joint_ctc, max_width)
        report = _model_mode(model, data or [], langs, profile, unit, script_acc, batch_size,
                             device, max_samples, decoding, json_out, quiet, segment)  # fmt: skip
    else:
        if segment:
            raise InputError("--segment reads pages with a model: give --model and --data")
        if pred is None or gt is None:
            raise InputError("give --pred and --gt, or --model and --data (or --list-profiles)")
        report = _files_mode(pred, gt, profile, unit, gt_format, script_acc, escapes, json_out)
    if errors:
        print_worst(report.worst(errors))
    if dump is not None:
        worst = report.worst(errors or report.pooled.n)
        dump_worst(worst, dump)
        info(f"wrote {len(worst)} samples to {dump}", quiet)


def _model_mode(
    model: Path, data: list[Path], langs: str | None, profile: str | None, unit: str,
    script_acc: bool, batch_size: int, device: str, max_samples: int | None,
    decoding: DecodingOptions, json_out: bool, quiet: bool, segment: bool = False,
) -> Report:  # fmt: skip
    """`eval --model --data`: run the checkpoint, print its report(s); the report."""
    from strtool.cli.eval_model import run_model_eval

    ev = run_model_eval(model, data, langs, profile, unit, script_acc, batch_size,
                        device, max_samples, quiet, decoding, segment)  # fmt: skip
    lines = model_lines(ev)
    if json_out:
        print_json({**ev.to_dict(), **({"lines": lines.to_dict()} if lines else {})})
        return ev.report
    for name, alt in ev.alternatives.items():
        out_console.print(f"{name} alone:", highlight=False)
        print_report(alt)
    print_report(ev.report)
    out_console.print(
        f"model {ev.arch} ({ev.family}), {ev.params:,} parameters, "
        f"{ev.ms_per_image:.3f} ms per image (batch {batch_size}, {ev.device}, "
        "model + decode)",
        highlight=False,
    )
    if lines is not None:
        print_line_report(lines)
    return ev.report


def _files_mode(
    pred: Path, gt: Path, profile: str | None, unit: str, gt_format: str, script_acc: bool,
    escapes: bool, json_out: bool,
) -> Report:  # fmt: skip
    """`eval --pred --gt`: score the files, print the report(s); the report."""
    result = evaluate_files(
        pred, gt, profile=profile or "default", unit=as_unit(unit), gt_format=gt_format,
        script_acc=script_acc, escapes=escapes,
    )  # fmt: skip
    _warn_unmatched(result.missing, result.extra)
    if json_out and result.lines is not None:
        print_json({**result.report.to_dict(), "lines": result.lines.to_dict()})
    else:
        print_report(result.report, json_out)
        if result.lines is not None:
            print_line_report(result.lines)
    return result.report
