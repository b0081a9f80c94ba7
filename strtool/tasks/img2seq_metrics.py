"""CER and WER of line / page readings, on strings (never on token ids).

Texts are first put in line form: NFC, every line's whitespace runs collapsed to one
space and stripped, empty lines dropped, lines joined by a single "\\n". A missing or
extra line break then costs one edit, as any character does.

- **CER** = sum of character edit distances / sum of gt characters (line breaks count
  as characters), i.e. `1 - CRR` of `strtool.evaluation.metrics.score` on the line
  forms with whitespace kept (in the declared unit: code points or graphemes).
- **WER** = sum of word edit distances / sum of gt words, words split on any
  whitespace (so a line break separates words too). Samples of Chinese, Japanese or
  Korean (by language tag, else by the gt's script) are left out of WER: their words
  are not delimited by spaces (or not reliably), so only CER is reported for them;
  WER is None when no sample is left.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from strtool.evaluation.metrics import Profile, score
from strtool.text.langs import GROUPS
from strtool.text.normalize import Unit
from strtool.text.script import detect_group

#: Script groups scored by CER only.
CER_ONLY: frozenset[str] = frozenset({"CHI", "JPN", "KOR"})
#: Whitespace is normalised by `line_form` before scoring, so the profile keeps it.
LINES = Profile("lines", "NFC", "keep", description="NFC, lines kept, whitespace per line.")


def line_form(text: str) -> str:
    """NFC; whitespace collapsed inside each line; empty lines dropped; "\\n" joins."""
    lines = (" ".join(line.split()) for line in unicodedata.normalize("NFC", text).splitlines())
    return "\n".join(line for line in lines if line)


def lines_of(text: str) -> list[str]:
    """The lines of a text in line form."""
    form = line_form(text)
    return form.split("\n") if form else []


def _group(lang: str | None, gt: str) -> str | None:
    if lang:
        for g, langs in GROUPS.items():
            if lang == g or lang in langs:
                return g
    return detect_group(gt)


def cer(preds: Sequence[str], gts: Sequence[str], unit: Unit = "codepoint") -> float:
    """Character error rate over all samples (0 when the gts hold no character)."""
    p = [line_form(t) for t in preds]
    g = [line_form(t) for t in gts]
    row = score(p, g, profile=LINES, unit=unit).pooled
    return row.edits / row.gt_units if row.gt_units else 0.0


def wer(
    preds: Sequence[str], gts: Sequence[str], langs: Sequence[str | None] | None = None
) -> float | None:
    """Word error rate over the samples not in `CER_ONLY` groups (None if none)."""
    edits = words = 0
    counted = False
    for i, (p, g) in enumerate(zip(preds, gts, strict=True)):
        if _group(langs[i] if langs else None, g) in CER_ONLY:
            continue
        counted = True
        gw, pw = line_form(g).split(), line_form(p).split()
        edits += Levenshtein.distance(pw, gw)
        words += len(gw)
    if not counted:
        return None
    return edits / words if words else 0.0
