"""Report files of `strtool demo`: contact sheet of predictions, prediction tsv,
exported sample images, a slim checkpoint. All written atomically (`strtool.outputs`)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from strtool.data.dataset import LmdbDataset
from strtool.data.transforms import decode_image
from strtool.demo.data import Vocabulary
from strtool.demo.settings import DemoResult, DemoSettings, Event, settings_dict
from strtool.engine.checkpoint import load_checkpoint, save_atomic
from strtool.engine.evaluate import CheckpointEvaluation, evaluate_reader
from strtool.engine.predict import predict_paths
from strtool.engine.reader import Reader, open_reader
from strtool.evaluation.metrics import normalize_for_metric
from strtool.outputs import atomic_file, atomic_write_bytes, atomic_write_text
from strtool.synth.fonts import shipped_fonts
from strtool.text.langs import lang_group
from strtool.text.script import detect_group

#: Checkpoint entries kept in the report's model (what `predict` needs).
SLIM_KEYS = (
    "family",
    "model",
    "config",
    "arch",
    "tokenizer",
    "charset",
    "step",
    "best",
    "versions",
)


@dataclass(frozen=True)
class Shown:
    """One evaluated sample: encoded image, language, gt, prediction, confidence."""

    image: bytes
    lang: str
    gt: str
    pred: str
    confidence: float


def write_json(path: Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def write_predictions(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    """tsv `set index lang gt prediction confidence correct` (header line; backslash,
    tab and newline in texts escaped)."""
    lines = ["set\tindex\tlang\tgt\tprediction\tconfidence\tcorrect"]
    for s, i, lang, gt, pred, conf, ok in rows:
        lines.append(f"{s}\t{i}\t{lang}\t{_esc(gt)}\t{_esc(pred)}\t{conf:.4f}\t{int(ok)}")
    return atomic_write_text(path, "\n".join(lines) + "\n")


def slim_checkpoint(src: Path, dst: Path) -> Path:
    """Copy of checkpoint `src` without optimiser / scheduler / RNG state."""
    ckpt = load_checkpoint(src)
    return save_atomic({k: ckpt[k] for k in SLIM_KEYS if k in ckpt}, dst)


@lru_cache(maxsize=16)
def caption_font(group: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A shipped font of MLT `group` (libraqm layout when available), else Pillow's."""
    faces = shipped_fonts([group])
    if not faces:
        return ImageFont.load_default(size)
    rank = [("NotoSans", "Regular"), ("DejaVuSans.",), ("Regular",), ("",)]
    face = next(f for r in rank for f in faces if all(t in f.label for t in r))
    layout = ImageFont.Layout.RAQM if _has_raqm() else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(face.path), size, index=face.index, layout_engine=layout)


def _has_raqm() -> bool:
    from PIL import features

    return bool(features.check("raqm"))


def _caption(draw: ImageDraw.ImageDraw, xy: tuple[int, int], head: str, text: str,
             lang: str, colour: str) -> None:  # fmt: skip
    latin = caption_font("LAT", 14)
    draw.text(xy, head, fill="grey", font=latin)
    dx = int(draw.textlength(head, font=latin)) + 4
    if not text:
        draw.text((xy[0] + dx, xy[1]), "(empty)", fill=colour, font=latin)
        return
    font = caption_font(detect_group(text) or lang_group(lang), 16)
    draw.text((xy[0] + dx, xy[1] - 2), text, fill=colour, font=font)


def contact_sheet(samples: Sequence[Shown], out: Path, cols: int = 4) -> Path:
    """PNG grid: each crop scaled to 48 px high above `gt` and `pred` (green when
    exact, red otherwise) and the confidence."""
    cell_w, img_h, txt_h = 260, 48, 44
    rows = max(1, -(-len(samples) // cols))
    sheet = Image.new("RGB", (cols * cell_w, rows * (img_h + txt_h) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    for k, s in enumerate(samples):
        x, y = (k % cols) * cell_w + 6, (k // cols) * (img_h + txt_h) + 4
        im = Image.fromarray(decode_image(s.image, 3))
        w = max(1, min(cell_w - 12, round(im.width * img_h / im.height)))
        sheet.paste(im.resize((w, img_h), Image.Resampling.BICUBIC), (x, y))
        ok = s.pred == s.gt
        _caption(draw, (x, y + img_h + 2), "gt", s.gt, s.lang, "black")
        head = f"pred {s.confidence:.2f}"
        _caption(draw, (x, y + img_h + 22), head, s.pred, s.lang, "green" if ok else "red")
    with atomic_file(out) as f:
        sheet.save(f, format="PNG")
    return out


def export_png(image: bytes, path: Path) -> Path:
    """Save encoded image bytes as a PNG file (atomically)."""
    im = Image.open(io.BytesIO(image))
    with atomic_file(path) as f:
        im.save(f, format="PNG")
    return path


def _first_per_lang(langs: Sequence[str], k: int) -> list[int]:
    """Indices of the first `k` samples of each language, languages in first-seen order."""
    taken: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        got = taken.setdefault(lang, [])
        if len(got) < k:
            got.append(i)
    return [i for idx in taken.values() for i in idx]


def _images(path: Path, idx: list[int]) -> list[bytes]:
    ds = LmdbDataset([path])  # no filters: the order evaluate_model scored
    return [ds[i][0] for i in idx]


def predict_samples(
    reader: Reader, ev: CheckpointEvaluation, lmdb: Path, folder: Path, k: int
) -> list[dict[str, Any]]:
    """Export the first `k` samples per language of `lmdb` as PNG files into `folder`,
    read them back through the `predict` path and return one record per file."""
    res = ev.predictions
    idx = _first_per_lang(res.langs, k)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n, (i, image) in enumerate(zip(idx, _images(lmdb, idx), strict=True)):
        files.append(export_png(image, folder / f"{n:02d}_{res.langs[i]}.png"))
    preds = predict_paths(reader, files)
    out = []
    for i, f, p in zip(idx, files, preds, strict=True):
        out.append({"file": f.name, "lang": res.langs[i], "gt": res.gts[i], "pred": p.text,
                    "confidence": p.confidence, "correct": p.text == res.gts[i]})  # fmt: skip
    return out


def sheet_samples(ev: CheckpointEvaluation, lmdb: Path, k: int) -> list[Shown]:
    """The first `k` evaluated samples per language with their predictions."""
    res = ev.predictions
    idx = _first_per_lang(res.langs, k)
    return [
        Shown(img, res.langs[i], res.gts[i], res.preds[i], res.confidences[i])
        for i, img in zip(idx, _images(lmdb, idx), strict=True)
    ]


def prediction_rows(name: str, ev: CheckpointEvaluation) -> list[tuple[Any, ...]]:
    """tsv rows; `correct` as the report's WRR counts it (after its profile)."""
    r = ev.predictions

    def same(p: str, g: str) -> bool:
        return normalize_for_metric(p, ev.report.profile) == normalize_for_metric(
            g, ev.report.profile
        )

    return [
        (name, i + 1, lang, g, p, c, same(p, g))
        for i, (lang, g, p, c) in enumerate(
            zip(r.langs, r.gts, r.preds, r.confidences, strict=True)
        )
    ]


def evaluate_and_report(
    out: Path,
    vocab: Vocabulary,
    s: DemoSettings,
    counts: dict[str, Any],
    training: dict[str, Any],
    seconds: dict[str, float],
    emit: Event,
) -> DemoResult:
    """Evaluate the best checkpoint of `out/run` on `val` and `unseen`, write
    `out/report/*` and return the `DemoResult`."""
    t0 = time.perf_counter()
    run, data, rep = out / "run", out / "data", out / "report"
    ckpt = run / "best.pt" if (run / "best.pt").is_file() else run / "last.pt"
    rep.mkdir(parents=True, exist_ok=True)
    reader = open_reader(ckpt, "cpu")
    val = evaluate_reader(reader, [data / "val.lmdb"])
    unseen = evaluate_reader(reader, [data / "unseen.lmdb"])
    files = {"model": slim_checkpoint(ckpt, rep / "model.pt")}
    for name in ("curves.png", "config.yaml"):
        if (run / name).is_file():
            files[name.split(".")[0]] = atomic_write_bytes(rep / name, (run / name).read_bytes())
    rows = prediction_rows("val", val) + prediction_rows("unseen", unseen)
    files["predictions"] = write_predictions(rep / "predictions.tsv", rows)
    shown = sheet_samples(val, data / "val.lmdb", s.sheet_per_lang)
    files["contact_sheet"] = contact_sheet(shown, rep / "contact_sheet.png")
    samples = predict_samples(reader, val, data / "val.lmdb", rep / "samples", s.samples)
    files["samples"] = write_json(rep / "samples" / "predictions.json", samples)
    seconds["report"] = time.perf_counter() - t0
    steps, bs = training["step"], training["batch_size"]
    metrics = {
        "settings": settings_dict(s), "checkpoint": str(ckpt), "params": val.params,
        "arch": val.arch, "ms_per_image": val.ms_per_image,
        "vocabulary": {k: {"train_words": len(v), "unseen_words": len(vocab.unseen[k]),
                           "chars": len({c for w in v for c in w})}
                       for k, v in vocab.train.items()},
        "data": counts, "training": training | {"samples_seen": steps * bs},
        "val": val.report.to_dict(), "unseen": unseen.report.to_dict(),
        "samples": samples, "seconds": seconds,
    }  # fmt: skip
    files["metrics"] = write_json(rep / "metrics.json", metrics)
    return DemoResult(
        out, val.report, unseen.report, val.params, val.ms_per_image, steps,
        training["total_steps"], steps * bs, training["img_s"], training["stopped_early"],
        seconds, files, metrics,
    )  # fmt: skip
