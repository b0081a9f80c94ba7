"""Input options of `make_lmdb` beyond the gt formats: IAM roots and escaped tsv labels.

- `InputOpts.level` / `keep_err`: what an IAM root gives (`strtool.data.iam`): word,
  line or page samples, and whether rows whose IAM segmentation is `err` are written
  (default: skipped as `segmentation_err` issues, counted and listed in the report).
- `InputOpts.escaped`: whether tsv labels use the escapes of `strtool.text.escape`
  (`\\n` for a line break, `\\\\` for a backslash). None (the default) = automatic: on
  for the `gt.txt` of a folder that `strtool lmdb export` wrote with these escapes
  (its marker says `"escapes": "backslash-n"`), off for every other tsv file, whose
  labels are read verbatim as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from strtool.data import gt_formats as gtf
from strtool.data.iam import iam_entries
from strtool.errors import InputError
from strtool.outputs import read_marker
from strtool.text.escape import ESCAPES, unescape_text


@dataclass(frozen=True)
class InputOpts:
    """IAM `level` (words, lines, pages) and `keep_err`; tsv `escaped` (None: auto)."""

    level: str = "words"
    keep_err: bool = False
    escaped: bool | None = None

    def meta(self, fmt: str) -> dict[str, Any]:
        """What the LMDB meta (and a resumed build) records of these options."""
        if fmt == "iam":
            return {"iam_level": self.level, "iam_keep_err": self.keep_err}
        if fmt == "tsv" and self.escaped is not None:
            return {"escaped": self.escaped}
        return {}


def escaped_gt(gt: Path, escaped: bool | None) -> bool:
    """Whether the labels of the tsv `gt` are escaped (see the module docstring)."""
    if escaped is not None:
        return escaped
    marker = read_marker(gt.parent)
    return bool(marker and marker.get("kind") == "export" and marker.get("escapes") == ESCAPES)


def unescape_items(items: list[gtf.GtItem]) -> list[gtf.GtItem]:
    """`items` with the labels of the entries unescaped (`\\n` -> line break)."""
    return [
        replace(e, label=unescape_text(e.label)) if isinstance(e, gtf.GtEntry) else e for e in items
    ]


def read_iam(root: Path, opts: InputOpts) -> list[gtf.GtItem]:
    """The entries of an IAM root (`strtool.data.iam.iam_entries`), duplicates marked."""
    return gtf.mark_duplicates(iam_entries(root, opts.level, opts.keep_err))


def iam_fingerprint_file(root: Path) -> Path:
    """The file whose size and time stand for an IAM root in a resumable build."""
    for name in ("ascii/lines.txt", "ascii/words.txt"):
        if (root / name).is_file():
            return root / name
    if (root / "xml").is_dir():
        return root / "xml"
    raise InputError(f"{root}: not an IAM root (no ascii/lines.txt, ascii/words.txt or xml/)")
