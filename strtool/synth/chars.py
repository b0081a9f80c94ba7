"""`synth chars`: square character crops for the mCLIP character encoder.

For every entry of the chosen charsets (languages in order, categories in the order of
`strtool.text.charset.CATEGORIES`, entries in charset order) `per_char` samples are
rendered with varied fonts and augmentations; global index = entry_index * per_char + j,
so seeding, workers and shards behave as for `synth words`.

A combining mark (Latin accents, Arabic harakat, Indic matras/viramas, kana voicing
marks) is drawn on the carrier of its script from the one carrier table,
`strtool.text.carriers.CARRIERS` (Latin a, Arabic ب, Devanagari क, Bengali ক, ...);
the label is the mark alone. Stored per sample: `image` (size x size), `label` (the
entry, NFC), `lang`, and `type-%09d` = letter | diacritic | digit | punctuation |
common. Entries no font renders are skipped and counted.

Arabic-script letters join their neighbours in words, where they take initial, medial
or final forms that can look nothing like the isolated letter (ه: ﻫ ﻬ ﻪ). A share
`render.joining_forms` of their crops is drawn in one of the three joined forms, chosen
uniformly, by shaping the letter with U+200D ZERO WIDTH JOINER on the joining side(s);
the label stays the letter. Right-joining letters (ا د ر و ...) and non-joining ones (ء)
cannot join on the left, so some of their "joined" crops show the isolated form.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from strtool.config import to_dict
from strtool.errors import InputError
from strtool.synth.augment import compose, encode
from strtool.synth.config import SynthConfig, font_px
from strtool.synth.fontpool import FontPool
from strtool.synth.pipeline import Report, Result, run, sample_rng, shard_range
from strtool.synth.render import RTL_LANGS, ink_box, render_mask, require_raqm
from strtool.synth.words import resolve_fonts
from strtool.text.carriers import shaping_text
from strtool.text.charset import CATEGORIES, load_charset
from strtool.text.langs import resolve_langs

#: Charset category -> subtype stored in `type-%09d`.
SUBTYPES: dict[str, str] = {
    "letters": "letter",
    "diacritics": "diacritic",
    "digits": "digit",
    "punctuation": "punctuation",
    "common": "common",
}


@dataclass(frozen=True)
class CharEntry:
    """One charset entry to render: the label, what is shaped, language, subtype."""

    char: str
    shaping: str
    lang: str
    kind: str


def char_entries(langs: Sequence[str], only: Collection[str] | None = None) -> list[CharEntry]:
    """Entries of the languages' charsets, in order (marks get their carrier). With
    `only`, just the entries in it (a language's subset, e.g. the characters of a closed
    vocabulary); an `only` entry in none of the charsets is an `InputError`."""
    keep = None if only is None else {unicodedata.normalize("NFC", c) for c in only}
    out: list[CharEntry] = []
    for lang in langs:
        cs = load_charset(lang)
        for cat in CATEGORIES:
            for ch in cs.categories.get(cat, ()):
                if keep is None or ch in keep:
                    out.append(CharEntry(ch, shaping_text(ch, cs.script), lang, SUBTYPES[cat]))
    if keep is not None:
        missing = sorted(keep - {e.char for e in out})
        if missing:
            shown = " ".join(f"{c!r} (U+{ord(c[0]):04X})" for c in missing[:5])
            raise InputError(
                f"{len(missing)} requested character(s) not in the charsets of "
                f"{','.join(langs)}: {shown}"
            )
    return out


def square(mask: np.ndarray, pad: float = 0.12, min_share: float = 0.55) -> np.ndarray:
    """A square crop around the character's ink: side = the larger ink extent plus
    `pad` per side, but at least `min_share` of the font's line box height, so small
    marks (`.`, `'`, `-`) stay small and keep their height in the line instead of
    being blown up. Centred on the ink; a blank mask (a space) gives an empty square."""
    h = mask.shape[0]
    box = ink_box(mask)
    if box is None:
        side = max(1, int(round(h * min_share)))
        return np.zeros((side, side), np.uint8)
    x0, y0, x1, y1 = box
    extent = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * pad)
    side = int(round(max(extent, h * min_share))) + 2
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    big = cv2.copyMakeBorder(mask, side, side, side, side, cv2.BORDER_CONSTANT, value=0)
    top, left = cy + side - side // 2, cx + side - side // 2
    return np.ascontiguousarray(big[top : top + side, left : left + side])


def layout_lang(e: CharEntry) -> str | None:
    """The language given to libraqm: the entry's own, except for entries without a
    strong right-to-left character in an RTL language (brackets, `<`, digits in an
    Arabic charset), which are laid out with no base direction so that a lone `(`
    is not drawn bidi-mirrored as `)`."""
    if e.lang in RTL_LANGS and not any(
        unicodedata.bidirectional(c) in ("R", "AL") for c in e.shaping
    ):
        return None
    return e.lang


ZWJ = "\u200d"
#: Initial, medial and final forms of a joining letter, in logical order.
JOINED_FORMS: tuple[str, ...] = ("{}" + ZWJ, ZWJ + "{}" + ZWJ, ZWJ + "{}")


def joins(e: CharEntry) -> bool:
    """True for an Arabic-script letter (bidi class AL, category Lo): it has joined
    forms."""
    return e.kind == "letter" and all(
        unicodedata.bidirectional(c) == "AL" and unicodedata.category(c) == "Lo" for c in e.shaping
    )


@dataclass
class CharJob:
    """Everything a worker needs to render sample i of `synth chars` (picklable)."""

    entries: list[CharEntry]
    per_char: int
    pool: FontPool
    cfg: SynthConfig
    seed: int = 0
    size: int = 32

    @property
    def total(self) -> int:
        """Number of global indices (entries x per_char)."""
        return len(self.entries) * self.per_char

    def make(self, i: int) -> Result:
        """Render global sample `i` (entry i // per_char)."""
        e = self.entries[i // self.per_char]
        rng = sample_rng(self.seed, i)
        face = self.pool.pick(e.char, e.lang, rng, shaping=e.shaping)
        if face is None:
            return Result(i, e.char, e.lang, kind=e.kind, skip="no-font")
        r = self.cfg.render
        size = font_px(r.font_size, rng, self.size)
        text = e.shaping
        if joins(e) and rng.random() < r.joining_forms:
            text = JOINED_FORMS[int(rng.integers(len(JOINED_FORMS)))].format(text)
        mask = square(render_mask(text, face, size, layout_lang(e)))
        img = compose(mask, rng, self.cfg.augment, r, self.size, self.size)
        return Result(i, e.char, e.lang, encode(img, r.image_format), face.label, e.kind)


def synth_chars(
    output: str | Path,
    langs: str | Sequence[str] | None = None,
    per_char: int = 10,
    cfg: SynthConfig | None = None,
    fonts: Sequence[str | Path] | None = None,
    seed: int = 0,
    size: int = 32,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    only: Collection[str] | None = None,
    resume: bool = False,
) -> Report:
    """Render `per_char` crops of every charset entry of `langs` into `output`; with
    `only`, of just those entries (see `char_entries`; stored as meta `only`)."""
    require_raqm()
    if per_char < 1:
        raise InputError(f"--per-char {per_char}: must be at least 1")
    if size < 8:
        raise InputError(f"--size {size}: must be at least 8")
    cfg = cfg or SynthConfig()
    codes = resolve_langs(langs)
    entries = char_entries(codes, only)
    faces = resolve_fonts(fonts, codes)
    letters = {lang: load_charset(lang).categories.get("letters", ()) for lang in codes}
    job = CharJob(entries, per_char, FontPool.build(faces, letters), cfg, seed, size)
    start, stop = shard_range(job.total, *shard)
    meta = {
        "source": "strtool synth chars",
        "seed": seed,
        "size": size,
        "per_char": per_char,
        "image_format": cfg.render.image_format,
        "config": to_dict(cfg),
        "fonts": [f.label for f in faces],
        "shard": f"{shard[0]}/{shard[1]}",
        "index_range": [start, stop],
        "entries": len(entries),
        "only": None if only is None else sorted({e.char for e in entries}),
        "extra_keys": {"type-%09d": "letter|diacritic|digit|punctuation|common"},
    }
    report = run(job, output, start, stop, meta, workers, overwrite, progress, resume)
    report.extra["entries"] = len(entries)
    report.extra["chars_skipped"] = report.skipped // per_char
    return report
