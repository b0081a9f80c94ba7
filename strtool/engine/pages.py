"""Pages read line by line: a page image is cut into text lines
(`strtool.data.layout.find_lines`: deskew, line bands, touching lines split) and a
recogniser reads every line (any model: a CTC or img2seq line model is made for it,
a word model reads short lines, a page model reads one line as a page of one); the
page's text is the lines joined by "\\n" in reading order, top to bottom.

This is the classic pipeline of OCR engines, beside the img2seq page models that read
a whole page in one pass: it needs no page training, only a line model, and it cannot
read what the line finder misses (lines of several columns, text at steep angles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strtool.data.layout import find_lines
from strtool.engine.reader import Reader


@dataclass
class PageReading:
    """One page: `text` (the lines joined by "\\n"), `confidence` (the least confident
    line's; 0 for a page without lines), the page's `skew` in degrees, and `lines`:
    per line its text, confidence and box (`top`, `bottom`, `left`, `right` in the
    deskewed page)."""

    text: str
    confidence: float
    skew: float
    lines: list[dict[str, Any]] = field(default_factory=list)


def read_pages(rec: Reader, pages: Sequence[np.ndarray], batch_size: int = 64) -> list[PageReading]:
    """Each decoded page image (H, W[, C] uint8, the model's channels) cut into lines
    and read; the lines of all pages go through the model in batches."""
    layouts = [find_lines(p) for p in pages]
    crops = [c for lay in layouts for c in lay.crops()]
    reading = rec.read_many([rec.transform(c) for c in crops], batch_size)
    out: list[PageReading] = []
    k = 0
    for lay in layouts:
        n = len(lay.lines)
        texts, confs = reading.texts[k : k + n], [float(c) for c in reading.confidences[k : k + n]]
        k += n
        lines: list[dict[str, Any]] = [
            {"text": t, "confidence": c, "box": b.to_dict()}
            for t, c, b in zip(texts, confs, lay.lines, strict=True)
        ]
        out.append(PageReading("\n".join(texts), min(confs, default=0.0), lay.skew, lines))
    return out
