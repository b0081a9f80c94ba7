"""Look inside an STR LMDB: statistics (`info`), integrity (`validate`) and a contact
sheet of samples (`contact_sheet`)."""

from __future__ import annotations

import io
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from strtool.data.decode import decode_image
from strtool.data.imgcheck import image_problem
from strtool.data.lmdb_io import LmdbReader, image_key, label_key
from strtool.errors import DataError, FontError
from strtool.outputs import PNG_SOFTWARE, atomic_write_bytes, check_replaceable
from strtool.paths import fonts_dir
from strtool.text.normalize import Unit, nfc, unit_length
from strtool.text.script import detect_group
from strtool.text.suspicious import describe, find_suspicious

#: Upper bounds of the label-length histogram bins (in units); the last bin is open.
LENGTH_BINS: tuple[int, ...] = (1, 2, 3, 4, 8, 16, 25, 32, 64)


@dataclass
class Coverage:
    """How well the labels are covered by one language's charset."""

    lang: str
    char_coverage: float  # share of label characters (occurrences) in the charset
    sample_coverage: float  # share of samples whose every character is in it
    missing: dict[str, int]  # most frequent characters outside it -> count


@dataclass
class LmdbInfo:
    """Statistics of one LMDB (`strtool lmdb info`)."""

    path: str
    samples: int
    langs: dict[str, int]
    langs_source: str  # "stored" (lang-* keys) or "detected" (script of the label)
    length_hist: dict[str, int]
    max_length: int
    mean_length: float
    distinct_chars: int
    meta: dict[str, Any] = field(default_factory=dict)
    coverage: list[Coverage] = field(default_factory=list)
    multiline: int = 0  # samples whose label has line breaks (line/page labels)
    max_lines: int = 1  # most lines in one label
    unlabeled: bool = False  # images only (meta `unlabeled`): no label statistics

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bin_name(n: int) -> str:
    lo = 0
    for hi in LENGTH_BINS:
        if n <= hi:
            return str(hi) if hi - lo == 1 else f"{lo + 1}-{hi}"
        lo = hi
    return f">{LENGTH_BINS[-1]}"


def info(path: str | Path, langs: str | None = None, unit: Unit = "codepoint") -> LmdbInfo:
    """Counts, languages, label-length histogram (in `unit`, line breaks counted), the
    multi-line labels (`multiline`, `max_lines`) and, when `langs` is given, coverage
    of the labels by those languages' charsets."""
    reader = LmdbReader(path)
    if reader.unlabeled:
        return _unlabeled_info(reader, langs)
    labels = list(reader.labels())
    if reader.has_langs:
        tags, source = [t or "unknown" for t in reader.langs()], "stored"
    else:
        tags, source = [detect_group(s) or "unknown" for s in labels], "detected"
    lengths = [unit_length(s, unit) for s in labels]
    hist = Counter(_bin_name(n) for n in lengths)
    order = [_bin_name(b) for b in LENGTH_BINS] + [f">{LENGTH_BINS[-1]}"]
    chars = Counter(c for s in labels for c in s)
    return LmdbInfo(
        path=str(path),
        samples=len(reader),
        langs=dict(Counter(tags).most_common()),
        langs_source=source,
        length_hist={k: hist[k] for k in order if hist[k]},
        max_length=max(lengths),
        mean_length=round(sum(lengths) / len(lengths), 2),
        distinct_chars=len(chars),
        meta=reader.meta,
        coverage=coverage(labels, chars, langs) if langs else [],
        multiline=sum("\n" in s for s in labels),
        max_lines=max(s.count("\n") for s in labels) + 1,
    )


def _unlabeled_info(reader: LmdbReader, langs: str | None) -> LmdbInfo:
    """`info` of an LMDB without labels: counts and stored language tags only."""
    if langs:
        raise DataError(f"{reader.path}: an unlabeled LMDB has no labels to check --lang on")
    tags = [t or "unknown" for t in reader.langs()]
    return LmdbInfo(
        path=str(reader.path), samples=len(reader), langs=dict(Counter(tags).most_common()),
        langs_source="stored", length_hist={}, max_length=0, mean_length=0.0,
        distinct_chars=0, meta=reader.meta, unlabeled=True,
    )  # fmt: skip


def coverage(labels: list[str], chars: Counter[str], langs: str, top: int = 20) -> list[Coverage]:
    """Coverage of `labels` by each charset of `langs` (spaces and the line breaks of
    line/page labels always count as covered)."""
    from strtool.text.charset import load_charsets  # another part; imported on use

    total = sum(chars.values()) or 1
    rows = []
    for cs in load_charsets(langs):
        known = set(cs.chars) | {" ", "\n"}
        missing = Counter({c: n for c, n in chars.items() if c not in known})
        ok = sum(1 for s in labels if all(c in known for c in s))
        rows.append(
            Coverage(
                lang=cs.lang,
                char_coverage=round(1 - sum(missing.values()) / total, 4),
                sample_coverage=round(ok / len(labels), 4),
                missing=dict(missing.most_common(top)),
            )
        )
    return rows


@dataclass
class Problem:
    """One integrity problem: 1-based sample index (0 = whole LMDB), key, message and
    kind: `error` (broken) or `flag` (a label with suspicious characters, see
    `strtool.text.suspicious`: usable, but probably not what the image shows)."""

    index: int
    key: str
    message: str
    kind: str = "error"


def validate(
    path: str | Path,
    max_problems: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> list[Problem]:
    """Check that every key is present and every image decodes; labels must be UTF-8,
    non-empty and NFC; labels with suspicious characters are flagged (kind `flag`).
    Returns the problems (at most `max_problems`); `progress(done,
    total)` is called every 1,000 samples and at the end."""
    reader = LmdbReader(path)
    problems: list[Problem] = []
    total = len(reader)
    for i in range(1, total + 1):
        problems.extend(_sample_problems(reader, i))
        if len(problems) >= max_problems:
            break
        if progress is not None and (i % 1000 == 0 or i == total):
            progress(i, total)
    return problems[:max_problems]


def _sample_problems(reader: LmdbReader, i: int) -> list[Problem]:
    out = []
    img = reader.get_raw(image_key(i))
    if img is None:
        out.append(Problem(i, image_key(i).decode(), "missing"))
    elif (why := image_problem(img, decode=True)) is not None:
        out.append(Problem(i, image_key(i).decode(), why))
    raw = reader.get_raw(label_key(i))
    if reader.unlabeled:
        if raw is not None:
            out.append(Problem(i, label_key(i).decode(), "a label in an unlabeled LMDB"))
        return out
    if raw is None:
        out.append(Problem(i, label_key(i).decode(), "missing"))
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return out + [Problem(i, label_key(i).decode(), "not UTF-8")]
        if not text.strip():
            out.append(Problem(i, label_key(i).decode(), "empty label"))
        elif nfc(text) != text:
            out.append(Problem(i, label_key(i).decode(), "label is not NFC"))
        if found := find_suspicious(text):
            why = f"suspicious label {text!r}: {describe(found)}"
            out.append(Problem(i, label_key(i).decode(), why, "flag"))
    return out  # lang-* keys are optional per sample (untagged samples have none)


#: Font files tried for labels of each MLT group (first found wins).
GROUP_FONTS: dict[str, tuple[str, ...]] = {
    "ARA": ("NotoSansArabic-Regular.ttf", "NotoNaskhArabic-Regular.ttf", "DejaVuSans.ttf"),
    "BEN": ("NotoSansBengali-Regular.ttf", "Lohit-Bengali.ttf"),
    "HIN": ("NotoSansDevanagari-Regular.ttf", "Lohit-Devanagari.ttf"),
    "CHI": ("NotoSansCJK-Regular.ttc",),
    "JPN": ("NotoSansCJK-Regular.ttc",),
    "KOR": ("NotoSansCJK-Regular.ttc",),
    "LAT": ("NotoSans-Regular.ttf", "DejaVuSans.ttf"),
}
_CJK_INDEX = {"CHI": 2, "JPN": 0, "KOR": 1}  # SC, JP, KR faces in NotoSansCJK .ttc


def _find_font(names: tuple[str, ...]) -> Path | None:
    for root in (fonts_dir(), Path("/usr/share/fonts")):
        for dirpath, _, files in os.walk(root):
            for name in names:
                if name in files:
                    return Path(dirpath) / name
    return None


class _Fonts:
    """Caches one font per MLT group (falls back to the Latin one)."""

    def __init__(self, size: int, font: Path | None) -> None:
        self.size, self.forced = size, font
        self.cache: dict[str, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}

    def get(self, text: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        group = "LAT" if self.forced else (detect_group(text) or "LAT")
        if group not in self.cache:
            path = self.forced or _find_font(GROUP_FONTS[group]) or _find_font(GROUP_FONTS["LAT"])
            if path is None:
                self.cache[group] = ImageFont.load_default(self.size)
            else:
                try:
                    idx = _CJK_INDEX.get(group, 0) if path.suffix == ".ttc" else 0
                    self.cache[group] = ImageFont.truetype(str(path), self.size, index=idx)
                except OSError as e:
                    raise FontError(f"{path}: cannot load font ({e})") from None
        return self.cache[group]


def contact_sheet(
    path: str | Path,
    out: str | Path,
    n: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    cols: int = 4,
    font: str | Path | None = None,
) -> Path:
    """Write a PNG grid of `n` samples (first ones, or random with `seed`), each image
    scaled to 48 px high above its label (line breaks shown as ` / `). Written
    atomically; an existing `out` is replaced only when it is a contact sheet strtool
    wrote (PNG text chunk `Software: strtool`); returns `out`."""
    check_replaceable(out, "sheet", [path])
    reader = LmdbReader(path)
    idx = list(range(len(reader)))
    idx = random.Random(seed).sample(idx, min(n, len(idx))) if shuffle else idx[:n]
    cell_w, img_h, txt_h = 240, 48, 30
    rows = -(-len(idx) // cols)
    sheet = Image.new("RGB", (cols * cell_w, rows * (img_h + txt_h)), "white")
    draw = ImageDraw.Draw(sheet)
    fonts = _Fonts(18, Path(font) if font else None)
    for k, i in enumerate(idx):
        x, y = (k % cols) * cell_w, (k // cols) * (img_h + txt_h)
        try:
            im = Image.fromarray(decode_image(reader.image(i), 3))
            h = img_h - 4
            im = im.resize((max(1, min(cell_w - 8, round(im.width * h / im.height))), h))
            sheet.paste(im, (x + 4, y + 2))
        except DataError:
            draw.text((x + 4, y + 2), "(corrupt image)", fill="red")
        # a page label on one caption line
        label = "" if reader.unlabeled else reader.label(i).replace("\n", " / ")
        draw.text((x + 4, y + img_h), f"{i + 1}: {label}", fill="black", font=fonts.get(label))
    info = PngImagePlugin.PngInfo()
    info.add_text(*PNG_SOFTWARE)
    buf = io.BytesIO()
    sheet.save(buf, "PNG", pnginfo=info)
    return atomic_write_bytes(out, buf.getvalue())
