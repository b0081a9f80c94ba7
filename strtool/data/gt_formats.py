"""Ground-truth file formats accepted by `strtool make-lmdb`.

- `tsv`: one sample per line, `path<TAB>label`. The line is split on the first tab;
  a label that still contains a tab is **malformed** (reported, not guessed at),
  except with `--compat cll`, whose labels are tab-separated units.
- `mlt`: ICDAR MLT word-crop gt, `image,Script,transcription`. Split on the first two
  commas only (transcriptions may contain commas). `Script` names an MLT group
  (`Arabic`, `Bangla`, `Latin`, ...); `Symbols`, `Mixed` and `None` are accepted and
  give no language.

Both are read as UTF-8 with an optional BOM; `\\r\\n` endings are accepted; blank
lines are ignored. Image paths are relative to the image root (by default the folder
of the gt file) unless absolute. Parsing never raises for a bad line: it yields a
`GtIssue` with the file and 1-based line number instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from strtool.errors import InputError, UnknownLanguageError
from strtool.text.langs import resolve_group

FORMATS: tuple[str, ...] = ("auto", "tsv", "mlt", "lmdb")
#: MLT 'Script' values that carry no language.
MLT_NO_LANG = frozenset({"symbols", "mixed", "none"})
#: Files looked for when the input of make-lmdb is a folder.
GT_NAMES: tuple[str, ...] = ("gt.txt", "gt.tsv", "labels.txt", "gt.csv", "gt_word.txt")

_MLT_LINE = re.compile(r"^[^,\t]+,[A-Za-z]+,")


@dataclass(frozen=True)
class GtEntry:
    """One parsed gt line: image path (resolved), raw label, optional MLT group."""

    image: str
    label: str
    group: str | None
    source: str
    line: int


@dataclass(frozen=True)
class GtIssue:
    """A gt line that gives no sample: `kind` is `malformed` (or another build kind)."""

    kind: str
    source: str
    line: int
    message: str
    image: str | None = None


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


def parse_tsv(path: Path, root: Path | None = None, allow_tabs: bool = False):
    """Yield a `GtEntry` or `GtIssue` per non-blank line of a `path<TAB>label` file."""
    root = str(root if root is not None else path.parent)
    src = str(path)
    for n, line in _lines(path):
        rel, sep, label = line.partition("\t")
        if not sep:
            yield GtIssue("malformed", src, n, "no tab between path and label")
        elif not rel.strip():
            yield GtIssue("malformed", src, n, "empty image path")
        elif "\t" in label and not allow_tabs:
            yield GtIssue("malformed", src, n, "label contains a tab", rel)
        else:
            yield GtEntry(_resolve(root, rel), label, None, src, n)


def parse_mlt(path: Path, root: Path | None = None):
    """Yield a `GtEntry` or `GtIssue` per non-blank line of an MLT word gt file."""
    root = str(root if root is not None else path.parent)
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
        yield GtEntry(_resolve(root, rel), label, group, src, n)
