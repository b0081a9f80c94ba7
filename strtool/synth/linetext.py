"""Text of synthetic lines and pages: several words or a sentence fragment from a
language's corpus, with numbers (scene strings) and punctuation, in logical order.

`line_text(corpus, rng, cfg, lo, hi)` draws a target length in [lo, hi] code points
and appends tokens (a corpus word, or with `number_prob` a scene string such as a
price or a date from `strtool.synth.scene`) separated by a space (nothing for Chinese
and Japanese, which do not space words), a token followed with `punct_prob` by a
comma-like mark of the language (`PUNCT`), and with `final_prob` a final stop. Cased
scripts get sentence case (`sentence_case_prob`) or upper case (`upper_prob`). A user
corpus (`Corpus.generated` false) gives its entries verbatim, joined by spaces up to
the target length. The text never exceeds `hi` (cut at a token boundary; one over-long
token is cut hard) and only holds characters of the corpus's charset (a mark the
charset lacks is not used). `token_stream` gives the tokens of a page (wrapped into
lines by the page renderer).
"""

from __future__ import annotations

import unicodedata

import numpy as np

from strtool.synth.corpus import CASED_LANGS, Corpus
from strtool.synth.layout_config import LineConfig
from strtool.synth.scene import scene_string

#: Languages whose words are not separated by spaces.
UNSPACED_LANGS: frozenset[str] = frozenset({"zh", "ja"})

#: Per language: (marks after a token, final stops, opening/closing quote pairs).
PUNCT: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "latin": (",,,;:–", "..?!", (("“", "”"), ("(", ")"), ('"', '"'))),
    "fr": (",,,;:", "..?!", (("«\u00a0", "\u00a0»"), ("(", ")"))),
    "de": (",,,;:", "..?!", (("„", "“"), ("(", ")"))),
    "ar": ("،،،؛:", "..؟!", (("«", "»"), ("(", ")"))),
    "hi": (",,,;:", "।।?!", (("“", "”"), ("(", ")"))),
    "bn": (",,,;:", "।।?!", (("“", "”"), ("(", ")"))),
    "zh": ("，，、：；", "。。？！", (("「", "」"), ("《", "》"))),
    "ja": ("、、、：", "。。？！", (("「", "」"), ("『", "』"))),
    "ko": (",,,:", "..?!", (("“", "”"), ("(", ")"))),
}


def _marks(lang: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return PUNCT.get(lang, PUNCT["latin"])


def _ok(text: str, corpus: Corpus) -> bool:
    return all(c == " " or c in corpus.allowed for c in text)


def _token(corpus: Corpus, rng: np.random.Generator, cfg: LineConfig) -> str:
    """One word, or a scene string, of the corpus's language (may be empty)."""
    if not corpus.generated:
        return corpus.words[int(rng.integers(len(corpus.words)))] if corpus.words else ""
    if rng.random() < cfg.number_prob:
        text = unicodedata.normalize(
            "NFC", scene_string(corpus.lang, rng, corpus.cfg.native_digit_prob)
        )
        if _ok(text, corpus):
            return text
    return corpus.words[int(rng.integers(len(corpus.words)))] if corpus.words else ""


def _punctuate(token: str, corpus: Corpus, rng: np.random.Generator, cfg: LineConfig) -> str:
    """`token` with, by `punct_prob`, a following mark or (1 in 6) quotes around it."""
    if not corpus.generated or rng.random() >= cfg.punct_prob:
        return token
    after, _, quotes = _marks(corpus.lang)
    if rng.random() < 1 / 6:
        left, right = quotes[int(rng.integers(len(quotes)))]
        quoted = left + token + right
        return quoted if _ok(quoted, corpus) else token
    mark = after[int(rng.integers(len(after)))]
    spaced = " " + mark if mark in ("–",) or (corpus.lang == "fr" and mark in ";:") else mark
    out = token + spaced
    return out if _ok(out, corpus) else token


def token_stream(corpus: Corpus, rng: np.random.Generator, cfg: LineConfig, n: int) -> list[str]:
    """`n` punctuated tokens (no separators), empty ones left out."""
    out = []
    for _ in range(n):
        tok = _token(corpus, rng, cfg)
        if tok:
            out.append(_punctuate(tok, corpus, rng, cfg))
    return out


def separator(lang: str) -> str:
    """What goes between two tokens of `lang`."""
    return "" if lang in UNSPACED_LANGS else " "


def finish_line(text: str, corpus: Corpus, rng: np.random.Generator, cfg: LineConfig) -> str:
    """Final stop (by `final_prob`) and casing of a line's text; NFC."""
    if not corpus.generated:
        return text
    _, finals, _ = _marks(corpus.lang)
    if text and text[-1].isalnum() and rng.random() < cfg.final_prob:
        stop = finals[int(rng.integers(len(finals)))]
        text = text + stop if _ok(stop, corpus) else text
    if corpus.lang in CASED_LANGS:
        u = rng.random()
        if u < cfg.upper_prob:
            cased = text.upper()
        elif u < cfg.upper_prob + cfg.sentence_case_prob:
            cased = text[:1].upper() + text[1:]
        else:
            cased = text
        cased = unicodedata.normalize("NFC", cased)
        text = cased if _ok(cased, corpus) else text
    return unicodedata.normalize("NFC", text)


def line_text(
    corpus: Corpus, rng: np.random.Generator, cfg: LineConfig, lo: int | None = None,
    hi: int | None = None,
) -> str:  # fmt: skip
    """One line of about `lo`-`hi` code points (default `cfg.chars`), never over `hi`."""
    lo = int(cfg.chars[0]) if lo is None else lo
    hi = int(cfg.chars[1]) if hi is None else hi
    target = int(rng.integers(lo, max(lo, hi) + 1))
    sep = separator(corpus.lang)
    text = ""
    for _ in range(4 * hi + 8):  # bounded: every round adds a token or gives up
        if len(text) >= target:
            break
        tok = token_stream(corpus, rng, cfg, 1)
        if not tok:
            continue
        joined = text + sep + tok[0] if text else tok[0]
        if len(joined) > hi:
            if not text:
                text = tok[0][:hi].rstrip()
            break
        text = joined
    return finish_line(text, corpus, rng, cfg)[:hi].strip()
