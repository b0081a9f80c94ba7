"""Ground-truth file formats accepted by `strtool make-lmdb`.

- `tsv`: one sample per line, `path<TAB>label` or `path<TAB>label<TAB>lang`. The
  optional third column is a language code (`fr`) or a group name (`LAT`, `ARA`),
  case-insensitive, tagged like `--lang` (a group of one language gives that language:
  `ARA` -> `ar`). Any other tab in the label part (including a third column that is not
  a known language or group) makes the line **malformed** (reported, not guessed at),
  except with `--compat cll`, whose labels are tab-separated units and which has no
  language column.
- `mlt`: ICDAR MLT word-crop gt, `image,Script,transcription`. Split on the first two
  commas only (transcriptions may contain commas). `Script` names an MLT group
  (`Arabic`, `Bangla`, `Latin`, ...); `Symbols`, `Mixed` and `None` are accepted and
  give no language.

Both are read as UTF-8 with an optional BOM; `\\r\\n` endings are accepted; blank
lines are ignored. Image paths are relative to the image root (by default the folder
of the gt file) unless absolute. Parsing never raises for a bad line: it yields a
`GtIssue` with the file and 1-based line number instead.

Duplicates (`mark_duplicates`): when several lines name the same image file (same
path after normalisation), the **first line wins** and every later one becomes a
`duplicate` issue naming the first line and saying whether the labels conflict.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from strtool.errors import InputError, UnknownLanguageError
from strtool.text.langs import GROUPS, LANG_SCRIPT, lang_group, resolve_group
from strtool.text.normalize import normalize_label

FORMATS: tuple[str, ...] = ("auto", "tsv", "mlt", "lmdb", "iam")
#: MLT 'Script' values that carry no language.
MLT_NO_LANG = frozenset({"symbols", "mixed", "none"})
#: Files looked for when the input of make-lmdb is a folder.
GT_NAMES: tuple[str, ...] = ("gt.txt", "gt.tsv", "labels.txt", "gt.csv", "gt_word.txt")

_MLT_LINE = re.compile(r"^[^,\t]+,[A-Za-z]+,")


@dataclass(frozen=True)
class GtEntry:
    """One parsed gt line: image path (resolved), raw label, optional group (MLT
    Script, or the group of a tsv language column) and optional per-line language tag
    (tsv third column)."""

    image: str
    label: str
    group: str | None
    source: str
    line: int
    lang: str | None = None
    #: Region (x, y, w, h) of the image to store (IAM page crops), None: whole image.
    crop: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class GtIssue:
    """A gt line that gives no sample: `kind` is `malformed` (or another build kind)."""

    kind: str
    source: str
    line: int
    message: str
    image: str | None = None


#: One parsed gt line: a sample or the reason it gives none.
GtItem = GtEntry | GtIssue


def find_gt(folder: Path) -> Path:
    """The gt file inside an input folder (first of `GT_NAMES` that exists)."""
    for name in GT_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise InputError(f"{folder}: no gt file found (looked for {', '.join(GT_NAMES)})")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise InputError(f"{path}: gt file does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line.strip():
            yield n, line


def detect_format(path: Path) -> str:
    """`tsv` or `mlt` from the first non-blank lines of a gt file."""
    votes = {"tsv": 0, "mlt": 0}
    for i, (_, line) in enumerate(_lines(path)):
        if "\t" in line:
            votes["tsv"] += 1
        elif _MLT_LINE.match(line) and _is_script(line.split(",", 2)[1]):
            votes["mlt"] += 1
        if i >= 20:
            break
    if not any(votes.values()):
        raise InputError(f"{path}: cannot detect the gt format (use --format tsv|mlt)")
    return max(votes, key=lambda k: votes[k])


def _is_script(name: str) -> bool:
    if name.strip().lower() in MLT_NO_LANG:
        return True
    try:
        resolve_group(name)
    except UnknownLanguageError:
        return False
    return True


def _resolve(root: str, rel: str) -> str:
    return os.path.join(root, rel.strip())  # an absolute `rel` wins


def line_lang(value: str) -> str | None:
    """The tag of a tsv language column: a language code (`fr`) or a group name
    (`LAT`), case-insensitive, surrounding spaces ignored; a group of one language
    gives that language (`ARA` -> `ar`), as `--lang` does. None when not known."""
    tok = value.strip()
    if tok.lower() in LANG_SCRIPT:
        return tok.lower()
    langs = GROUPS.get(tok.upper())
    if langs is None:
        return None
    return langs[0] if len(langs) == 1 else tok.upper()


def parse_tsv(path: Path, root: Path | None = None, allow_tabs: bool = False) -> Iterator[GtItem]:
    """Yield a `GtEntry` or `GtIssue` per non-blank line of a `path<TAB>label` or
    `path<TAB>label<TAB>lang` file (`lang` sets `GtEntry.lang` and `.group`). With
    `allow_tabs` (CLL labels) everything after the first tab is the label."""
    base = str(root if root is not None else path.parent)
    src = str(path)
    for n, line in _lines(path):
        rel, sep, label = line.partition("\t")
        if not sep:
            yield GtIssue("malformed", src, n, "no tab between path and label")
        elif not rel.strip():
            yield GtIssue("malformed", src, n, "empty image path")
        elif "\t" not in label or allow_tabs:
            yield GtEntry(_resolve(base, rel), label, None, src, n)
        else:
            label, _, col = label.partition("\t")
            tag = None if "\t" in col else line_lang(col)
            if tag is None:
                why = "label contains a tab (third column is not a language code or group)"
                yield GtIssue("malformed", src, n, why, rel)
            else:
                group = tag if tag in GROUPS else lang_group(tag)
                yield GtEntry(_resolve(base, rel), label, group, src, n, tag)


def parse_mlt(path: Path, root: Path | None = None) -> Iterator[GtItem]:
    """Yield a `GtEntry` or `GtIssue` per non-blank line of an MLT word gt file."""
    base = str(root if root is not None else path.parent)
    src = str(path)
    for n, line in _lines(path):
        parts = line.split(",", 2)
        if len(parts) < 3:
            yield GtIssue("malformed", src, n, "expected 'image,Script,transcription'")
            continue
        rel, script, label = parts
        if not rel.strip():
            yield GtIssue("malformed", src, n, "empty image path")
            continue
        key = script.strip()
        if key.lower() in MLT_NO_LANG:
            group = None
        else:
            try:
                group = resolve_group(key)
            except UnknownLanguageError:
                yield GtIssue("malformed", src, n, f"unknown Script '{key}'", rel)
                continue
        yield GtEntry(_resolve(base, rel), label, group, src, n)


def mark_duplicates(items: list[GtItem]) -> list[GtItem]:
    """`items` with every entry whose image an earlier entry already names replaced by
    a `duplicate` `GtIssue` (first line wins; the message names it and says whether
    the labels differ after normalisation)."""
    first: dict[str, GtEntry] = {}
    out: list[GtItem] = []
    for e in items:
        if isinstance(e, GtEntry):
            key = os.path.normpath(e.image)
            seen = first.setdefault(key, e)
            if seen is not e:
                if normalize_label(seen.label) == normalize_label(e.label):
                    why = f"same image and label as line {seen.line}"
                else:
                    why = f"same image as line {seen.line}, other label (kept {seen.label!r})"
                out.append(GtIssue("duplicate", e.source, e.line, why, e.image))
                continue
        out.append(e)
    return out
