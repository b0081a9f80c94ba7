"""Synthetic text lines and pages for the img2seq benches (`img2seq_lines.py`,
`img2seq_pages.py`), rendered here with strtool's synth APIs: corpus words from
`wordfreq` (filtered to the language's charset), fonts from the shipped set by role
(`train` for training, `heldout` for testing: font families never seen in training),
HarfBuzz/raqm shaping and right-to-left layout (`synth.render.render_mask`), and the
augmentation chain of `synth words` (`synth.augment.compose`).

A line is 15-60 characters: words, numbers and punctuation joined by spaces. A page
is 3-8 such lines, ragged right, with random indentation and line spacing, composed
as one image; its label is the lines joined by "\\n" in reading order (Arabic lines
are right-aligned). (When `strtool synth lines` / `synth pages` exist, the benches can
take their LMDBs instead: `--data-dir` with train/val/test LMDBs.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from strtool.data.lmdb_writer import LmdbWriter
from strtool.synth.augment import compose, encode
from strtool.synth.config import AugmentConfig, SynthConfig
from strtool.synth.corpus import wordfreq_words
from strtool.synth.fontpool import FontPool
from strtool.synth.fonts import shipped_fonts
from strtool.synth.render import RTL_LANGS, render_mask
from strtool.text.charset import load_charset
from strtool.text.langs import lang_group

PUNCT = [",", ".", ":", ";", "!", "?", "-", "(", ")"]


class LineSource:
    """Texts and renderings of one language with the shipped faces of one role."""

    def __init__(self, lang: str, role: str, vocab: int = 5000) -> None:
        cs = load_charset(lang)
        self.lang, self.chars = lang, set(cs.chars)
        words = [w for w in wordfreq_words(lang, vocab) if set(w) <= self.chars]
        self.words = words or list(cs.categories.get("letters", ()))
        faces = shipped_fonts([lang_group(lang)], role=role)
        letters = {lang: cs.categories.get("letters", ()) or cs.chars}
        self.pool = FontPool.build(faces, letters)
        self.cfg = SynthConfig()
        self.page_augment = page_augment()
        self.digits = [d for d in "0123456789" if d in self.chars]
        self.punct = [p for p in PUNCT if p in self.chars]

    def text(self, rng: np.random.Generator, lo: int = 15, hi: int = 60) -> str:
        """One line of `lo`..`hi` code points: words, some numbers and punctuation."""
        target = int(rng.integers(lo, hi + 1))
        parts: list[str] = []
        while sum(map(len, parts)) + len(parts) < target:
            u = rng.random()
            if u < 0.1 and self.digits:
                parts.append("".join(rng.choice(self.digits, int(rng.integers(1, 5)))))
            else:
                w = str(rng.choice(self.words))
                if u > 0.9 and self.punct:
                    w += str(rng.choice(self.punct))
                parts.append(w)
        out = " ".join(parts)
        return out[:hi].rstrip() if len(out) > hi else out

    def mask(self, text: str, rng: np.random.Generator, size: int) -> np.ndarray | None:
        """Ink mask of one line in a face that renders it (None: no face does)."""
        face = self.pool.pick(text, self.lang, rng)
        return None if face is None else render_mask(text, face, size, self.lang)

    def line(self, rng: np.random.Generator, height: int) -> tuple[bytes, str] | None:
        text = self.text(rng)
        m = self.mask(text, rng, int(height * rng.uniform(0.75, 1.1)))
        if m is None:
            return None
        img = compose(m, rng, self.cfg.augment, self.cfg.render, height)
        return encode(img), text

    def page(
        self, rng: np.random.Generator, line_px: int, lines: tuple[int, int] = (3, 8)
    ) -> tuple[bytes, str] | None:
        """A page of lines stacked in reading order (ragged right, indents, spacing),
        drawn `line_px` high per line box; label = lines joined by "\\n"."""
        n = int(rng.integers(lines[0], lines[1] + 1))
        texts = [self.text(rng, 10, 45) for _ in range(n)]
        face = self.pool.pick(" ".join(texts), self.lang, rng)
        if face is None:
            return None
        masks = [render_mask(t, face, line_px, self.lang) for t in texts]
        gaps = [int(line_px * rng.uniform(0.1, 0.6)) for _ in masks]
        indents = [int(line_px * rng.uniform(0, 2)) if rng.random() < 0.3 else 0 for _ in masks]
        width = max(m.shape[1] + i for m, i in zip(masks, indents, strict=True)) + line_px
        height = sum(m.shape[0] + g for m, g in zip(masks, gaps, strict=True)) + line_px
        page = np.zeros((height, width), np.uint8)
        y = line_px // 2
        for m, g, ind in zip(masks, gaps, indents, strict=True):
            x = (
                width - line_px // 2 - ind - m.shape[1]
                if self.lang in RTL_LANGS
                else ind + line_px // 2
            )
            page[y : y + m.shape[0], x : x + m.shape[1]] = np.maximum(
                page[y : y + m.shape[0], x : x + m.shape[1]], m
            )
            y += m.shape[0] + g
        img = compose(page, rng, self.page_augment, self.cfg.render, height)
        return encode(img), "\n".join(texts)


def page_augment() -> AugmentConfig:
    """`synth words` augmentations for a whole page: backgrounds, colours, slight
    rotation (skew), noise, illumination, JPEG; the stroke, outline, shadow, curve,
    perspective, shear, blur and resolution effects are off (they scale with the crop
    height, i.e. with the whole page here, and would smear the lines together)."""
    cfg = AugmentConfig()
    for part in (cfg.stroke, cfg.outline, cfg.shadow, cfg.curve, cfg.perspective, cfg.shear,
                 cfg.blur, cfg.downscale, cfg.stretch, cfg.low_res, cfg.spacing):  # fmt: skip
        part.prob = 0.0
    return cfg


def write_set(
    path: Path, langs: list[str], role: str, n: int, seed: int, kind: str, size: int
) -> Path:
    """An LMDB of `n` lines or pages (`kind`) per language, reused when present."""
    if path.exists():
        return path
    with LmdbWriter(path, meta={"source": f"bench img2seq {kind}", "seed": seed}) as w:
        for lang, img, label in _samples(langs, role, n, seed, kind, size):
            w.add(img, label, lang)
    return path


def _samples(
    langs: list[str], role: str, n: int, seed: int, kind: str, size: int
) -> Iterator[tuple[str, bytes, str]]:
    for k, lang in enumerate(langs):
        src = LineSource(lang, role)
        rng = np.random.default_rng([seed, k])
        made = 0
        while made < n:
            out = src.line(rng, size) if kind == "lines" else src.page(rng, size)
            if out is not None:
                made += 1
                yield lang, out[0], out[1]
