"""CER and WER of line / page readings, on strings (never on token ids).

Texts are first put in line form: NFC, every line's whitespace runs collapsed to one
space and stripped, empty lines dropped, lines joined by a single "\\n". A missing or
extra line break then costs one edit, as any character does.

- **CER** = sum of character edit distances / sum of gt characters (line breaks count
  as characters), the pooled CER of `strtool.evaluation.lines.score_lines` (in the
  declared unit: code points or graphemes).
- **WER** = sum of word edit distances / sum of gt words, words split on any
  whitespace (so a line break separates words too). Samples of Chinese, Japanese or
  Korean (by language tag, else by the gt's script) are left out of WER: their words
  are not delimited by spaces (or not reliably), so only CER is reported for them;
  WER is None when no sample is left.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from strtool.evaluation.lines import CER_ONLY, score_lines
from strtool.text.normalize import Unit

__all__ = ["CER_ONLY", "cer", "line_form", "lines_of", "wer"]


def line_form(text: str) -> str:
    """NFC; whitespace collapsed inside each line; empty lines dropped; "\\n" joins."""
    lines = (" ".join(line.split()) for line in unicodedata.normalize("NFC", text).splitlines())
    return "\n".join(line for line in lines if line)


def lines_of(text: str) -> list[str]:
    """The lines of a text in line form."""
    form = line_form(text)
    return form.split("\n") if form else []


def cer(preds: Sequence[str], gts: Sequence[str], unit: Unit = "codepoint") -> float:
    """Character error rate over all samples (`strtool.evaluation.lines`, pooled)."""
    return score_lines(list(map(line_form, preds)), list(map(line_form, gts)), unit=unit).pooled.cer


def wer(
    preds: Sequence[str], gts: Sequence[str], langs: Sequence[str | None] | None = None
) -> float | None:
    """Word error rate over the samples not in `CER_ONLY` groups (None if none)."""
    p, g = list(map(line_form, preds)), list(map(line_form, gts))
    return score_lines(p, g, langs=langs).pooled.wer
