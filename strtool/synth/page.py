"""`synth pages`: paragraph/page images of several lines, labelled with the lines
joined by `\\n` in reading order.

Per sample i (all draws from `(seed, i)`, so workers and shards give the same pages):
the language; the number of lines (`page.lines`) and the wrap width (`page.chars_per_line`
average characters); the style (`page.style`: `print`, `handwriting`, or `mixed` with
`page.handwriting_share`); a stream of words, numbers and punctuation from the
language's corpus (`strtool.synth.linetext`); one face of that style that renders the
whole text (`FontPool`; none -> the sample is skipped and counted as `no-font` or
`no-handwriting-font`; in `mixed` a print face replaces a missing handwriting one).
Tokens no face of the style can shape (misspelt word-list entries) are left out first.
The tokens are wrapped at the width measured with that font (ragged right; ragged
left for Arabic, which is right-aligned), the first line indented by `page.indent_prob`,
the last one filled to `page.last_line`; the first letter of cased scripts is upper
case by `line.sentence_case_prob` and the page ends with a stop by `line.final_prob`.
Each line is shaped by libraqm (`render_mask`: Arabic right to left, Indic conjuncts)
and placed on its baseline, `page.line_spacing` em apart (plus `page.line_jitter`);
handwriting lines also wobble (`page.wobble` degrees) and drift (`page.drift` em).
Then on the whole page: stroke width and shear (`augment.stroke`, `augment.shear`),
skew (`page.skew`), a sine warp (`page.warp` line heights), a paper background
(`page.paper_prob`, `strtool.synth.paper`) or one of the augment backgrounds, the
mask reduced to `--width` px wide (height proportional; area averaging), then ink
colour, illumination, blur, low resolution, noise and JPEG of `augment` at that size.

Handwriting faces are the shipped ones whose manifest `design` is in
`HANDWRITING_DESIGNS` (Latin: Dancing Script, Kaushan Script, Comic Neue, Cabin Sketch,
Leckerli One, Lobster Two; Japanese: Klee One; Korean: Nanum Pen Script; Chinese:
LXGW WenKai); a user font (`--fonts` outside the shipped set) counts as both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from strtool.config import to_dict
from strtool.errors import InputError
from strtool.synth.augment import background, composite, effects, encode, finish
from strtool.synth.config import SynthConfig, font_px
from strtool.synth.corpus import CASED_LANGS, Corpus, dropped_summary
from strtool.synth.fontcheck import checker_for
from strtool.synth.fontpool import FontPool
from strtool.synth.fonts import FontFace, load_manifest
from strtool.synth.geometry import stroke, uniform, warp
from strtool.synth.linetext import PUNCT, separator, token_stream
from strtool.synth.paper import paper, rotate_mask, sine_warp
from strtool.synth.pipeline import Report, Result, check_num, run_shard, sample_rng
from strtool.synth.render import RTL_LANGS, layout_kwargs, load_font, render_mask, require_raqm
from strtool.synth.words import (
    background_paths,
    build_corpora,
    load_background,
    resolve_fonts,
    spacing_draw,
)
from strtool.text.charset import load_charset
from strtool.text.langs import resolve_langs
from strtool.text.normalize import normalize_label

#: Manifest `design` values drawn as handwriting.
HANDWRITING_DESIGNS: frozenset[str] = frozenset(
    {"handwriting", "brush", "casual", "display-script", "sketch", "kai"}
)
#: Preset `synth pages` loads when no --config is given.
PAGE_PRESET = "synth/page"
#: Render size of a page line: font size for `render.font_size` scaled to this height.
RENDER_LINE_PX = 48


def handwriting_files() -> tuple[frozenset[str], frozenset[str]]:
    """(file names of shipped handwriting faces, of all shipped faces), as
    `manifest file` paths relative to the fonts folder."""
    entries = load_manifest()
    hand = frozenset(str(e["file"]) for e in entries if e.get("design") in HANDWRITING_DESIGNS)
    return hand, frozenset(str(e["file"]) for e in entries)


def split_styles(faces: Sequence[FontFace]) -> tuple[list[FontFace], list[FontFace]]:
    """(print faces, handwriting faces) of `faces` (module docstring)."""
    hand, shipped = handwriting_files()
    prints, hands = [], []
    for f in faces:
        rel = f"{f.path.parent.name}/{f.path.name}"
        known = rel in shipped
        if not known or rel not in hand:
            prints.append(f)
        if not known or rel in hand:
            hands.append(f)
    return prints, hands


@dataclass
class PageJob:
    """Everything a worker needs to render page i (picklable)."""

    langs: list[str]
    corpora: dict[str, Corpus]
    pools: dict[str, FontPool | None]  # "print" / "handwriting"
    cfg: SynthConfig
    seed: int = 0
    width: int = 512
    backgrounds: list[str] = field(default_factory=list)

    def make(self, i: int) -> Result:
        """Render page `i` (deterministic in (seed, i))."""
        rng = sample_rng(self.seed, i)
        lang = self.langs[int(rng.integers(len(self.langs)))]
        pc = self.cfg.page
        n_lines = int(rng.integers(int(pc.lines[0]), int(pc.lines[1]) + 1))
        cpl = uniform(rng, pc.chars_per_line)
        hand = pc.style == "handwriting" or (
            pc.style == "mixed" and rng.random() < pc.handwriting_share
        )
        tokens = token_stream(self.corpora[lang], rng, self.cfg.line, int(n_lines * cpl / 2) + 8)
        tokens = [t for t in tokens if self._renderable(t, lang, hand)]
        if not tokens:
            return Result(i, "", lang, skip="empty-text")
        sep = separator(lang)
        face = self._face(sep.join(tokens), lang, rng, hand)
        if face is None:
            why = "no-handwriting-font" if pc.style == "handwriting" else "no-font"
            return Result(i, sep.join(tokens)[:40], lang, skip=why)
        size = font_px(self.cfg.render.font_size, rng, RENDER_LINE_PX)
        lines, indent = wrap_tokens(tokens, face, size, lang, n_lines, cpl, rng, self.cfg)
        lines = self._finish_text(lines, lang, rng)
        label = "\n".join(normalize_label(x) for x in lines)
        if not checker_for(face).supports(label.replace("\n", " ")):
            return Result(i, label[:40], lang, skip="no-font")
        img = self.draw(lines, indent, face, size, lang, rng, hand)
        return Result(i, label, lang, image=img, font=face.label, kind=None)

    def _face(self, text: str, lang: str, rng: np.random.Generator, hand: bool) -> FontFace | None:
        for style in self._styles(hand):
            pool = self.pools.get(style)
            face = pool.pick(text, lang, rng) if pool is not None else None
            if face is not None:
                return face
        return None

    def _styles(self, hand: bool) -> tuple[str, ...]:
        """Pools to draw from, in order: handwriting only (`page.style` handwriting),
        handwriting then print (a mixed page drawn as handwriting), or print."""
        if self.cfg.page.style == "handwriting":
            return ("handwriting",)
        return ("handwriting", "print") if hand else ("print",)

    def _renderable(self, token: str, lang: str, hand: bool) -> bool:
        """Whether some face of the style's pools shapes `token` cleanly (a misspelt
        word-list entry such as `मंे` shapes with a dotted circle in every font: it is
        left out of the page, as `synth words` skips such a word)."""
        for style in self._styles(hand):
            pool = self.pools.get(style)
            if pool is None:
                continue
            for j in pool.covering(lang, {c for c in token if not c.isspace()}):
                if checker_for(pool.faces[j]).supports(token):
                    return True
        return False

    def _finish_text(self, lines: list[str], lang: str, rng: np.random.Generator) -> list[str]:
        """Sentence case of the first line and a final stop (line settings)."""
        lc, corpus = self.cfg.line, self.corpora[lang]
        u, v = rng.random(), rng.random()
        if corpus.generated and lang in CASED_LANGS and u < lc.sentence_case_prob:
            first = lines[0][:1].upper() + lines[0][1:]
            lines[0] = first if all(c == " " or c in corpus.allowed for c in first) else lines[0]
        finals = PUNCT.get(lang, PUNCT["latin"])[1]
        if corpus.generated and lines[-1][-1:].isalnum() and v < lc.final_prob:
            stop = finals[int(rng.integers(len(finals)))]
            lines[-1] += stop if stop in corpus.allowed else ""
        return lines

    def draw(
        self, lines: list[str], indent: float, face: FontFace, size: int, lang: str,
        rng: np.random.Generator, hand: bool,
    ) -> bytes:  # fmt: skip
        """Lay the lines out, warp, colour and encode the page (module docstring)."""
        pc, aug = self.cfg.page, self.cfg.augment
        mask = layout_page(lines, indent, face, size, lang, rng, self.cfg, hand)
        mask = stroke(mask, rng, aug)
        skew = replace(aug.rotation, prob=pc.skew_prob, degrees=pc.skew)
        stretch, persp = replace(aug.stretch, prob=0.0), replace(aug.perspective, prob=0.0)
        page_aug = replace(aug, rotation=skew, stretch=stretch, perspective=persp)
        mask = warp(mask, rng, page_aug)
        if rng.random() < pc.warp_prob:
            mask = sine_warp(mask, uniform(rng, pc.warp) * size, rng)
        out_h = max(8, int(round(mask.shape[0] * self.width / mask.shape[1])))
        if mask.shape[1] > self.width:  # colours and effects at the stored size
            mask = cv2.resize(mask, (self.width, out_h), interpolation=cv2.INTER_AREA)
        h, w = mask.shape
        if rng.random() < pc.paper_prob:
            bg = paper(h, w, rng)
        else:
            bgs = tuple(load_background(p) for p in self.backgrounds)
            bg = background(h, w, rng, aug, bgs)
        img = effects(composite(bg, mask, rng, aug), rng, aug)
        img = finish(img, rng, aug, out_h, self.width, float("inf"))
        return encode(img, self.cfg.render.image_format)


def _measure(face: FontFace, size: int, lang: str) -> Callable[[str], float]:
    font, kw = load_font(face, size), layout_kwargs(lang)
    return lambda text: float(font.getlength(text, **kw))


def wrap_tokens(
    tokens: list[str], face: FontFace, size: int, lang: str, n_lines: int, cpl: float,
    rng: np.random.Generator, cfg: SynthConfig,
) -> tuple[list[str], float]:  # fmt: skip
    """Up to `n_lines` lines of `tokens` wrapped at the width of `cpl` average
    characters of this font (the first indented by the returned em when it fires,
    the last filled to `page.last_line`). Returns (lines, indent in em)."""
    pc, sep = cfg.page, separator(lang)
    length = _measure(face, size, lang)
    joined = sep.join(tokens)
    width = cpl * length(joined) / max(1, len(joined))
    indent = uniform(rng, pc.indent) if rng.random() < pc.indent_prob else 0.0
    last_fill = uniform(rng, pc.last_line)
    lines: list[str] = []
    cur = ""
    for tok in tokens:
        room = width - (indent * size if not lines else 0.0)
        if len(lines) == n_lines - 1:
            room *= last_fill
        cand = cur + sep + tok if cur else tok
        if cur and length(cand) > room:
            lines.append(cur)
            if len(lines) == n_lines:
                cur = ""
                break
            cur = tok
        else:
            cur = cand
    if cur:
        lines.append(cur)
    return lines[:n_lines], indent


def layout_page(
    lines: list[str], indent: float, face: FontFace, size: int, lang: str,
    rng: np.random.Generator, cfg: SynthConfig, hand: bool,
) -> np.ndarray:  # fmt: skip
    """Alpha mask (H, W) uint8 of the lines on their baselines (module docstring)."""
    pc = cfg.page
    spacing = spacing_draw(rng, cfg.augment)
    ascent, descent = load_font(face, size).getmetrics()
    masks = []  # (mask, x offset, row of the baseline in the mask)
    for k, text in enumerate(lines):
        m = render_mask(text, face, size, lang, spacing)
        wobble = uniform(rng, pc.wobble) * (1 if rng.random() < 0.5 else -1) if hand else 0.0
        drift = uniform(rng, pc.drift) * size * (1 if rng.random() < 0.5 else -1) if hand else 0.0
        turned = rotate_mask(m, wobble)
        baseline = ascent + 1 + (turned.shape[0] - m.shape[0]) // 2  # render_mask's baseline
        shift = indent * size if k == 0 else 0.0
        masks.append((turned, shift + drift, baseline))
    pitch = uniform(rng, pc.line_spacing) * size
    gaps = [pitch + float(rng.uniform(0, pc.line_jitter)) * size for _ in lines[1:]]
    margin = int(round(uniform(rng, pc.margin) * max(m.shape[1] for m, _, _ in masks)))
    pad = int(size * (pc.drift[1] + 0.5)) + margin
    inner_w = max(int(m.shape[1] + abs(x)) for m, x, _ in masks)
    total_w = inner_w + 2 * pad
    ys = np.concatenate([[0.0], np.cumsum(gaps)]) + pad + max(b for _, _, b in masks)
    total_h = int(ys[-1] + max(m.shape[0] - b for m, _, b in masks) + pad)
    page = np.zeros((total_h, total_w), np.uint8)
    rtl = lang in RTL_LANGS
    for (m, x, b), base in zip(masks, ys, strict=True):
        mh, mw = m.shape
        left = total_w - pad - int(x) - mw if rtl else pad + int(x)
        top = int(base) - b
        left, top = max(0, min(left, total_w - mw)), max(0, min(top, total_h - mh))
        region = page[top : top + mh, left : left + mw]
        np.maximum(region, m, out=region)
    return page


def prepare_pages(
    langs: str | Sequence[str] | None,
    cfg: SynthConfig,
    fonts: Sequence[str | Path] | None = None,
    seed: int = 0,
    width: int = 512,
    corpus_files: Sequence[str | Path] = (),
    bg_dir: str | Path | None = None,
) -> tuple[PageJob, dict[str, Any]]:
    """Build the job (charsets, corpora, print and handwriting pools) and its meta."""
    require_raqm()
    if width < 32:
        raise InputError(f"--width {width}: must be at least 32")
    codes = resolve_langs(langs)
    charsets = {lang: load_charset(lang) for lang in codes}
    corpora, stats, unplaced = build_corpora(charsets, cfg, corpus_files)
    faces = resolve_fonts(fonts, codes)
    letters = {lang: cs.categories.get("letters", ()) or cs.chars for lang, cs in charsets.items()}
    prints, hands = split_styles(faces)
    pools = {name: FontPool.build(fs, letters) if fs else None
             for name, fs in (("print", prints), ("handwriting", hands))}  # fmt: skip
    if cfg.page.style == "handwriting" and pools["handwriting"] is None:
        raise InputError(
            f"--style handwriting: no handwriting face among the fonts for {', '.join(codes)} "
            "(shipped ones: Latin, Japanese, Korean, Chinese); use --style mixed or print"
        )
    job = PageJob(list(corpora), corpora, pools, cfg, seed, width, background_paths(bg_dir))
    meta = {
        "source": "strtool synth pages", "seed": seed, "width": width,
        "image_format": cfg.render.image_format, "config": to_dict(cfg),
        "fonts": [f.label for f in faces], "handwriting_fonts": [f.label for f in hands],
        "corpus": [s.to_dict() for s in stats], "corpus_unplaced": unplaced,
        "corpus_dropped": dropped_summary(stats, unplaced),
        "backgrounds": len(job.backgrounds), "multiline": True,
    }  # fmt: skip
    return job, meta


def synth_pages(
    output: str | Path,
    num: int,
    langs: str | Sequence[str] | None = None,
    cfg: SynthConfig | None = None,
    fonts: Sequence[str | Path] | None = None,
    seed: int = 0,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    width: int = 512,
    corpus_files: Sequence[str | Path] = (),
    bg_dir: str | Path | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    resume: bool = False,
) -> Report:
    """Render `num` pages (this shard's contiguous part of them) into `output`."""
    check_num(num)
    cfg = cfg or SynthConfig()
    job, meta = prepare_pages(langs, cfg, fonts, seed, width, corpus_files, bg_dir)
    return run_shard(job, output, num, shard, meta, workers, overwrite, progress, resume)
