"""One semi-supervised step of an attention decoder: the img2seq family and the mSTR
Refiner. The teacher (an EMA or snapshot of the student, `modules.Teacher`) reads the
weak view of the unlabeled crops greedily; its readings become teacher-forced target
rows (`strtool.semi.tokens`); then one student forward covers the labeled rows and
the unlabeled ones (the student's view: strong for consistency, the teacher's for
pseudo-labels), so DDP sees one forward per micro-batch.

Each function returns a `TokenStep`: the task's supervised loss on the labeled rows,
and the student's logits, the teacher's target ids, the learned positions and the
real (token or end-of-text) positions of the unlabeled rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.models.img2seq_search import greedy
from strtool.models.refiner import EOS, Refiner
from strtool.mstr import decode as dec
from strtool.semi.tokens import pad_cat, pad_cols, target_probs, teacher_rows, token_mask
from strtool.tasks.img2seq import Img2SeqTask, unwrap
from strtool.tasks.refiner import RefinerTask


@dataclass
class TokenStep:
    """The parts of one step's loss (see the module docstring)."""

    supervised: Tensor
    logits: Tensor  # (n, L, V) the student's, unlabeled rows
    targets: Tensor  # (n, L) the teacher's ids
    mask: Tensor  # (n, L) bool: positions learned
    real: Tensor  # (n, L) bool: token and end-of-text positions


def img2seq_step(
    task: Img2SeqTask, teacher: nn.Module, student: nn.Module, images: Tensor,
    labels: Sequence[str], weak: Tensor, view: Tensor, threshold: float, per_row: bool,
) -> TokenStep:  # fmt: skip
    """An img2seq model: the teacher's greedy readings (KV cache) of `weak`, each
    token's probability as it chose it; the hybrid CTC head learns the labeled rows."""
    tok, device = task.tokenizer, images.device
    tgt = task.targets(labels).to(device)
    with torch.no_grad():
        rows = greedy(unwrap(teacher), weak, tok.bos, tok.eos, task.max_len, (tok.pad, tok.bos))
    t_tgt, probs = teacher_rows(rows, tok.bos, tok.eos, tok.pad)
    real = t_tgt[:, 1:] != tok.pad
    unk = (t_tgt == tok.unk_index).any(1) if tok.unk_index is not None else None
    mask = token_mask(probs, real, threshold, per_row, unk)
    both = pad_cat(tgt, t_tgt.to(device), tok.pad)
    logits, ctc = task.teacher_forced(student, torch.cat([images, view]), both)
    b, width = images.shape[0], both.shape[1] - 1
    sup = task.supervised_loss(logits[:b], None if ctc is None else ctc[:b], labels, both[:b])
    return TokenStep(sup, logits[b:], both[b:, 1:], pad_cols(mask, width, False).to(device),
                     pad_cols(real, width, False).to(device))  # fmt: skip


def refiner_step(
    task: RefinerTask, teacher: nn.Module, student: nn.Module, images: Tensor,
    labels: Sequence[str], langs: Sequence[str | None], weak: Tensor, view: Tensor,
    threshold: float, per_row: bool,
) -> TokenStep:  # fmt: skip
    """The Refiner over the frozen Spotter: the Spotter reads both views (its top-k
    classes and visual levels are the Refiner's input), the teacher Refiner decodes
    the weak one; each token's probability is the teacher's under teacher forcing on
    its own reading. A reading longer than `data.max_len` did not end: it teaches
    nothing."""
    assert isinstance(teacher, Refiner)
    idx, prob, levels, tgt_in, tgt = task.inputs(images, labels, langs, images.device)
    w_idx, w_prob, w_levels = task.spotter_view(weak)
    s_idx, s_prob, s_levels = task.spotter_view(view) if view is not weak else (
        w_idx, w_prob, w_levels)  # fmt: skip
    max_len = task.cfg.data.max_len
    with torch.no_grad():
        rows, _ = teacher.generate(w_idx, w_prob, w_levels, max_len)
        ended = torch.tensor([len(r) <= max_len for r in rows], device=images.device)
        t_in, t_tgt = (x.to(images.device) for x in dec.refiner_io(rows, max_len))
        real = (t_tgt != -100) & ended[:, None]
        probs = target_probs(teacher(w_idx, w_prob, w_levels, t_in), t_tgt, real)
    mask = token_mask(probs, real, threshold, per_row)
    width = max(tgt_in.shape[1], t_in.shape[1])
    both_in = pad_cat(tgt_in, t_in, EOS)  # refiner inputs are EOS-padded
    logits = student(
        torch.cat([idx, s_idx]), torch.cat([prob, s_prob]),
        [torch.cat([a, c]) for a, c in zip(levels, s_levels, strict=True)], both_in,
    )  # fmt: skip
    b = images.shape[0]
    sup = F.cross_entropy(logits[:b].float().flatten(0, 1), pad_cols(tgt, width, -100).flatten())
    return TokenStep(sup, logits[b:], pad_cols(t_tgt, width, -100), pad_cols(mask, width, False),
                     pad_cols(real, width, False))  # fmt: skip
