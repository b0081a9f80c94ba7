"""Decoding helpers shared by mSTR training, evaluation and prediction.

Spotter classes: 0 = CTC blank, 1 + r = bank row r. Refiner ids: 0 = EOS, 1 = BOS,
2 + r = bank row r. Texts are the concatenation of the rows' characters (NFC).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch
from torch import Tensor

from strtool.mstr.bank import PrototypeBank
from strtool.text.langs import lang_group
from strtool.text.normalize import nfc
from strtool.text.script import detect_group
from strtool.text.tokenizer import max_last


def label_rows(
    bank: PrototypeBank, labels: Sequence[str], langs: Sequence[str | None] | None = None
) -> tuple[list[list[int]], Counter[str]]:
    """Bank rows of each label's code points (row of the sample's language/group when
    a character has several rows). Characters missing from the bank are left out of
    the target and counted in the returned Counter (callers report it)."""
    unknown: Counter[str] = Counter()
    out = []
    for i, label in enumerate(labels):
        lang = langs[i] if langs is not None else None
        rows = []
        for ch in label:
            r = bank.row_of(ch, lang)
            if r is None:
                unknown[ch] += 1
            else:
                rows.append(r)
        out.append(rows)
    return out, unknown


def rows_to_text(bank: PrototypeBank, rows: Sequence[int]) -> str:
    chars = bank.chars
    return nfc("".join(chars[r] for r in rows if 0 <= r < len(chars)))


def ctc_targets(rows: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    """Concatenated CTC targets (sum L,) in Spotter classes (row + 1) and lengths (N,)."""
    flat = [r + 1 for seq in rows for r in seq]
    return torch.tensor(flat, dtype=torch.long), torch.tensor([len(s) for s in rows])


def ctc_greedy(logits: Tensor) -> tuple[list[list[int]], list[float]]:
    """Greedy CTC over (N, T, 1 + K): bank rows per sample (repeats merged, blanks
    dropped) and confidence = product of the max probabilities of the kept steps."""
    probs, idx = max_last(logits.float().softmax(-1))
    out, conf = [], []
    for p_row, i_row in zip(probs.tolist(), idx.tolist(), strict=True):
        rows, c, prev = [], 1.0, 0
        for p, i in zip(p_row, i_row, strict=True):
            if i != 0 and i != prev:
                rows.append(i - 1)
                c *= p
            prev = i
        out.append(rows)
        conf.append(c)
    return out, conf


def topk(logits: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Top-k Spotter classes per step: (indices (N,T,k) long, probabilities (N,T,k))."""
    p, i = logits.float().softmax(-1).topk(k, dim=-1)
    return i, p


def refiner_io(rows: Sequence[Sequence[int]], max_len: int) -> tuple[Tensor, Tensor]:
    """Teacher-forcing input (N, L+1) [BOS, ids...] (EOS-padded) and target (N, L+1)
    [ids..., EOS, -100...] with L = min(max label, max_len); ids = row + 2."""
    from strtool.models.refiner import BOS, EOS, OFFSET

    length = min(max((len(r) for r in rows), default=0), max_len)
    tgt_in = torch.full((len(rows), length + 1), EOS, dtype=torch.long)
    tgt = torch.full((len(rows), length + 1), -100, dtype=torch.long)
    tgt_in[:, 0] = BOS
    for n, seq in enumerate(rows):
        ids = [r + OFFSET for r in seq[:length]]
        tgt_in[n, 1 : 1 + len(ids)] = torch.tensor(ids, dtype=torch.long)
        tgt[n, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        tgt[n, len(ids)] = EOS
    return tgt_in, tgt


def script_accuracy(preds: Sequence[str], langs: Sequence[str]) -> dict[str, float | int]:
    """Script detection accuracy: the MLT group of the predicted characters (majority,
    `detect_group`) against the group of the sample's language. Samples of unknown
    language are skipped; `n` counts the scored samples."""
    hit = n = 0
    for pred, lang in zip(preds, langs, strict=True):
        try:
            want = lang_group(lang)
        except Exception:  # noqa: BLE001 - 'und' and other tags are not scored
            continue
        n += 1
        hit += detect_group(pred) == want
    return {"n": n, "accuracy": hit / n if n else 0.0}
