"""Data of `strtool demo`: a closed multilingual vocabulary and its synthetic LMDBs.

The demo must teach a tiny CTC model to read seven scripts in a few CPU minutes, so
it restricts the text, not the rendering: per language the `words` most frequent
`wordfreq` words of `min_len`..`max_len` code points made only of the language's
charset (`strtool.synth.corpus`), drawn uniformly. Images are rendered by the synth
library (`strtool.synth.words`: shipped fonts, exact shaping checks, libraqm, the
usual augmentations at reduced strength). Two evaluation sets come with it:

- `val`: the same vocabulary, new renderings (other seeds: fonts, sizes, backgrounds);
- `unseen`: words outside the vocabulary made only of characters seen in training
  (how far the model reads characters rather than memorised word shapes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strtool.data.lmdb_io import LmdbReader
from strtool.errors import InputError
from strtool.synth.config import SynthConfig
from strtool.synth.corpus import Corpus, filter_entries, wordfreq_words
from strtool.synth.pipeline import Report, run
from strtool.synth.words import prepare_words
from strtool.text.charset import load_charset

#: One language per MLT script group: Latin, Arabic, Devanagari, Bengali, Han, Japanese,
#: Hangul.
DEMO_LANGS: tuple[str, ...] = ("en", "ar", "hi", "bn", "zh", "ja", "ko")


@dataclass(frozen=True)
class Vocabulary:
    """Training words per language and held-out words (characters all seen)."""

    train: dict[str, list[str]]
    unseen: dict[str, list[str]]

    def fingerprint(self) -> str:
        """Short hash identifying the vocabulary (stored in the LMDB meta)."""
        blob = json.dumps([self.train, self.unseen], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def build_vocabulary(
    langs: Sequence[str] = DEMO_LANGS,
    words: int = 100,
    min_len: int = 2,
    max_len: int = 6,
    unseen: int = 50,
    pool: int = 8000,
) -> Vocabulary:
    """Per language: the `words` most frequent words of `min_len`..`max_len` code
    points inside its charset, and up to `unseen` further words (from the top `pool`)
    whose characters all occur in those training words."""
    train: dict[str, list[str]] = {}
    held: dict[str, list[str]] = {}
    for lang in langs:
        allowed = frozenset(load_charset(lang).chars)
        kept, _ = filter_entries(wordfreq_words(lang, pool), allowed, lang, "wordfreq")
        sized = [w for w in kept if min_len <= len(w) <= max_len and " " not in w]
        if len(sized) < words:
            raise InputError(f"demo: only {len(sized)} usable '{lang}' words (need {words})")
        train[lang] = sized[:words]
        seen = {c for w in train[lang] for c in w}
        held[lang] = [w for w in sized[words:] if set(w) <= seen][:unseen]
    return Vocabulary(train, held)


def demo_synth_config() -> SynthConfig:
    """The synth defaults with milder geometry and degradations (a tiny model, a few
    minutes): no curves, fewer and weaker perspective / blur / low-res / JPEG."""
    cfg = SynthConfig()
    a = cfg.augment
    a.curve.prob = 0.0
    a.perspective.prob, a.perspective.strength = 0.1, [0.02, 0.06]
    a.rotation.degrees = [-3.0, 3.0]
    a.blur.prob, a.blur.sigma = 0.15, [0.3, 0.8]
    a.low_res.prob = 0.05
    a.jpeg.prob, a.jpeg.quality = 0.1, [50.0, 90.0]
    a.noise.sigma = [2.0, 8.0]
    return cfg


def render_set(
    path: Path,
    num: int,
    words: dict[str, list[str]],
    seed: int,
    workers: int,
    tag: str,
    progress: Callable[[int, int], None] | None = None,
) -> Report | None:
    """Render `num` crops of `words` into the LMDB `path` (32 px high). An LMDB
    already there from the same settings is reused (returns None); one from other
    settings is an `InputError` (the pipeline writes atomically, so a present LMDB
    is complete). A render interrupted earlier continues from its `.partial` folder."""
    cfg = demo_synth_config()
    stamp = {"set": tag, "num": num, "seed": seed, "words": _hash(words)}
    if path.exists():
        found = LmdbReader(path).meta.get("demo")
        if found != stamp:
            raise InputError(
                f"{path}: an LMDB from other demo settings ({found}); use another --output"
            )
        return None
    langs = [lang for lang in words if words[lang]]
    job, meta = prepare_words(langs, cfg, seed=seed, height=32)
    job.corpora = {lang: _corpus(lang, words[lang], cfg) for lang in langs}
    job.langs = langs
    meta.update(source="strtool demo", demo=stamp, corpus=_corpus_meta(words))
    path.parent.mkdir(parents=True, exist_ok=True)
    return run(job, path, 0, num, meta, workers, False, progress, resume=True)


def _corpus(lang: str, words: list[str], cfg: SynthConfig) -> Corpus:
    return Corpus(lang, list(words), frozenset(c for w in words for c in w), cfg.text, False)


def _corpus_meta(words: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [{"lang": k, "source": "demo vocabulary", "kept": len(v)} for k, v in words.items()]


def _hash(words: dict[str, list[str]]) -> str:
    blob = json.dumps(words, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]
