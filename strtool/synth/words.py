"""`synth words`: word and short-line crops for chosen languages into an LMDB.

Per sample i: language uniform over the chosen ones, text from that language's corpus
(`strtool.synth.corpus`), a font that really renders that exact text
(`strtool.synth.fontpool`; none -> the sample is skipped and counted), a libraqm
rendering (`strtool.synth.render`; vertical for zh/ja/ko with `render.vertical_prob`,
stored tall as rendered; with `augment.spacing` character tracking for Latin/CJK;
with `augment.downscale` at a larger size, downscaled at the end), augmentations
(`strtool.synth.augment`), PNG (default) or JPEG-95 encoding. Stored: `image`,
`label` (NFC, logical order), `lang`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from strtool.config import to_dict
from strtool.data.lmdb_io import UNLABELED
from strtool.errors import InputError
from strtool.synth.augment import compose, encode
from strtool.synth.config import AugmentConfig, SynthConfig, font_px
from strtool.synth.corpus import (
    Corpus,
    CorpusStats,
    assign_langs,
    build_corpus,
    dropped_summary,
    read_corpus,
)
from strtool.synth.fontpool import FontPool
from strtool.synth.fonts import FontFace, resolve_font_specs, shipped_fonts
from strtool.synth.pipeline import Report, Result, check_num, run_shard, sample_rng
from strtool.synth.render import VERTICAL_LANGS, render_mask, render_vertical, require_raqm
from strtool.text.charset import Charset, load_charset
from strtool.text.langs import lang_group, resolve_langs

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@lru_cache(maxsize=64)
def load_background(path: str) -> np.ndarray:
    """A user background image as RGB uint8 (cached per process)."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{path}: cannot read background image")
    return np.ascontiguousarray(img[..., ::-1])


def background_paths(bg_dir: str | Path | None) -> list[str]:
    """Image files under `--bg-dir` (sorted; none found -> `InputError`)."""
    if bg_dir is None:
        return []
    d = Path(bg_dir)
    if not d.is_dir():
        raise InputError(f"{d}: --bg-dir is not a folder")
    files = sorted(str(p) for p in d.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{d}: no images ({', '.join(IMAGE_SUFFIXES)}) in --bg-dir")
    return files


#: Longest text one crop is rendered from (code points); longer ones are skipped.
MAX_RENDER_CHARS = 400


@dataclass
class WordJob:
    """Everything a worker needs to render sample i of `synth words` (picklable)."""

    langs: list[str]
    corpora: dict[str, Corpus]
    pool: FontPool
    cfg: SynthConfig
    seed: int = 0
    height: int = 32
    backgrounds: list[str] = field(default_factory=list)

    def make(self, i: int) -> Result:
        """Render global sample `i` (deterministic in (seed, i))."""
        return self.make_text(i, *self.text_of(i))

    def text_of(self, i: int) -> tuple[np.random.Generator, str, str]:
        """(sample generator after the text draws, language, text) of sample `i`, so a
        caller can look at the text before `make_text` renders it."""
        rng = sample_rng(self.seed, i)
        lang = self.langs[int(rng.integers(len(self.langs)))]
        return rng, lang, self.corpora[lang].sample(rng)

    def make_text(self, i: int, rng: np.random.Generator, lang: str, text: str) -> Result:
        """Render sample `i` from what `text_of(i)` returned. A text longer than
        `MAX_RENDER_CHARS` code points (a user corpus line can be anything) is skipped
        as `too-long`: a crop that wide exceeds what the image libraries handle."""
        if len(text) > MAX_RENDER_CHARS:
            return Result(i, text[:40] + "...", lang, skip="too-long")
        face = self.pool.pick(text, lang, rng) if text.strip() else None
        if face is None:
            return Result(i, text, lang, skip="no-font" if text.strip() else "empty-text")
        return Result(i, text, lang, image=self.draw(text, lang, face, rng), font=face.label)

    def draw(self, text: str, lang: str, face: FontFace, rng: np.random.Generator) -> bytes:
        """Render + augment + encode one text with one face."""
        r, a = self.cfg.render, self.cfg.augment
        size = font_px(r.font_size, rng, self.height)
        vertical = lang in VERTICAL_LANGS and rng.random() < r.vertical_prob
        factor, linear = downscale_draw(rng, a)
        spacing = spacing_draw(rng, a)
        size = max(6, int(round(size * factor)))
        if vertical:
            mask = render_vertical(text, face, size, lang)
        else:
            mask = render_mask(text, face, size, lang, spacing)
        bgs = tuple(load_background(p) for p in self.backgrounds)
        if vertical:  # stored tall: width = --height, augmented in the rotated frame
            wide = np.ascontiguousarray(np.rot90(mask, k=1))
            img = compose(wide, rng, a, r, self.height, None, bgs, factor, linear)
            img = np.ascontiguousarray(np.rot90(img, k=-1))
        else:
            img = compose(mask, rng, a, r, self.height, None, bgs, factor, linear)
        return encode(img, r.image_format)


def downscale_draw(rng: np.random.Generator, cfg: AugmentConfig) -> tuple[float, bool]:
    """(render-size factor, bilinear final resize) for one sample; (1.0, False) when
    `augment.downscale` does not fire. Always draws three numbers."""
    fire, u, v = rng.random(), rng.random(), rng.random()
    if fire >= cfg.downscale.prob:
        return 1.0, False
    lo, hi = cfg.downscale.factor
    return lo + (hi - lo) * u, bool(v < cfg.downscale.linear_share)


def spacing_draw(rng: np.random.Generator, cfg: AugmentConfig) -> float:
    """Tracking in em for one sample (0 when `augment.spacing` does not fire); always
    draws two numbers, so the rest of a sample does not depend on its language."""
    fire, u = rng.random(), rng.random()
    if fire >= cfg.spacing.prob:
        return 0.0
    lo, hi = cfg.spacing.em
    return lo + (hi - lo) * u


def resolve_fonts(fonts: Sequence[str | Path] | None, langs: Sequence[str]) -> list[FontFace]:
    """The faces to draw with: by default the shipped training faces of the languages'
    groups; else the `--fonts` values (`strtool.synth.fonts.resolve_font_specs`: font
    files/folders, a manifest folder, or `train` / `heldout` / `all` / `ROLE:FOLDER`)."""
    groups = sorted({lang_group(lang) for lang in langs})
    if fonts:
        return resolve_font_specs(fonts, groups)
    return shipped_fonts(groups)


def build_corpora(
    charsets: dict[str, Charset], cfg: SynthConfig, corpus_files: Sequence[str | Path] = ()
) -> tuple[dict[str, Corpus], list[CorpusStats], int]:
    """Corpus per language (user files split among languages by charset, else
    wordfreq + scene strings). Returns (corpora, stats, unplaced user entries)."""
    allowed = {lang: frozenset(cs.chars) for lang, cs in charsets.items()}
    corpora: dict[str, Corpus] = {}
    stats: list[CorpusStats] = []
    unplaced = 0
    if corpus_files:
        entries = [e for f in corpus_files for e in read_corpus(f)]
        if len(allowed) == 1:
            per_lang = {next(iter(allowed)): entries}
        else:
            per_lang, unplaced = assign_langs(entries, allowed)
        for lang, items in per_lang.items():
            corpora[lang], st = build_corpus(lang, allowed[lang], cfg.text, items)
            stats += st
    else:
        for lang in allowed:
            corpora[lang], st = build_corpus(lang, allowed[lang], cfg.text)
            stats += st
    empty = [lang for lang, c in corpora.items() if not c.words and not c.generated]
    if len(empty) == len(corpora):
        raise InputError("the corpus has no entry inside the chosen languages' charsets")
    return {k: v for k, v in corpora.items() if k not in empty}, stats, unplaced


def prepare_words(
    langs: str | Sequence[str] | None,
    cfg: SynthConfig,
    fonts: Sequence[str | Path] | None = None,
    seed: int = 0,
    height: int = 32,
    corpus_files: Sequence[str | Path] = (),
    bg_dir: str | Path | None = None,
) -> tuple[WordJob, dict[str, Any]]:
    """Build the job (charsets, corpora, font pool) and the meta describing it."""
    require_raqm()
    if height < 8:
        raise InputError(f"--height {height}: must be at least 8")
    if cfg.render.image_format not in ("png", "jpeg"):
        raise InputError(f"render.image_format '{cfg.render.image_format}': use png or jpeg")
    codes = resolve_langs(langs)
    charsets = {lang: load_charset(lang) for lang in codes}
    corpora, stats, unplaced = build_corpora(charsets, cfg, corpus_files)
    faces = resolve_fonts(fonts, codes)
    letters = {lang: cs.categories.get("letters", ()) or cs.chars for lang, cs in charsets.items()}
    pool = FontPool.build(faces, letters)
    job = WordJob(list(corpora), corpora, pool, cfg, seed, height, background_paths(bg_dir))
    meta = {
        "source": "strtool synth words",
        "seed": seed,
        "height": height,
        "image_format": cfg.render.image_format,
        "config": to_dict(cfg),
        "fonts": [f.label for f in faces],
        "corpus": [s.to_dict() for s in stats],
        "corpus_unplaced": unplaced,
        "corpus_dropped": dropped_summary(stats, unplaced),
        "backgrounds": len(job.backgrounds),
    }
    return job, meta


def synth_words(
    output: str | Path,
    num: int,
    langs: str | Sequence[str] | None = None,
    cfg: SynthConfig | None = None,
    fonts: Sequence[str | Path] | None = None,
    seed: int = 0,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    height: int = 32,
    corpus_files: Sequence[str | Path] = (),
    bg_dir: str | Path | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    resume: bool = False,
    unlabeled: bool = False,
) -> Report:
    """Render `num` samples (this shard's contiguous part of them) into `output`;
    `unlabeled`: an LMDB of the images (and language tags) without labels."""
    check_num(num)
    job, meta = prepare_words(langs, cfg or SynthConfig(), fonts, seed, height, corpus_files,
                              bg_dir)  # fmt: skip
    if unlabeled:
        meta[UNLABELED] = True
    return run_shard(job, output, num, shard, meta, workers, overwrite, progress, resume)
