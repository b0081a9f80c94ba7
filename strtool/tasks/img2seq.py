"""Image-to-sequence line and page recognition (`img2seq` family, after FPHTR).

Vocabulary (`AttnTokenizer`): PAD = 0, BOS = 1, EOS = 2, the charset, the space, the
line break "\\n", and UNK with `data.unk` (unknown characters are counted in
`self.unknown` and logged by the engine; without `data.unk` the training labels that
hold one are removed and counted by the dataset filter, as for every family).

Training: cross-entropy with label smoothing (`img2seq.label_smoothing`) under teacher
forcing, PAD ignored. Reading: greedy (`img2seq.beam_width` 1) or beam search, both
with a key/value cache (`strtool.models.img2seq_search`), at most `img2seq.max_len`
tokens (default `data.max_len`). A reading's confidence is the mean probability of
its tokens up to and including EOS; each line's, the mean over its tokens and the
line break (or EOS) that ends it. Images are scaled to fit `model.height` x
`model.width` keeping their aspect ratio, and padded (`FitResizeNormalize`).

Checkpoints store the tokenizer settings and the charset: `read` needs nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from strtool.data.transforms import FitResizeNormalize
from strtool.engine.config import RunConfig
from strtool.errors import InputError
from strtool.models import ModelSpec, build_model
from strtool.models.h8 import H8Features
from strtool.models.img2seq import Img2Seq
from strtool.models.img2seq_search import Decoded, beam_search, greedy
from strtool.models.joint_ctc import JointCTC
from strtool.tasks.base import Batch, DecodingOptions, Reading, Task, scores
from strtool.tasks.ctc import resolve_chars
from strtool.tasks.img2seq_metrics import cer, wer
from strtool.text.bidi import display_order
from strtool.text.normalize import as_unit, nfc
from strtool.text.tokenizer import AttnTokenizer, CTCTokenizer

LINE_BREAK = "\n"


def build_tokenizer(chars: list[str], cfg: RunConfig) -> AttnTokenizer:
    """The img2seq vocabulary: `chars` (space and line break left out), then the line
    break, the space (tokenizer option) and UNK (`data.unk`)."""
    entries = [c for c in chars if c not in (" ", LINE_BREAK)] + [LINE_BREAK]
    return AttnTokenizer(entries, unit=as_unit(cfg.data.unit), unk=cfg.data.unk, space=True)


def unwrap(model: nn.Module) -> Img2Seq:
    """The `Img2Seq` inside a (possibly DDP-wrapped) model."""
    inner = getattr(model, "module", model)
    if not isinstance(inner, Img2Seq):
        raise TypeError(f"expected an Img2Seq model, got {type(inner).__name__}")
    return inner


def line_confidences(d: Decoded, break_id: int) -> list[float]:
    """One confidence per line of a decoded row: the mean probability of the line's
    tokens and of the line break (or EOS) that ends it."""
    out, start = [], 0
    ends = [i for i, t in enumerate(d.ids) if t == break_id] + [len(d.ids)]
    for end in ends:
        ps = d.probs[start : end + 1]
        out.append(sum(ps) / len(ps) if ps else 0.0)
        start = end + 1
    return out


class Img2SeqTask(Task):
    """CNN encoder + Transformer decoder reading lines and pages (see module docstring)."""

    family = "img2seq"

    def __init__(self, cfg: RunConfig, stored: dict[str, Any] | None = None) -> None:
        super().__init__(cfg, stored)
        if stored is not None:
            self.tokenizer = AttnTokenizer.from_dict(stored["tokenizer"])
            self.chars = list(stored["charset"])
        else:
            self.chars = [c for c in resolve_chars(cfg) if c not in (" ", LINE_BREAK)]
            self.tokenizer = build_tokenizer(self.chars, cfg)
        self.blocked: list[int] = []  # `restrict`: classes never emitted
        m = cfg.model
        spec = ModelSpec(m.channels, (m.height, m.width), self.tokenizer.num_classes,
                         max_len=self.max_len)  # fmt: skip
        hybrid = {"ctc_head": True} if cfg.img2seq.ctc_weight > 0 else {}
        self.model: nn.Module = build_model(m.arch, spec, **{**m.options, **hybrid})

    @property
    def token_texts(self) -> tuple[str, ...]:
        """The text of every class, "" for the specials (joint decoding's view)."""
        tok = self.tokenizer
        specials = {tok.pad, tok.bos, tok.eos, tok.unk_index}
        return tuple("" if i in specials else t for i, t in enumerate(tok.itos))

    @property
    def max_len(self) -> int:
        """Decoding limit in tokens (`img2seq.max_len`, else `data.max_len`)."""
        return self.cfg.img2seq.max_len or self.cfg.data.max_len

    @property
    def transform(self) -> FitResizeNormalize:
        m = self.cfg.model
        return FitResizeNormalize(m.height, m.width, m.channels)

    @property
    def label_chars(self) -> list[str] | None:
        """Charset + space + line break; None with `data.unk` (UNK class)."""
        return None if self.cfg.data.unk else self.chars + [" ", LINE_BREAK]

    # -- training ------------------------------------------------------------------
    def loss(self, model: nn.Module, batch: Batch, device: torch.device) -> Tensor:
        images, labels, _ = batch
        tgt = self.targets(labels).to(device)
        logits, ctc = self.teacher_forced(model, images, tgt)
        return self.supervised_loss(logits, ctc, labels, tgt)

    def targets(self, labels: Sequence[str]) -> Tensor:
        """Target rows (N, 2 + L) `BOS tokens EOS PAD...` of labels (unknown characters
        counted in `self.unknown`)."""
        enc = self.tokenizer.encode(list(labels))
        self.unknown.update(enc.unknown)
        return enc.targets

    def teacher_forced(
        self, model: nn.Module, images: Tensor, tgt: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced logits (N, L + 1, V) of target rows `tgt`, and the CTC head's
        logits when `img2seq.ctc_weight` > 0 (else None): one forward of `model`."""
        if self.cfg.img2seq.ctc_weight > 0:
            logits, ctc = model(images, tgt[:, :-1], with_ctc=True)
            return logits, ctc
        return model(images, tgt[:, :-1]), None

    def supervised_loss(
        self, logits: Tensor, ctc: Tensor | None, labels: Sequence[str], tgt: Tensor
    ) -> Tensor:
        """Label-smoothed cross-entropy of `logits` against `tgt[:, 1:]` (PAD ignored, so
        rows padded wider than their labels score the same), mixed with the CTC loss of
        the labels in visual order when the model has a CTC head."""
        logits = logits.float()
        ce = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
            ignore_index=self.tokenizer.pad, label_smoothing=self.cfg.img2seq.label_smoothing,
        )  # fmt: skip
        if ctc is None:
            return ce
        # the CTC head reads the columns left to right: right-to-left lines in visual order
        w = self.cfg.img2seq.ctc_weight
        vis = self.tokenizer.encode([display_order(lab) for lab in labels])
        return (1 - w) * ce + w * self.ctc_loss(ctc, vis.targets.to(tgt.device), vis.lengths)

    def ctc_loss(self, ctc: Tensor, targets: Tensor, lengths: Tensor) -> Tensor:
        """CTC loss (mean over samples of the loss per target token) of the encoder's
        CTC logits (N, T, V) against each row's tokens: targets encoded as the attention
        targets (N, 2 + max; `loss` passes the labels in visual order,
        `strtool.text.bidi`) without BOS and the last column, of which the first
        `lengths` count (the EOS and PAD after them are ignored); blank = PAD. A label
        longer than the frames allow contributes zero (`zero_infinity`)."""
        lp = ctc.float().log_softmax(-1).transpose(0, 1)  # (T, N, V)
        n, t = ctc.shape[0], ctc.shape[1]
        frames = torch.full((n,), t, dtype=torch.long, device=targets.device)
        return F.ctc_loss(lp, targets[:, 1:-1], frames, lengths.to(targets.device),
                          blank=self.tokenizer.pad, zero_infinity=True)  # fmt: skip

    # -- reading -------------------------------------------------------------------
    def decode(self, model: nn.Module, images: Tensor, cache: bool = True) -> list[Decoded]:
        """Token rows of a batch: greedy, or beam search when `img2seq.beam_width` > 1;
        joint CTC/attention beam search when `img2seq.ctc_decode_weight` > 0."""
        tok, c = self.tokenizer, self.cfg.img2seq
        forbid = (tok.pad, tok.bos, *self.blocked)
        net = unwrap(model)
        joint = None
        if c.ctc_decode_weight > 0:
            joint = JointCTC(c.ctc_decode_weight, tok.pad, self.token_texts)
        if joint is not None or c.beam_width > 1:
            return beam_search(net, images, tok.bos, tok.eos, self.max_len, c.beam_width,
                               forbid, c.length_penalty, cache, joint)  # fmt: skip
        return greedy(net, images, tok.bos, tok.eos, self.max_len, forbid, cache)

    def set_decoding(self, options: DecodingOptions) -> None:
        """Beam width and joint CTC/attention weight for reading (`img2seq.beam_width`,
        `img2seq.ctc_decode_weight`); joint decoding needs the CTC head."""
        c, beam, joint_ctc = self.cfg.img2seq, options.beam, options.joint_ctc
        if options.max_width is not None:
            raise InputError(
                "--max-width: an img2seq model fits each image into its own canvas (the "
                "option applies to CTC recognisers)"
            )
        if beam is not None:
            if not 1 <= beam <= 64:
                raise InputError(f"--beam: {beam} is out of range; allowed: 1-64")
            c.beam_width = beam
        if joint_ctc is not None:
            if not 0 <= joint_ctc <= 1:
                raise InputError(f"--joint-ctc: {joint_ctc} is out of range; allowed: 0-1")
            if joint_ctc > 0 and unwrap(self.model).ctc is None:
                raise InputError("--joint-ctc: this img2seq model has no CTC head (it was "
                                 "trained with img2seq.ctc_weight 0)")  # fmt: skip
            c.ctc_decode_weight = joint_ctc

    def restrict(self, langs: Sequence[str]) -> int:
        """Never emit characters outside the charsets of `langs` (space, line break,
        EOS and UNK stay); returns the number of classes left."""
        from strtool.text.charset import load_charsets, union_chars

        keep = set(union_chars(load_charsets(list(langs)))) | {" ", LINE_BREAK}
        stoi = self.tokenizer.stoi
        self.blocked = sorted(i for ch, i in stoi.items() if ch not in keep)
        left = len(stoi) - len(self.blocked)
        if left <= 2:
            raise InputError(f"--lang {','.join(langs)}: the model has none of their characters")
        return left + 1 + int(self.tokenizer.unk_index is not None)

    def reading(self, rows: list[Decoded]) -> Reading:
        """Texts (lines joined by "\\n", each NFC), confidences and line confidences."""
        itos, brk = self.tokenizer.itos, self.tokenizer.stoi[LINE_BREAK]
        texts, confs, lines = [], [], []
        for d in rows:
            text = "".join(itos[i] for i in d.ids)
            texts.append(LINE_BREAK.join(nfc(x) for x in text.split(LINE_BREAK)))
            confs.append(sum(d.probs) / len(d.probs) if d.probs else 0.0)
            lines.append(line_confidences(d, brk))
        return Reading(texts, confs, line_confidences=lines)

    def read(self, model: nn.Module, images: Tensor) -> Reading:
        return self.reading(self.decode(model, images))

    def validate(self, model: nn.Module, ds: Dataset, device: torch.device) -> dict[str, Any]:
        """The shared figures under `eval.profile` (line breaks count as spaces there)
        plus `cer` and `wer` on line forms (`strtool.tasks.img2seq_metrics`)."""
        res = self.read_dataset(model, ds, device, self.cfg.eval.batch_size)
        out = scores(res, self.cfg.eval.profile, self.unit, script_acc=False)
        out["cer"] = cer(res.preds, res.gts, self.unit)
        out["wer"] = wer(res.preds, res.gts, res.langs)
        return out

    # -- checkpoints ---------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "tokenizer": self.tokenizer.to_dict(), "charset": self.chars}

    def init_from(self, ckpt: dict[str, Any]) -> dict[str, int]:
        """Curriculum / warm start (e.g. a line model into a page model): every tensor
        whose name and shape match, and the embedding / classifier rows of the
        vocabulary entries both models share (charsets may differ). From an `h8` CTC
        checkpoint (e.g. the shipped default model): the `h8` encoder and the CTC head
        (`init_from_ctc`)."""
        if ckpt.get("family") == "ctc":
            return self.init_from_ctc(ckpt)
        src, dst = ckpt["model"], self.model.state_dict()
        old = _token_index(ckpt)
        copied = rows = 0
        for name, tensor in dst.items():
            value = src.get(name)
            if value is None:
                continue
            if name in ("embed.weight", "head.weight", "head.bias") and old is not None:
                rows = self._copy_rows(tensor, value, old)
                copied += 1
            elif value.shape == tensor.shape:
                dst[name] = value.clone()
                copied += 1
        self.model.load_state_dict(dst)
        return {"copied": copied, "skipped": len(dst) - copied, "rows": rows}

    def init_from_ctc(self, ckpt: dict[str, Any]) -> dict[str, int]:
        """An `h8` encoder from an `h8` CTC recogniser: its stem, stages and norm (same
        names under `encoder.`), its row pool into `ctc_pool`, and its classifier's
        rows into the CTC head by character (blank into PAD, the CTC blank here). The
        rows of tokens the CTC model lacks (line break, BOS, EOS, new characters) get
        zero weights and the lowest of its biases, so that the CTC head reads as the
        CTC model did from the first step; the decoder starts fresh."""
        if not isinstance(unwrap(self.model).encoder, H8Features):
            raise InputError(
                "--init: a CTC checkpoint initialises only an img2seq model with the h8 "
                "encoder (model.arch img2seq_h8), not this one's ResNet encoder"
            )
        arch = str(ckpt.get("arch") or ckpt["config"]["model"]["arch"])
        if not arch.startswith("h8"):
            raise InputError(
                f"--init: the CTC checkpoint is a {arch} model, which has no h8 encoder "
                "(give an h8 CTC checkpoint, e.g. --init default)"
            )
        src, dst = ckpt["model"], self.model.state_dict()
        copied = rows = 0
        for name, tensor in dst.items():
            if name.startswith("encoder."):
                key = name.removeprefix("encoder.")
            elif name.startswith("ctc_pool."):
                key = "pool." + name.removeprefix("ctc_pool.")
            else:
                continue
            if key in src and src[key].shape == tensor.shape:
                dst[name] = src[key].clone()
                copied += 1
        if "ctc.weight" in dst and "head.fc.weight" in src:
            ctc_itos = CTCTokenizer.from_dict(ckpt["tokenizer"]).itos
            old = {t: i for i, t in enumerate(ctc_itos) if i > 0}
            w, b = dst["ctc.weight"], dst["ctc.bias"]
            sw, sb = src["head.fc.weight"], src["head.fc.bias"]
            if sw.shape[1:] == w.shape[1:]:
                w.zero_()
                b.fill_(float(sb.min()))
                pairs = [(self.tokenizer.pad, 0)] + [
                    (i, old[t]) for i, t in enumerate(self.tokenizer.itos)
                    if i >= len(self.tokenizer.specials) and t in old
                ]  # fmt: skip
                for i, j in pairs:
                    w[i], b[i] = sw[j], sb[j]
                copied, rows = copied + 2, len(pairs)
        self.model.load_state_dict(dst)
        return {"copied": copied, "skipped": len(dst) - copied, "rows": rows}

    def _copy_rows(self, dst: Tensor, src: Tensor, old: dict[str, int]) -> int:
        """Copy rows of shared entries (specials by position, characters by text)."""
        if dst.shape[1:] != src.shape[1:]:
            return 0
        n = 0
        for i, text in enumerate(self.tokenizer.itos):
            j = i if i < len(self.tokenizer.specials) else old.get(text)
            if j is not None and j < src.shape[0]:
                dst[i] = src[j]
                n += 1
        return n

    def onnx_module(self) -> tuple[nn.Module, dict[str, str]]:
        raise InputError(
            "an img2seq checkpoint cannot be exported to ONNX: its reading is an "
            "autoregressive search with a key/value cache (use strtool predict or eval)"
        )


def _token_index(ckpt: dict[str, Any]) -> dict[str, int] | None:
    """Vocabulary entry -> class index of an img2seq checkpoint (None for others)."""
    if ckpt.get("family") != "img2seq" or "tokenizer" not in ckpt:
        return None
    tok = AttnTokenizer.from_dict(ckpt["tokenizer"])
    return {t: i for i, t in enumerate(tok.itos) if i >= len(tok.specials)}
