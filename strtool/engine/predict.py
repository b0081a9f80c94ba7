"""`predict`: read text from image files with any checkpoint (through `Reader`).

Inputs are files, folders (recursively, image extensions) or glob patterns; images are
decoded by the data layer (`decode_image`: RGBA composited on white, greyscale,
16-bit, EXIF orientation applied). Tall crops (h/w >= 1.5) are read the ways
`vertical` allows (`strtool.engine.orient`: as is, as a column of upright CJK glyphs
laid left to right, turned either way) and the most confident reading is kept.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from strtool.data.decode import decode_image
from strtool.engine.orient import ROTATIONS, Candidate, VerticalMode, candidates, pick
from strtool.engine.reader import Reader
from strtool.errors import DataError, InputError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"}


@dataclass
class Prediction:
    """One input's reading; `error` names why a file could not be read (then `text` is
    empty); `alternatives`: the model's other outputs (e.g. `spotter` under a Refiner);
    `lines`: `{text, confidence}` per "\n"-separated line, for the families that read
    lines and pages (`Reading.line_confidences`; None for the others)."""

    path: str
    text: str
    confidence: float
    rotated: bool = False
    error: str | None = None
    alternatives: dict[str, str] = field(default_factory=dict)
    lines: list[dict[str, Any]] | None = None
    #: how a tall crop was read: "" as is, "cells" (vertical glyphs), "ccw" or "cw"
    orientation: str = ""
    #: pages read line by line (`--segment`): the skew in degrees that was turned back
    #: before the lines were cut (the line boxes are in the deskewed page); else None
    skew: float | None = None
    #: read as one crop by a word or line model, the image holds this many text lines
    #: (`PAGE_HINT_LINES` or more): it is a page, better read with `--segment`
    page_lines: int | None = None


#: an image read as one crop is flagged as a page (`Prediction.page_lines`) when it
#: holds this many separate ink bands (text lines with empty rows between them,
#: `strtool.data.layout.find_lines`; touching lines are not counted, a tall word's
#: ascender zone cannot pass for a line) and its lines are horizontal: their median box
#: at least `PAGE_HINT_ASPECT` times as wide as high (the glyphs of a vertical CJK
#: column are bands too, but square); only images at least `PAGE_HINT_HEIGHT` times the
#: model's input height are looked at
PAGE_HINT_LINES = 2
PAGE_HINT_ASPECT = 2.0
PAGE_HINT_HEIGHT = 3


def page_lines(arr: np.ndarray, model_height: int) -> int | None:
    """The number of text lines of an image a strip model is about to read as one
    crop, when it is a page (see `PAGE_HINT_LINES`); else None. Word crops are not
    looked at (too low), so the cost falls on large images only."""
    if arr.shape[0] < PAGE_HINT_HEIGHT * model_height:
        return None
    from strtool.data.layout import find_lines

    lay = find_lines(arr)
    if lay.bands < PAGE_HINT_LINES:
        return None
    aspect = np.median([(b.right - b.left) / max(b.bottom - b.top, 1) for b in lay.lines])
    return len(lay.lines) if aspect >= PAGE_HINT_ASPECT else None


def expand_inputs(items: Sequence[str | Path]) -> list[Path]:
    """Files, folders (recursive, image extensions) and globs -> sorted unique files;
    a pattern or path matching nothing, or an LMDB folder, raises `InputError`."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir() and (p / "data.mdb").is_file():
            raise InputError(
                f"'{item}' is an LMDB, not a folder of images: read it with strtool eval "
                f"--model MODEL --data {item} (or write its images out with strtool lmdb export)"
            )
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_EXTS)
        elif p.is_file():
            found = [p]
        else:
            found = sorted(Path(x) for x in glob.glob(str(item), recursive=True))
        if not found:
            raise InputError(f"no image found at '{item}'")
        out.extend(found)
    return list(dict.fromkeys(out))


def _load(path: Path, channels: int) -> np.ndarray:
    try:
        return decode_image(path.read_bytes(), channels)
    except (OSError, ValueError, DataError) as e:
        raise DataError(f"{path}: cannot read the image ({e})") from None


def predict_paths(
    rec: Reader,
    paths: Sequence[Path],
    batch_size: int = 64,
    rotate_vertical: bool = False,
    vertical: VerticalMode = "auto",
    segment: bool = False,
) -> Iterator[Prediction]:
    """Predictions in input order; an undecodable file yields a `Prediction` with
    `error` set (never silently skipped). `rotate_vertical` is `vertical="rotate"`;
    models whose input is not a horizontal strip (width < 2 x height: page models) read
    every image as is. `segment`: every image is a page, cut into lines and read line by
    line (`strtool.engine.pages`; `lines` gives each line's box)."""
    if segment:
        yield from _predict_pages(rec, paths, batch_size)
        return
    mode: VerticalMode = "rotate" if rotate_vertical else vertical
    geometry = rec.config.model
    strip = geometry.width >= 2 * geometry.height  # a word or line model
    if not strip:
        mode = "none"
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        tensors: list[torch.Tensor] = []
        owners: list[tuple[int, Candidate]] = []  # (index in chunk, candidate) per tensor
        preds: dict[int, Prediction] = {}
        pages: dict[int, int] = {}  # index in chunk -> text lines, images that are pages
        for i, p in enumerate(chunk):
            try:
                arr = _load(p, rec.config.model.channels)
            except DataError as e:
                preds[i] = Prediction(str(p), "", 0.0, error=str(e))
                continue
            if strip and (n := page_lines(arr, geometry.height)):
                pages[i] = n
            for cand in candidates(arr, mode):
                tensors.append(rec.transform(cand.image))
                owners.append((i, cand))
        if tensors:
            reading = rec.read_many(tensors, batch_size)
            by_input: dict[int, list[int]] = {}
            for k, (i, _) in enumerate(owners):
                by_input.setdefault(i, []).append(k)
            for i, ks in by_input.items():
                texts = [reading.texts[j] for j in ks]
                confs = [reading.confidences[j] for j in ks]
                k = ks[pick(texts, confs, [owners[j][1].glyphs for j in ks])]
                how = owners[k][1].how
                alts = {name: texts[k] for name, (texts, _) in reading.alternatives.items()}
                t, c = reading.texts[k], float(reading.confidences[k])
                lines = None
                if reading.line_confidences:
                    confs = reading.line_confidences[k]
                    lines = [{"text": x, "confidence": float(lc)}
                             for x, lc in zip(t.split("\n"), confs, strict=True)]  # fmt: skip
                preds[i] = Prediction(str(chunk[i]), t, c, how in ROTATIONS, None, alts, lines,
                                      how, page_lines=pages.get(i))  # fmt: skip
        for i in range(len(chunk)):
            yield preds[i]


def _predict_pages(rec: Reader, paths: Sequence[Path], batch_size: int) -> Iterator[Prediction]:
    """`predict_paths(segment=True)`: pages read line by line, in input order."""
    from strtool.engine.pages import read_pages

    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        arrays: dict[int, np.ndarray] = {}
        errors: dict[int, str] = {}
        for i, p in enumerate(chunk):
            try:
                arrays[i] = _load(p, rec.config.model.channels)
            except DataError as e:
                errors[i] = str(e)
        pages = dict(zip(arrays, read_pages(rec, list(arrays.values()), batch_size), strict=True))
        for i, p in enumerate(chunk):
            if i in errors:
                yield Prediction(str(p), "", 0.0, error=errors[i])
                continue
            page = pages[i]
            yield Prediction(str(p), page.text, page.confidence, lines=page.lines,
                             skew=round(page.skew, 2))  # fmt: skip
