"""Text sources for `synth words`: word lists, scene strings, short lines, user corpora.

Per language the default corpus is the 20,000 most frequent words of the `wordfreq`
package (`wordfreq.top_n_list(lang, n)`, data installed with the package, no network),
NFC-normalised and kept only when every code point is in the language's charset.
Entries that are dropped are counted by reason (`CorpusStats.dropped`: `outside-charset`
with the characters that caused it, `lone-mark` for an entry starting with a combining
mark, `duplicate`), and `dropped_summary` totals them per source for the run's meta and
report, so a user corpus that loses lines (`café` with `--lang en` when é is not in the
charset, emoji) says so.

A sample is then, by the rates of `TextConfig`: a generated scene string
(`strtool.synth.scene`: numbers, prices, dates, times, phone numbers, percentages,
codes), a short phrase of 2-3 words, or one word. Cased scripts (en fr de it) are then
written in UPPER CASE with `upper_prob`, Capitalised (every word) with `title_prob`,
else as the word list has them (lower case); defaults 0.3 / 0.35 / 0.35, near the mix of
Latin scene-text word crops (signs, shop fronts and labels are often upper case). Everything
drawn comes from the caller's `numpy.random.Generator`, so a seed fixes the text.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from strtool.config_fields import in_range, list_of, non_negative, probability
from strtool.errors import InputError
from strtool.synth.scene import scene_string
from strtool.text.normalize import normalize_label

#: Languages whose script has case (upper/title casing is applied only to these).
CASED_LANGS: frozenset[str] = frozenset({"en", "fr", "de", "it"})


@dataclass
class TextConfig:
    """What text `synth words` draws (rates are probabilities per sample)."""

    #: Wordfreq words per language: ranks skip_words+1..top_words
    top_words: int = in_range(20000, 1, integer=True)
    #: E.g. 20000 with top_words 30000: words a default model never saw
    skip_words: int = non_negative(0, integer=True)
    #: Numbers, prices, dates, times, phones, percentages, codes
    scene_prob: float = probability(0.15)
    line_prob: float = probability(0.15)  # short phrases: `line_words` words joined by a space
    line_words: list[int] = list_of([2, 2, 3], 1, 12, integer=True)  # drawn uniformly
    native_digit_prob: float = probability(0.5)  # ar/hi/bn scene strings in native digits
    upper_prob: float = probability(0.30)  # cased scripts only: UPPER CASE
    title_prob: float = probability(0.35)  # cased scripts only: Capitalised Words
    max_chars: int = non_negative(32, integer=True)  # longer draws are cut at a word boundary


@dataclass
class CorpusStats:
    """How many entries a corpus source offered, kept and filtered out (with the
    characters outside the charset that caused it, most frequent first)."""

    lang: str
    source: str
    total: int = 0
    kept: int = 0
    filtered: int = 0  # outside-charset + lone-mark entries
    broken: int = 0  # entries starting with a combining mark (a lone matra, ...)
    duplicates: int = 0
    outside: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # up to 5 filtered entries

    @property
    def dropped(self) -> dict[str, int]:
        """Entries left out, by reason (zero counts omitted)."""
        reasons = {
            "outside-charset": self.filtered - self.broken,
            "lone-mark": self.broken,
            "duplicate": self.duplicates,
        }
        return {k: v for k, v in reasons.items() if v}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (the 20 most frequent outside characters)."""
        return {
            "lang": self.lang,
            "source": self.source,
            "total": self.total,
            "kept": self.kept,
            "filtered": self.filtered,
            "broken": self.broken,
            "dropped": self.dropped,
            "outside_chars": "".join(c for c, _ in self.outside.most_common(20)),
            "examples": list(self.examples),
        }


def dropped_summary(stats: Iterable[CorpusStats], unplaced: int = 0) -> dict[str, dict]:
    """Dropped entries per source and reason, with totals, e.g. `{"corpus": {"total":
    3, "outside-charset": 2, "no-charset": 1, "outside_chars": "é😀", "examples": [...]}}`.
    `unplaced`: user-corpus entries that no chosen language's charset holds."""
    out: dict[str, dict] = {}
    for st in stats:
        d = out.setdefault(st.source, {"total": 0, "outside_chars": Counter(), "examples": []})
        for reason, n in st.dropped.items():
            d[reason] = d.get(reason, 0) + n
            d["total"] += n
        d["outside_chars"].update(st.outside)
        d["examples"] += [e for e in st.examples if len(d["examples"]) < 5]
    if unplaced:
        d = out.setdefault("corpus", {"total": 0, "outside_chars": Counter(), "examples": []})
        d["no-charset"] = unplaced
        d["total"] += unplaced
    for d in out.values():
        d["outside_chars"] = "".join(c for c, _ in d["outside_chars"].most_common(20))
    return {k: v for k, v in out.items() if v["total"]}


def filter_entries(
    entries: Iterable[str], allowed: frozenset[str], lang: str, source: str
) -> tuple[list[str], CorpusStats]:
    """Keep NFC entries made only of `allowed` code points (space always allowed)
    and not starting with a combining mark (no base to sit on); duplicates and empty
    entries are dropped. Returns (kept, stats)."""
    stats = CorpusStats(lang=lang, source=source)
    seen: dict[str, None] = {}
    for raw in entries:
        text = normalize_label(raw)
        if not text:
            continue
        stats.total += 1
        bad = [c for c in text if c != " " and c not in allowed]
        if unicodedata.category(text[0]).startswith("M"):
            stats.filtered += 1
            stats.broken += 1
        elif bad:
            stats.filtered += 1
            stats.outside.update(bad)
        elif text not in seen:
            seen[text] = None
            continue
        else:
            stats.duplicates += 1
            continue
        if len(stats.examples) < 5:
            stats.examples.append(text)
    kept = list(seen)
    stats.kept = len(kept)
    return kept, stats


def wordfreq_words(lang: str, n: int = 20000) -> list[str]:
    """The `n` most frequent words of `lang` from the installed `wordfreq` data."""
    import wordfreq

    try:
        return list(wordfreq.top_n_list(lang, n))
    except (LookupError, ValueError, OSError) as e:
        raise InputError(f"wordfreq has no word list for '{lang}' ({e})") from None


def read_corpus(path: str | Path) -> list[str]:
    """Entries of a user corpus: UTF-8 text, one entry per line, NFC-normalised,
    whitespace collapsed, blank lines skipped. Bad UTF-8 raises `InputError` naming
    the file and line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: corpus file not found")
    out: list[str] = []
    with p.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(
                    f"{p}: line {lineno}: invalid UTF-8 at byte {e.start} ({e.reason})"
                ) from None
            text = normalize_label(line.lstrip("\ufeff") if lineno == 1 else line)
            if text:
                out.append(text)
    return out


@dataclass
class Corpus:
    """The text source of one language (picklable; sent once to each worker)."""

    lang: str
    words: list[str]
    allowed: frozenset[str]
    cfg: TextConfig
    generated: bool = True  # False for user corpora: entries verbatim, one per sample

    def sample(self, rng: np.random.Generator) -> str:
        """One NFC text in logical order, drawn with `rng`; always inside `allowed`
        (scene strings that are not fall back to a word). User corpora give one
        entry as it is (no scene strings, lines or casing)."""
        cfg = self.cfg
        u = rng.random()
        if not self.generated:
            return self.words[int(rng.integers(len(self.words)))] if self.words else ""
        if u < cfg.scene_prob:
            text = unicodedata.normalize("NFC", scene_string(self.lang, rng, cfg.native_digit_prob))
            if all(c == " " or c in self.allowed for c in text):
                return text
        if not self.words:
            return ""
        if u >= 1.0 - cfg.line_prob and cfg.line_words:
            k = int(cfg.line_words[int(rng.integers(len(cfg.line_words)))])
            picks = rng.integers(len(self.words), size=max(1, k))
            text = " ".join(self.words[int(j)] for j in picks)
        else:
            text = self.words[int(rng.integers(len(self.words)))]
        return self._case(_cut(text, cfg.max_chars), rng)

    def _case(self, text: str, rng: np.random.Generator) -> str:
        if self.lang not in CASED_LANGS:
            return text
        v = rng.random()
        if v < self.cfg.upper_prob:
            cased = text.upper()
        elif v < self.cfg.upper_prob + self.cfg.title_prob:
            cased = " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
        else:
            return text
        cased = unicodedata.normalize("NFC", cased)
        return cased if all(c == " " or c in self.allowed for c in cased) else text


def _cut(text: str, max_chars: int) -> str:
    """Cut an over-long text at the last space before `max_chars` (or hard)."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    head = text[:max_chars]
    return head.rsplit(" ", 1)[0] if " " in head else head


def build_corpus(
    lang: str,
    allowed: Iterable[str],
    cfg: TextConfig,
    user_entries: list[str] | None = None,
) -> tuple[Corpus, list[CorpusStats]]:
    """The corpus of `lang`: the user's entries when given (used verbatim), else
    wordfreq's top words plus scene strings; both filtered to `allowed`."""
    allowed_set = frozenset(allowed)
    if user_entries is not None:
        words, stats = filter_entries(user_entries, allowed_set, lang, "corpus")
        return Corpus(lang, words, allowed_set, cfg, generated=False), [stats]
    ranked = wordfreq_words(lang, cfg.top_words)[cfg.skip_words :]
    words, stats = filter_entries(ranked, allowed_set, lang, "wordfreq")
    return Corpus(lang, words, allowed_set, cfg), [stats]


def assign_langs(
    entries: list[str], allowed: dict[str, frozenset[str]]
) -> tuple[dict[str, list[str]], int]:
    """Split user corpus entries among languages: each goes to the first language
    (in the given order) whose charset holds all its characters. Returns
    (entries per language, number of entries no charset holds)."""
    out: dict[str, list[str]] = {lang: [] for lang in allowed}
    unplaced = 0
    for text in entries:
        chars = set(text) - {" "}
        for lang, ok in allowed.items():
            if chars <= ok:
                out[lang].append(text)
                break
        else:
            unplaced += 1
    return out, unplaced
