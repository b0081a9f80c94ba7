"""`predict`: read text from image files with any checkpoint (through `Reader`).

Inputs are files, folders (recursively, image extensions) or glob patterns; images are
decoded by the data layer (`decode_image`: RGBA composited on white, greyscale,
16-bit, EXIF orientation applied). With `rotate_vertical`, crops with h/w >= 1.5 are
rotated 90 degrees counter-clockwise before recognition.
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


def expand_inputs(items: Sequence[str | Path]) -> list[Path]:
    """Files, folders (recursive, image extensions) and globs -> sorted unique files;
    a pattern or path matching nothing raises `InputError`."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
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


def _load(path: Path, channels: int, rotate_vertical: bool) -> tuple[np.ndarray, bool]:
    try:
        arr = decode_image(path.read_bytes(), channels)
    except (OSError, ValueError, DataError) as e:
        raise DataError(f"{path}: cannot read the image ({e})") from None
    h, w = arr.shape[:2]
    if rotate_vertical and h >= 1.5 * w:
        return np.ascontiguousarray(np.rot90(arr)), True
    return arr, False


def predict_paths(
    rec: Reader, paths: Sequence[Path], batch_size: int = 64, rotate_vertical: bool = False
) -> Iterator[Prediction]:
    """Predictions in input order; an undecodable file yields a `Prediction` with
    `error` set (never silently skipped)."""
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        tensors, ok, preds = [], [], {}
        for i, p in enumerate(chunk):
            try:
                arr, rot = _load(p, rec.config.model.channels, rotate_vertical)
            except DataError as e:
                preds[i] = Prediction(str(p), "", 0.0, error=str(e))
                continue
            tensors.append(rec.transform(arr))
            ok.append((i, rot))
        if tensors:
            reading = rec.read(torch.stack(tensors))
            for k, ((i, rot), t, c) in enumerate(
                zip(ok, reading.texts, reading.confidences, strict=True)
            ):
                alts = {name: texts[k] for name, (texts, _) in reading.alternatives.items()}
                lines = None
                if reading.line_confidences:
                    confs = reading.line_confidences[k]
                    lines = [{"text": x, "confidence": float(lc)}
                             for x, lc in zip(t.split("\n"), confs, strict=True)]  # fmt: skip
                preds[i] = Prediction(str(chunk[i]), t, float(c), rot, None, alts, lines)
        for i in range(len(chunk)):
            yield preds[i]
