"""Tokenizers: labels <-> class indices for CTC and attention decoders.

Labels are NFC-normalised in `encode` (the storage form, logical order); nothing is
case- or accent-folded. A label is split into tokens of one unit
(`strtool.text.normalize`):

- `unit="codepoint"` (default): one class per code point; the vocabulary entries must
  each be one code point (combining marks are classes of their own).
- `unit="grapheme"`: one class per extended grapheme cluster; the vocabulary is given
  as grapheme strings (`"क्ष"`, `"कि"`), each exactly one cluster.

The space is a class only with `space=True` (or when the vocabulary lists `" "`).

Unknown tokens (not in the vocabulary) are never dropped silently: every one is
counted in `EncodedBatch.unknown`. With `unk=True` they map to an explicit UNK class
(the last index; decoded as U+FFFD); without it they are left out of that sample's
target and the caller reports the counts.

Order (`CTCTokenizer(order=...)`): CTC frames run left to right across the image, and
CTC alignments are monotonic, so with `order="visual"` a right-to-left label is encoded
in the order the image shows it (`strtool.text.bidi.display_order`) and every decoded
text is turned back into logical order; `order="logical"` (checkpoints written before
the setting existed) encodes and decodes the stored order as it is.

Class layout: `CTCTokenizer` blank = 0, entries 1..N, [space], [UNK].
`AttnTokenizer` PAD = 0, BOS = 1, EOS = 2, entries 3..N+2, [space], [UNK].

Confidence of a decoded sample = the mean, over the steps that emit a token, of the
maximum softmax probability (CTC: the first step of each collapsed run; attention:
every step up to and including the first EOS). A CTC decode that emits nothing gets
the mean max probability over all its steps, i.e. how sure the model is that there is
no text (an all-blank path), rather than a constant; a row with no valid step gets 0.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from strtool.errors import InputError
from strtool.text.bidi import frame_order
from strtool.text.normalize import UNITS, Unit, nfc, split_units

UNK_TEXT = "\ufffd"
FORMAT = 1


@dataclass
class EncodedBatch:
    """Encoded labels.

    CTC: `targets` LongTensor (sum of lengths,) concatenated; attention: LongTensor
    (N, max_len + 2) = BOS, tokens, EOS, PAD... . `lengths` LongTensor (N,) = number of
    label tokens per sample (BOS/EOS not counted). `unknown` counts the tokens not in
    the vocabulary (mapped to UNK or left out). `truncated` = samples cut to `max_len`
    (attention only)."""

    targets: Tensor
    lengths: Tensor
    unknown: Counter[str] = field(default_factory=Counter)
    truncated: int = 0


class _Vocab:
    """Shared vocabulary logic; subclasses fix the special classes."""

    kind: ClassVar[str] = ""
    specials: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, chars: Sequence[str], unit: Unit = "codepoint", unk: bool = False, space: bool = False
    ) -> None:
        if unit not in UNITS:
            raise InputError(f"unknown token unit '{unit}' (use one of {', '.join(UNITS)})")
        self.chars: tuple[str, ...] = tuple(chars)
        self.unit: Unit = unit
        self.unk = bool(unk)
        self.space = bool(space)
        _validate(self.chars, unit)
        classes = list(self.chars) + ([" "] if space and " " not in self.chars else [])
        n = len(self.specials)
        self.classes: tuple[str, ...] = tuple(classes)
        self.stoi: dict[str, int] = {c: i + n for i, c in enumerate(classes)}
        self.unk_index: int | None = n + len(classes) if unk else None
        self.num_classes: int = n + len(classes) + int(unk)
        #: text of every class index ("" for specials, U+FFFD for UNK)
        self.itos: list[str] = [""] * n + classes + ([UNK_TEXT] if unk else [])

    def _text(self, label: str) -> str:
        """The text a label is encoded from: NFC (subclasses may reorder it)."""
        return nfc(label)

    def _ids(self, label: str, unknown: Counter[str]) -> list[int]:
        """Class indices of one label (`_text`, split into units); unknowns counted."""
        out: list[int] = []
        get, unk = self.stoi.get, self.unk_index
        for u in split_units(self._text(label), self.unit):
            i = get(u)
            if i is None:
                unknown[u] += 1
                if unk is None:
                    continue
                i = unk
            out.append(i)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-data settings for checkpoints (`from_dict` rebuilds the same layout)."""
        return {
            "type": self.kind,
            "format": FORMAT,
            "chars": list(self.chars),
            "unit": self.unit,
            "unk": self.unk,
            "space": self.space,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """Rebuild from `to_dict()` output; a malformed dict raises `InputError`."""
        if not isinstance(d, dict) or d.get("type") != cls.kind:
            got = d.get("type") if isinstance(d, dict) else type(d).__name__
            raise InputError(f"tokenizer settings: expected type '{cls.kind}', got '{got}'")
        chars = d.get("chars")
        if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
            raise InputError("tokenizer settings: 'chars' must be a list of strings")
        return cls(chars, d.get("unit", "codepoint"), bool(d.get("unk")), bool(d.get("space")))

    def __len__(self) -> int:
        return self.num_classes

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({len(self.classes)} entries, unit={self.unit!r}, "
            f"unk={self.unk}, space={self.space}, num_classes={self.num_classes})"
        )


def _validate(chars: tuple[str, ...], unit: Unit) -> None:
    """Entries must be non-empty, NFC, unique and exactly one unit each."""
    seen: set[str] = set()
    for i, c in enumerate(chars):
        if not isinstance(c, str) or not c:
            raise InputError(f"vocabulary entry {i} is empty or not a string")
        if c in seen:
            raise InputError(f"vocabulary entry {i} {c!r} is a duplicate")
        seen.add(c)
        if unicodedata.normalize("NFC", c) != c:
            raise InputError(f"vocabulary entry {i} {c!r} is not NFC")
        if len(split_units(c, unit)) != 1:
            raise InputError(
                f"vocabulary entry {i} {c!r} is not one {unit} "
                f"({' '.join(f'U+{ord(x):04X}' for x in c)}); use unit='grapheme' for clusters"
            )


def max_last(x: Tensor) -> tuple[Tensor, Tensor]:
    """`x.max(-1)` (values, first index of the maximum), faster on the CPU: PyTorch's
    CPU arg-reduction over the last dim is a scalar loop (~2 ns per element: 0.8 ms for
    48 frames x 8,018 classes, a sixth of a crop's read at batch 1), NumPy's is
    vectorised (~10x faster). Same results, NaN included (its first index); other
    devices and dtypes NumPy lacks keep `Tensor.max`."""
    fast = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
    if not fast or x.dim() == 0 or x.shape[-1] == 0:  # the last two: PyTorch's error
        values, indices = x.max(-1)
        return values, indices
    a = x.detach().contiguous().numpy()
    idx = np.asarray(np.argmax(a, axis=-1), dtype=np.int64)
    top = np.asarray(np.take_along_axis(a, idx[..., None], axis=-1)[..., 0])
    return torch.from_numpy(top), torch.from_numpy(idx)


def _argmax(logits: Tensor, num_classes: int, lengths: Tensor | None) -> tuple[Tensor, ...]:
    """(logits as float, max logit, argmax, valid-step mask); the last three (N, T)."""
    if logits.dim() != 3 or logits.shape[-1] != num_classes:
        raise InputError(
            f"logits must be (N, T, {num_classes}), got {tuple(logits.shape)}: "
            "model and tokenizer do not match"
        )
    x = logits.detach().float()
    mx, idx = max_last(x)
    if lengths is None:
        valid = torch.ones_like(idx, dtype=torch.bool)
    else:
        steps = torch.arange(x.shape[1], device=x.device)
        valid = steps[None, :] < lengths.to(x.device)[:, None]
    return x, mx, idx, valid


def _mean_max_prob(x: Tensor, mx: Tensor, steps: Tensor, chunk: int = 32) -> Tensor:
    """Per row (N,), the mean over the masked `steps` (N, T) of the max softmax
    probability 1 / sum_c exp(x_c - max). The exp pass over C runs on the selected
    steps only, `chunk` steps at a time so the working set stays in cache (several
    times faster than a softmax over the whole (N, T, C) tensor); rows without a step
    get 0."""
    flat_x, flat_mx = x.reshape(-1, x.shape[-1]), mx.reshape(-1)
    where = steps.reshape(-1).nonzero().squeeze(1)
    p = torch.zeros_like(flat_mx)
    for i in range(0, where.numel(), chunk):
        w = where[i : i + chunk]
        block = flat_x.index_select(0, w).sub_(flat_mx[w, None]).exp_()
        p[w] = block.sum(-1).reciprocal()
    return (p.view_as(mx) * steps).sum(1) / steps.sum(1).clamp(min=1)


def _split_texts(itos: list[str], idx: Tensor, keep: Tensor) -> list[str]:
    """Join `itos[idx]` over the kept steps of each row (one `tolist` per batch)."""
    flat = idx[keep].tolist()
    ends = list(accumulate(keep.sum(1).tolist()))
    starts = [0] + ends[:-1]
    return ["".join([itos[i] for i in flat[a:b]]) for a, b in zip(starts, ends, strict=True)]


CTC_ORDERS = ("visual", "logical")


class CTCTokenizer(_Vocab):
    """CTC classes: blank = 0, `chars` = 1..N, then " " (`space=True`), then UNK
    (`unk=True`). `order`: the order targets are written in (see the module docstring
    for units, unknowns, order and confidence)."""

    kind = "ctc"
    specials = ("<blank>",)
    blank: int = 0

    def __init__(
        self,
        chars: Sequence[str],
        unit: Unit = "codepoint",
        unk: bool = False,
        space: bool = False,
        order: str = "visual",
    ) -> None:
        super().__init__(chars, unit, unk, space)
        self.order = order

    @property
    def order(self) -> str:
        return self._order

    @order.setter
    def order(self, value: str) -> None:
        if value not in CTC_ORDERS:
            raise InputError(f"unknown CTC order '{value}' (use one of {', '.join(CTC_ORDERS)})")
        self._order = value

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "order": self.order}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Any:
        """As `_Vocab.from_dict`; a dict without `order` (written before it existed)
        is a logical-order tokenizer."""
        tok = super().from_dict(d)
        tok.order = d.get("order", "logical")
        return tok

    def _ordered(self, text: str) -> str:
        """`text` in the other order when the targets are visual (self-inverse)."""
        return frame_order(text, self.order)

    def _text(self, label: str) -> str:
        return self._ordered(nfc(label))

    def encode(self, labels: Sequence[str]) -> EncodedBatch:
        """Targets for `torch.nn.functional.ctc_loss`: concatenated (sum L,) + lengths."""
        unknown: Counter[str] = Counter()
        ids = [self._ids(lab, unknown) for lab in labels]
        flat = [i for row in ids for i in row]
        return EncodedBatch(
            torch.tensor(flat, dtype=torch.long),
            torch.tensor([len(r) for r in ids], dtype=torch.long),
            unknown,
        )

    def decode(
        self, logits: Tensor, lengths: Tensor | None = None
    ) -> tuple[list[str], list[float]]:
        """Greedy (best path) decode of logits (N, T, C) (raw or log-probs): argmax per
        step, collapse repeats, drop blanks. `lengths` (N,) limits valid steps per row.
        Returns texts and confidences (mean max prob of the emitting steps)."""
        x, mx, idx, valid = _argmax(logits, self.num_classes, lengths)
        prev = F.pad(idx, (1, 0), value=-1)[:, : idx.shape[1]]  # previous step's class
        keep = (idx != self.blank) & (idx != prev) & valid
        empty = keep.sum(1) == 0
        conf = _mean_max_prob(x, mx, keep | (empty[:, None] & valid))
        texts = _split_texts(self.itos, idx, keep)
        return [self._ordered(t) for t in texts], conf.tolist()

    def decode_indices(
        self, seqs: Sequence[Sequence[int]] | Tensor, collapse: bool = False
    ) -> list[str]:
        """Texts of rows of class indices. Blanks are dropped; with `collapse=True`
        (a raw per-step path) repeats are merged first. Out-of-range -> `InputError`."""
        out = []
        for row in seqs.tolist() if isinstance(seqs, Tensor) else seqs:
            prev, parts = -1, []
            for i in row:
                if not 0 <= i < self.num_classes:
                    raise InputError(f"class index {i} out of range 0..{self.num_classes - 1}")
                if i != self.blank and not (collapse and i == prev):
                    parts.append(self.itos[i])
                prev = i
            out.append(self._ordered("".join(parts)))
        return out


class AttnTokenizer(_Vocab):
    """Attention classes: PAD = 0, BOS = 1, EOS = 2, `chars` = 3..N+2, then " "
    (`space=True`), then UNK (`unk=True`)."""

    kind = "attn"
    specials = ("<pad>", "<bos>", "<eos>")
    pad: int = 0
    bos: int = 1
    eos: int = 2

    def encode(self, labels: Sequence[str], max_len: int | None = None) -> EncodedBatch:
        """Targets (N, max_len + 2): BOS, tokens, EOS, PAD... . `max_len` None = the
        longest label of the batch; longer labels are cut and counted in `truncated`."""
        unknown: Counter[str] = Counter()
        ids = [self._ids(lab, unknown) for lab in labels]
        width = max((len(r) for r in ids), default=0) if max_len is None else int(max_len)
        if width < 0:
            raise InputError(f"max_len must be >= 0, got {max_len}")
        targets = torch.full((len(ids), width + 2), self.pad, dtype=torch.long)
        lengths = []
        for n, row in enumerate(ids):
            row = row[:width]
            targets[n, 0] = self.bos
            targets[n, 1 : len(row) + 1] = torch.tensor(row, dtype=torch.long)
            targets[n, len(row) + 1] = self.eos
            lengths.append(len(row))
        truncated = sum(len(r) > width for r in ids)
        return EncodedBatch(targets, torch.tensor(lengths, dtype=torch.long), unknown, truncated)

    def decode(
        self, logits: Tensor, lengths: Tensor | None = None
    ) -> tuple[list[str], list[float]]:
        """Greedy decode of logits (N, T, C): argmax per step, stop at the first EOS;
        PAD/BOS predictions are skipped. Confidence = mean max prob over the steps up to
        and including the first EOS (all valid steps when there is no EOS)."""
        x, mx, idx, valid = _argmax(logits, self.num_classes, lengths)
        is_eos = idx == self.eos
        upto = ((is_eos.long().cumsum(1) - is_eos.long()) == 0) & valid
        keep = upto & (idx >= len(self.specials))
        conf = _mean_max_prob(x, mx, upto)
        return _split_texts(self.itos, idx, keep), conf.tolist()

    def decode_indices(self, seqs: Sequence[Sequence[int]] | Tensor) -> list[str]:
        """Texts of rows of class indices (e.g. `encode` targets): stop at EOS, skip
        PAD/BOS. Out-of-range -> `InputError`."""
        out = []
        for row in seqs.tolist() if isinstance(seqs, Tensor) else seqs:
            parts = []
            for i in row:
                if not 0 <= i < self.num_classes:
                    raise InputError(f"class index {i} out of range 0..{self.num_classes - 1}")
                if i == self.eos:
                    break
                parts.append(self.itos[i])
            out.append("".join(parts))
        return out


def tokenizer_from_dict(d: dict[str, Any]) -> CTCTokenizer | AttnTokenizer:
    """Rebuild either tokenizer from its `to_dict()` (dispatch on `type`)."""
    kind = d.get("type") if isinstance(d, dict) else None
    if kind == "ctc":
        return CTCTokenizer.from_dict(d)
    if kind == "attn":
        return AttnTokenizer.from_dict(d)
    raise InputError(f"tokenizer settings: unknown type '{kind}' (use ctc or attn)")
