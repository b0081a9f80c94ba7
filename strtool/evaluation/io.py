"""Reading prediction and ground-truth files for `strtool eval --pred --gt`.

- gt, `tsv`: `key<TAB>text[<TAB>lang]` (the optional third column is a language code
  or script group used for grouping; an empty one means "detect from the text").
- gt, `mlt`: ICDAR MLT word gt `image,Script,transcription` (split on the first two
  commas); `Script` is mapped to its group (`Bangla` -> `BEN`), `Symbols`, `Mixed`
  and `None` give no group (detected from the text).
- predictions: `key<TAB>text[<TAB>confidence]`; an empty prediction is `key<TAB>`.

Files are UTF-8 (optional BOM, `\\r\\n` accepted). Empty lines are skipped; texts are
kept exactly as written (no stripping: normalisation is the metric profile's job);
keys are stripped. Every problem raises `InputError` naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from strtool.errors import InputError, UnknownLanguageError
from strtool.text.langs import resolve_group

GT_FORMATS: tuple[str, ...] = ("auto", "tsv", "mlt")
_MLT_NO_GROUP = frozenset({"symbols", "mixed", "none"})
_MLT_LINE = re.compile(r"^[^,\t]+,[A-Za-z]+,")


@dataclass(frozen=True)
class GtTable:
    """Ground truth in file order; `langs` is None when no line gives one."""

    path: Path
    keys: list[str]
    texts: list[str]
    langs: list[str | None] | None


@dataclass(frozen=True)
class PredTable:
    """Predictions by key (file order kept) and optional confidences."""

    path: Path
    texts: dict[str, str]
    confidences: dict[str, float]


def read_text(path: Path) -> str:
    """The whole file decoded as UTF-8 (BOM removed); bad bytes -> `InputError` with
    the line number."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file does not exist")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(f"{path}:{line}: not valid UTF-8 ({e.reason})") from None
    return text[1:] if text.startswith("\ufeff") else text


def _raw_lines(path: Path, text: str) -> list[str]:
    """All lines (`\r\n` handled), only `\n` splits: U+2028 etc. stay in texts."""
    lines = text.split("\n")
    if "\r" in text:
        lines = [x[:-1] if x.endswith("\r") else x for x in lines]
    if not any(lines):
        raise InputError(f"{path}: no samples (empty file)")
    return lines


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-empty lines of a UTF-8 file as `(1-based line number, text)`."""
    lines = _raw_lines(Path(path), read_text(path))
    return [(n, line) for n, line in enumerate(lines, start=1) if line]


def _fast_rows(lines: list[str]) -> tuple[list[list[str]], list[str]] | None:
    """Rows of 2-3 tab-separated columns with unique non-empty keys, or None when any
    line breaks the rules (then the line-by-line parser finds and names it)."""
    rows = [x.split("\t") for x in lines if x]
    if not set(map(len, rows)) <= {2, 3}:
        return None
    keys = [r[0].strip() for r in rows]
    if not all(keys) or len(set(keys)) != len(keys):
        return None
    return rows, keys


def _key(path: Path, n: int, raw: str) -> str:
    key = raw.strip()
    if not key:
        raise InputError(f"{path}:{n}: empty key")
    return key


def _check_dup(path: Path, n: int, key: str, seen: dict[str, int]) -> None:
    first = seen.setdefault(key, n)
    if first != n:
        raise InputError(f"{path}:{n}: duplicate key '{key}' (first on line {first})")


def detect_gt_format(path: Path, lines: list[tuple[int, str]]) -> str:
    """`tsv` if the first line has a tab, `mlt` if it looks like `img,Script,text`."""
    n, first = lines[0]
    if "\t" in first:
        return "tsv"
    if _MLT_LINE.match(first):
        return "mlt"
    raise InputError(f"{path}:{n}: expected 'key<TAB>text' or 'image,Script,transcription'")


def _parse_tsv_gt(path: Path, n: int, line: str) -> tuple[str, str, str | None]:
    parts = line.split("\t")
    if len(parts) == 1:
        raise InputError(f"{path}:{n}: expected 'key<TAB>text[<TAB>lang]' (no tab)")
    if len(parts) > 3:
        raise InputError(
            f"{path}:{n}: {len(parts)} tab-separated columns, expected 2 or 3 "
            "(a tab inside the text?)"
        )
    lang = (parts[2].strip() or None) if len(parts) == 3 else None
    return _key(path, n, parts[0]), parts[1], lang


def _parse_mlt_gt(path: Path, n: int, line: str) -> tuple[str, str, str | None]:
    parts = line.split(",", 2)
    if len(parts) < 3:
        raise InputError(f"{path}:{n}: expected 'image,Script,transcription'")
    script = parts[1].strip()
    if script.lower() in _MLT_NO_GROUP:
        group = None
    else:
        try:
            group = resolve_group(script)
        except UnknownLanguageError:
            raise InputError(f"{path}:{n}: unknown MLT Script '{script}'") from None
    return _key(path, n, parts[0]), parts[2], group


def read_gt(path: Path, fmt: str = "auto") -> GtTable:
    """Read a gt file (`fmt`: `auto`, `tsv` or `mlt`, see the module doc)."""
    path = Path(path)
    if fmt not in GT_FORMATS:
        raise InputError(f"unknown gt format '{fmt}' (use one of {', '.join(GT_FORMATS)})")
    raw = _raw_lines(path, read_text(path))
    lines = [(n, line) for n, line in enumerate(raw, start=1) if line]
    if fmt == "auto":
        fmt = detect_gt_format(path, lines)
    fast = _fast_rows(raw) if fmt == "tsv" else None
    if fast is not None:
        rows, keys = fast
        texts = [r[1] for r in rows]
        langs = [(r[2].strip() or None) if len(r) == 3 else None for r in rows]
    else:
        keys, texts, langs = _slow_gt(path, lines, fmt)
    has_lang = any(lang is not None for lang in langs)
    return GtTable(path, keys, texts, langs if has_lang else None)


def _slow_gt(
    path: Path, lines: list[tuple[int, str]], fmt: str
) -> tuple[list[str], list[str], list[str | None]]:
    parse = _parse_tsv_gt if fmt == "tsv" else _parse_mlt_gt
    keys: list[str] = []
    texts: list[str] = []
    langs: list[str | None] = []
    seen: dict[str, int] = {}
    for n, line in lines:
        key, text, lang = parse(path, n, line)
        _check_dup(path, n, key, seen)
        keys.append(key)
        texts.append(text)
        langs.append(lang)
    return keys, texts, langs


def read_preds(path: Path) -> PredTable:
    """Read a prediction file `key<TAB>text[<TAB>confidence]`."""
    path = Path(path)
    raw = _raw_lines(path, read_text(path))
    fast = _fast_rows(raw)
    if fast is None:
        return _slow_preds(path, [(n, x) for n, x in enumerate(raw, start=1) if x])
    rows, keys = fast
    with_conf = [(k, r[2]) for k, r in zip(keys, rows, strict=True) if len(r) == 3 and r[2]]
    try:
        values = list(map(float, [c for _, c in with_conf]))
    except ValueError:
        return _slow_preds(path, [(n, x) for n, x in enumerate(raw, start=1) if x])
    conf = dict(zip([k for k, _ in with_conf], values, strict=True))
    return PredTable(path, dict(zip(keys, (r[1] for r in rows), strict=True)), conf)


def _slow_preds(path: Path, lines: list[tuple[int, str]]) -> PredTable:
    texts: dict[str, str] = {}
    conf: dict[str, float] = {}
    seen: dict[str, int] = {}
    for n, line in lines:
        parts = line.split("\t")
        if len(parts) == 1:
            raise InputError(
                f"{path}:{n}: expected 'key<TAB>text[<TAB>confidence]' (no tab; an "
                "empty prediction is 'key<TAB>')"
            )
        if len(parts) > 3:
            raise InputError(
                f"{path}:{n}: {len(parts)} tab-separated columns, expected 2 or 3 "
                "(a tab inside the text?)"
            )
        key = _key(path, n, parts[0])
        _check_dup(path, n, key, seen)
        texts[key] = parts[1]
        if len(parts) == 3 and parts[2].strip():
            try:
                conf[key] = float(parts[2])
            except ValueError:
                raise InputError(f"{path}:{n}: confidence '{parts[2]}' is not a number") from None
    return PredTable(path, texts, conf)
