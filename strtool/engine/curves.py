"""Training curves drawn with Pillow (no plotting dependency): one panel for the
training loss, one for the validation metrics, x = optimiser step."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from strtool.outputs import atomic_file

COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]
PANEL_W, PANEL_H, PAD = 560, 300, 48


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Records of a JSONL log (a torn last line, from a kill, is ignored)."""
    out: list[dict[str, Any]] = []
    p = Path(path)
    if not p.is_file():
        return out
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _series(records: list[dict[str, Any]], kind: str, key: str) -> list[tuple[float, float]]:
    return [
        (float(r["step"]), float(r[key]))
        for r in records
        if r.get("kind") == kind and isinstance(r.get(key), (int, float))
    ]


def _panel(title: str, series: dict[str, list[tuple[float, float]]]) -> Image.Image:
    img = Image.new("RGB", (PANEL_W, PANEL_H), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    d.text((PAD, 8), title, fill="black", font=font)
    x0, y0, x1, y1 = PAD, PAD // 2 + 10, PANEL_W - 12, PANEL_H - PAD // 2 - 6
    d.rectangle((x0, y0, x1, y1), outline=(120, 120, 120))
    pts = [p for s in series.values() for p in s]
    if not pts:
        d.text((x0 + 10, y0 + 10), "no data yet", fill="grey", font=font)
        return img
    xmin, xmax = min(p[0] for p in pts), max(p[0] for p in pts)
    ymin, ymax = min(p[1] for p in pts), max(p[1] for p in pts)
    xmax, ymax = max(xmax, xmin + 1), (ymax if ymax > ymin else ymin + 1e-6)

    def tx(x: float, y: float) -> tuple[float, float]:
        return (
            x0 + (x - xmin) / (xmax - xmin) * (x1 - x0),
            y1 - (y - ymin) / (ymax - ymin) * (y1 - y0),
        )

    for frac in (0.0, 0.5, 1.0):
        yv = ymin + frac * (ymax - ymin)
        d.text((2, tx(xmin, yv)[1] - 5), f"{yv:.3g}", fill="black", font=font)
    d.text((x0, y1 + 4), f"{xmin:.0f}", fill="black", font=font)
    d.text((x1 - 40, y1 + 4), f"{xmax:.0f}", fill="black", font=font)
    for i, (name, s) in enumerate(series.items()):
        col = COLOURS[i % len(COLOURS)]
        xy = [tx(x, y) for x, y in s]
        if len(xy) > 1:
            d.line(xy, fill=col, width=2)
        for p in xy[-1:] if len(xy) > 1 else xy:
            d.ellipse((p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2), fill=col)
        d.text((x1 - 150, y0 + 6 + 12 * i), name, fill=col, font=font)
    return img


def draw_curves(
    records: list[dict[str, Any]], path: str | Path, metrics: Sequence[str] = ("wrr", "crr")
) -> Path:
    """Write a PNG (two panels side by side) of `train` loss/lr and `val` metrics
    records (`{"kind": "train"|"val", "step": int, ...}`); returns `path`."""
    left = _panel("train loss", {"loss": _series(records, "train", "loss")})
    val = {m: _series(records, "val", m) for m in metrics}
    right = _panel("validation (pooled)", {k: v for k, v in val.items() if v})
    img = Image.new("RGB", (2 * PANEL_W, PANEL_H), "white")
    img.paste(left, (0, 0))
    img.paste(right, (PANEL_W, 0))
    path = Path(path)
    with atomic_file(path) as f:
        img.save(f, format="PNG")
    return path
