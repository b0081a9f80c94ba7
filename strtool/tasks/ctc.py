"""CTC recognisers (CRNN, SVTR): a softmax head over a charset, CTC loss, greedy
decoding. Checkpoints store the charset and the tokenizer settings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.data.transforms import ResizeNormalize
from strtool.engine.checkpoint import init_from
from strtool.engine.config import RunConfig
from strtool.engine.data import label_units
from strtool.errors import InputError
from strtool.models import ModelSpec, build_model, reads_any_width
from strtool.tasks.base import Batch, DecodingOptions, Reading, Task
from strtool.text.normalize import as_unit
from strtool.text.tokenizer import CTCTokenizer


def ctc_loss(logits: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
    """Mean CTC loss of logits (N, T, C); log-softmax in float32, blank 0,
    `zero_infinity=True` (impossible alignments contribute no gradient)."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (T, N, C)
    n, t = logits.shape[0], logits.shape[1]
    input_lengths = torch.full((n,), t, dtype=torch.long)
    return F.ctc_loss(
        log_probs, targets, input_lengths, lengths, blank=0, reduction="mean", zero_infinity=True
    )


def resolve_chars(cfg: RunConfig) -> list[str]:
    """The charset: a file path, a language spec (`LAT,ARA`), or (None) every unit
    seen in the training labels, sorted by code point."""
    spec, unit = cfg.data.charset, cfg.data.unit
    if spec is None:
        return label_units(cfg.data.train, unit)
    from strtool.text import charset as cs

    if Path(spec).is_file():
        return list(cs.charset_from_file(spec))
    return list(cs.union_chars(cs.load_charsets(spec)))


#: the widest input `--max-width` allows (2,048 CTC frames at stride 4)
MAX_READ_WIDTH = 8192
#: how many times its training width a model reads a wide crop at by default
READ_WIDTH_FACTOR = 4


def default_read_width(cfg: RunConfig) -> int:
    """The widest input a CTC model reads a wide crop at unless told otherwise:
    `READ_WIDTH_FACTOR` x its training width when it keeps the aspect ratio and its
    architecture reads any width (a line at 32 px of the default model: up to 768 px,
    192 frames, instead of 48 frames of squeezed glyphs); else its training width."""
    m = cfg.model
    return READ_WIDTH_FACTOR * m.width if reads_wide_crops(cfg) else m.width


def reads_wide_crops(cfg: RunConfig) -> bool:
    """Whether a CTC model can read a crop wider than its training width at its own
    width: it keeps the aspect ratio and its architecture reads any width."""
    return cfg.model.keep_ratio and reads_any_width(cfg.model.arch)


class CtcTask(Task):
    """CRNN / SVTR with a CTC head of `1 + len(charset) [+ UNK]` classes."""

    family = "ctc"

    def __init__(self, cfg: RunConfig, stored: dict[str, Any] | None = None) -> None:
        super().__init__(cfg, stored)
        if stored is not None:
            self.tokenizer = CTCTokenizer.from_dict(stored["tokenizer"])
            self.chars = list(stored["charset"])
            # the config (the checkpoint's own, or on resume with its overrides) sets the
            # order: `--set data.ctc_order=visual` switches a logical-order run over
            self.tokenizer.order = cfg.data.ctc_order
        else:
            self.chars = resolve_chars(cfg)
            self.tokenizer = CTCTokenizer(
                self.chars, unit=as_unit(cfg.data.unit), unk=cfg.data.unk, space=cfg.data.space,
                order=cfg.data.ctc_order,
            )  # fmt: skip
        self.allowed: Tensor | None = None  # `restrict`: classes left for decoding
        m = cfg.model
        spec = ModelSpec(m.channels, (m.height, m.width), self.tokenizer.num_classes)
        self.model: nn.Module = build_model(m.arch, spec, **m.options)
        #: the widest input a crop is read at (`read_transform`, `--max-width`)
        self.max_width = default_read_width(cfg)

    @property
    def read_transform(self) -> ResizeNormalize:
        """Crops that fit the training width are read as in training; a wider one (a
        long word, a line) keeps its own width up to `max_width` instead of being
        squeezed into the training width (models that read any width; see
        `default_read_width`)."""
        m = self.cfg.model
        if self.max_width <= m.width:
            return self.transform
        return ResizeNormalize(m.height, m.width, m.channels, keep_ratio=True,
                               max_width=self.max_width)  # fmt: skip

    def set_decoding(self, options: DecodingOptions) -> None:
        """`max_width` (`--max-width`): the widest input of a wide crop, from the
        training width (squeeze as trained) to `MAX_READ_WIDTH`."""
        super().set_decoding(DecodingOptions(options.beam, options.joint_ctc))
        if options.max_width is None:
            return
        m, w = self.cfg.model, options.max_width
        if not m.width <= w <= MAX_READ_WIDTH:
            raise InputError(
                f"--max-width: {w} px is out of range; allowed: {m.width} (the model's "
                f"input width: squeeze wide crops as in training) to {MAX_READ_WIDTH}"
            )
        if w > m.width and not reads_wide_crops(self.cfg):
            why = "stretches every crop" if not m.keep_ratio else f"{m.arch} has a fixed grid"
            raise InputError(f"--max-width: this model reads {m.width} px only ({why})")
        self.max_width = w

    @property
    def label_chars(self) -> list[str] | None:
        """The charset (+ space with `data.space`); None with `data.unk`."""
        if self.cfg.data.unk:
            return None
        return self.chars + ([" "] if self.tokenizer.space and " " not in self.chars else [])

    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, _ = batch
        enc = self.tokenizer.encode(labels)
        self.unknown.update(enc.unknown)
        return ctc_loss(model(images), enc.targets, enc.lengths)

    def read(self, model: nn.Module, images: Tensor) -> Reading:
        logits = model(images).float().cpu()
        if self.allowed is not None:
            logits = logits.masked_fill(~self.allowed, float("-inf"))
        texts, confs = self.tokenizer.decode(logits)
        return Reading(texts, [float(c) for c in confs])

    def restrict(self, langs: Sequence[str]) -> int:
        """Mask every class outside the charsets of `langs` (blank, space and UNK stay)
        before decoding; the confidences are renormalised over the classes left."""
        from strtool.text.charset import load_charsets, union_chars

        keep = set(union_chars(load_charsets(list(langs)))) | {" "}
        stoi = self.tokenizer.stoi
        allowed = torch.zeros(self.tokenizer.num_classes, dtype=torch.bool)
        allowed[0] = True  # blank
        for ch, i in stoi.items():
            allowed[i] = ch in keep
        if self.tokenizer.unk_index is not None:
            allowed[self.tokenizer.unk_index] = True
        if int(allowed.sum()) <= 1:
            raise InputError(f"--lang {','.join(langs)}: the model has none of their characters")
        self.allowed = allowed
        return int(allowed.sum()) - 1

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "tokenizer": self.tokenizer.to_dict(), "charset": self.chars}

    def init_from(self, ckpt: dict[str, Any]) -> dict[str, int]:
        """Cascade learning: matching tensors, and the classifier rows of characters
        the two charsets share (see `engine.checkpoint.init_from`)."""
        return init_from(self.model, ckpt, self.chars)

    def onnx_module(self) -> tuple[nn.Module, dict[str, str]]:
        meta = json.dumps(self.tokenizer.to_dict(), ensure_ascii=False)
        return self.model, {"strtool_tokenizer": meta}
