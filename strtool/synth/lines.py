"""`synth lines`: single text lines for chosen languages into an LMDB.

The `synth words` pipeline with another text source: per sample i the language, a
line of `line.chars` code points (`strtool.synth.linetext.line_text`: words and
scene strings of the language's corpus, punctuation, casing), then exactly what
`WordJob` does: a font that renders the whole line (else skipped and counted),
libraqm shaping (Arabic right to left, the label in logical order), the augmentations
of the config, `--height` px high crops, PNG/JPEG. Same seeds (sample i from
`(seed, i)`), workers, shards, resume and LMDB format (`image`, `label`, `lang`,
`meta`) as `synth words`. Without `--config` the `synth/lines` preset is used (wider
width cap, milder geometry).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from strtool.errors import ConfigError
from strtool.synth.config import MAX_RENDER_PIXELS, MAX_RENDER_SIDES, SynthConfig, render_canvas
from strtool.synth.linetext import line_text
from strtool.synth.pipeline import Report, check_num, run_shard, sample_rng
from strtool.synth.words import WordJob, prepare_words

#: Preset `synth lines` loads when no --config is given.
LINES_PRESET = "synth/lines"


@dataclass
class LineJob(WordJob):
    """`WordJob` whose text is a line (`linetext.line_text`) instead of a word."""

    @classmethod
    def from_words(cls, job: WordJob) -> LineJob:
        """The same job (fonts, corpora, config, seed) drawing lines instead of words."""
        return cls(**{f.name: getattr(job, f.name) for f in fields(job)})

    def text_of(self, i: int) -> tuple[np.random.Generator, str, str]:
        """(generator after the text draws, language, line text) of sample `i`."""
        rng = sample_rng(self.seed, i)
        lang = self.langs[int(rng.integers(len(self.langs)))]
        return rng, lang, line_text(self.corpora[lang], rng, self.cfg.line)


def check_line_canvas(cfg: SynthConfig) -> None:
    """`ConfigError` when the longest line (`line.chars` high end) would render on a
    canvas over the renderer's limits with these size settings."""
    chars = int(cfg.line.chars[1])
    w, h = render_canvas(cfg, chars)
    if w * h > MAX_RENDER_PIXELS or w + h > MAX_RENDER_SIDES:
        raise ConfigError(
            f"line.chars: {chars}-character lines render at about {w:,.0f} x {h:,.0f} px "
            "with these render/augment sizes; lower line.chars, render.font_size or "
            "augment.downscale.factor"
        )


def synth_lines(
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
) -> Report:
    """Render `num` line samples (this shard's contiguous part) into `output`."""
    check_num(num)
    cfg = cfg or SynthConfig()
    check_line_canvas(cfg)
    words_job, meta = prepare_words(langs, cfg, fonts, seed, height, corpus_files, bg_dir)
    job = LineJob.from_words(words_job)
    meta["source"] = "strtool synth lines"
    return run_shard(job, output, num, shard, meta, workers, overwrite, progress, resume)
