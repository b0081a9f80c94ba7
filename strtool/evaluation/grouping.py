"""Vectorised MLT script-group detection for many strings at once.

`detect_groups(texts)` returns exactly `[strtool.text.script.detect_group(t) for t in
texts]`, but counts letters per script for all strings together with numpy: code
points of the concatenated texts are mapped to scripts through a table built once per
distinct code point. The clear cases (kana without Hangul -> JPN, Hangul at least as
frequent as kana -> KOR, one voting group, no letters) are decided from the counts;
strings that mix several groups fall back to `detect_group` itself, so the two can
never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from strtool.text.script import SCRIPT_GROUP, char_script, detect_group

#: Group ids used in the count matrix (order of first appearance in SCRIPT_GROUP).
_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(SCRIPT_GROUP.values()))
_NONE, _KANA, _HANGUL, _OTHER_SCRIPT = range(-1, -5, -1)


def _script_ids(codes: np.ndarray) -> np.ndarray:
    """Per code point: group id (>= 0) or one of the negative classes above."""
    if codes.shape[0] == 0:
        return np.zeros(0, dtype=np.int16)
    present = np.flatnonzero(np.bincount(codes))
    table = np.full(int(present[-1]) + 1, _NONE, dtype=np.int16)
    for cp in present.tolist():
        s = char_script(chr(cp))
        if s is None:
            continue
        if s in ("Hiragana", "Katakana"):
            table[cp] = _KANA
        elif s == "Hangul":
            table[cp] = _HANGUL
        elif s in SCRIPT_GROUP:
            table[cp] = _GROUPS.index(SCRIPT_GROUP[s])
        else:
            table[cp] = _OTHER_SCRIPT
    return table[codes]


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points (uint32) of all texts concatenated, and the owning text index."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(texts)), lengths)
    return codes, owner


def detect_groups(texts: Sequence[str]) -> list[str | None]:
    """`detect_group(t)` for each text (MLT class or None), vectorised."""
    n = len(texts)
    if n == 0:
        return []
    codes, owner = _code_points(texts)
    ids = _script_ids(codes)
    keep = ids != _NONE
    ids, owner = ids[keep], owner[keep]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(owner[mask], minlength=n)

    kana, hangul = count(ids == _KANA), count(ids == _HANGUL)
    per_group = np.stack([count(ids == g) for g in range(len(_GROUPS))], axis=1)
    jpn, kor = _GROUPS.index("JPN"), _GROUPS.index("KOR")
    per_group[:, jpn] += kana
    per_group[:, kor] += hangul
    voting = (per_group > 0).sum(axis=1)
    decided_jpn = (kana > 0) & (hangul == 0)
    decided_kor = (hangul > 0) & (hangul >= kana)
    code = np.where(voting == 1, per_group.argmax(axis=1), len(_GROUPS))
    code = np.where(decided_kor, kor, code)
    code = np.where(decided_jpn, jpn, code)
    names = np.array([*_GROUPS, None], dtype=object)
    out: list[str | None] = names[code].tolist()
    for i in np.flatnonzero((voting > 1) & ~decided_jpn & ~decided_kor).tolist():
        out[i] = detect_group(texts[i])
    return out
