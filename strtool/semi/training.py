"""Semi-supervised training (CTC recognisers, img2seq, the mSTR Refiner): the loop's plug-in.

`SemiTraining(parts, info, model)` (built by `strtool.engine.loop.Trainer` when
`semi.method` is not `none`) owns what the methods add to supervised training:

- the unlabeled loader (`data.unlabeled`, `strtool.data.unlabeled.UnlabeledDataset`):
  `round(data.unlabeled_ratio * train.batch_size)` crops per micro-batch, images only,
  in `ResumableBatchSampler` epochs whose position is the micro-batch count, so
  `--resume` continues exactly where the run stopped;
- the teacher (`modules.Teacher`): an EMA of the student (consistency) or a snapshot
  refreshed every `semi.refresh_every` steps (pseudo), stored in checkpoints;
- the student (`modules.Student`): the recogniser plus the projection head of the
  contrastive loss; the loop wraps it in DDP and optimises all of it;
- `loss(...)`: one student forward over the labeled images and the student's views of
  the unlabeled crops (`views.make_views`, seeded by (seed, micro-batch, rank)), the
  supervised CTC loss on the labeled rows only, and the unsupervised losses
  (`losses.frame_consistency`, pseudo-label CTC, `losses.nt_xent`) on the others.

Loss: `supervised_weight * CTC + ramp_up(step) * weight * (consistency | pseudo)
+ contrastive_weight * NT-Xent`. Labels of the unlabeled loader do not exist: its
batches are image tensors, and the supervised loss is computed on rows `:B` of the
labeled batch only.

Attention decoders (img2seq, the mSTR Refiner; consistency and pseudo): the teacher
greedy-decodes the weak view, and its readings are teacher-forced target rows for the
student, who reads the strong view (consistency: every token and EOS the teacher gave
at least `threshold`) or the weak one (pseudo: whole readings with a confidence of at
least `pseudo_threshold`); `strtool.semi.decoders`, `strtool.semi.tokens`. The labeled
rows and the unlabeled ones go through one student forward, the supervised loss being
the task's own. Contrastive learning pools CTC frames and is for CTC recognisers only.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from strtool.data.unlabeled import UnlabeledDataset, collate_images
from strtool.engine.data import EpochChain
from strtool.engine.distributed import DistInfo, ResumableBatchSampler
from strtool.engine.setup import RunParts
from strtool.engine.stop import close_workers, ignore_stop_signals
from strtool.errors import ConfigError, DataError
from strtool.semi.decoders import img2seq_step, refiner_step
from strtool.semi.losses import frame_consistency, nt_xent, ramp_up
from strtool.semi.modules import Student, Teacher
from strtool.semi.tokens import masked_token_ce
from strtool.semi.views import make_views, view_generator
from strtool.tasks.base import Batch
from strtool.tasks.ctc import CtcTask, ctc_loss
from strtool.tasks.img2seq import Img2SeqTask
from strtool.tasks.refiner import RefinerTask
from strtool.text.tokenizer import UNK_TEXT

#: Added to `train.seed` for the unlabeled sampler (independent of the labeled order).
UNLABELED_SEED = 7919


def unlabeled_share(batch_size: int, ratio: float) -> int:
    """Unlabeled crops per micro-batch: `round(ratio * batch_size)`, at least 1."""
    return max(1, int(round(ratio * batch_size)))


class SemiTraining:
    """The semi-supervised side of one run (see the module docstring)."""

    def __init__(self, parts: RunParts, info: DistInfo, model: nn.Module) -> None:
        task = parts.task
        self.decoder = isinstance(task, Img2SeqTask | RefinerTask)  # per-token targets
        if not isinstance(task, CtcTask | Img2SeqTask | RefinerTask):
            raise ConfigError(f"semi.method: not available for the {task.family} family")
        self.cfg, self.info, self.task = parts.cfg, info, task
        self.s = self.cfg.semi
        self.parts = self.s.parts
        self.model = model
        self.teacher = Teacher(model) if self.parts & {"consistency", "pseudo"} else None
        contrastive = "contrastive" in self.parts
        if contrastive and self.decoder:
            raise ConfigError("semi.method: contrastive learning is for CTC recognisers")
        # the trained module: the decoder itself, or the CTC recogniser + projection head
        self.student: nn.Module = model
        self.proj: nn.Module | None = None
        if not self.decoder:
            student = Student(model, self.s.proj_dim if contrastive else None).to(info.device)
            self.student, self.proj = student, student.proj
        self.dataset = UnlabeledDataset(self.cfg.data.unlabeled, self.task.transform)
        self.per_batch = unlabeled_share(self.cfg.train.batch_size, self.cfg.data.unlabeled_ratio)
        self.batches: Any = None
        self.drawn, self.bad = 0, 0
        self._window: dict[str, float] = {}

    # -- data --------------------------------------------------------------------
    def start(self, micro: int) -> None:
        """Open the endless unlabeled loader at micro-batch `micro` of the run."""
        info, n = self.info, len(self.dataset)
        probe = ResumableBatchSampler(n, self.per_batch, 0, 0, 0, info.rank, info.world)
        per_epoch = len(probe)
        if per_epoch == 0:
            raise DataError(
                f"data.unlabeled: {n} crops, fewer than one batch of {self.per_batch} x "
                f"{info.world} processes (lower data.unlabeled_ratio or add crops)"
            )
        epoch, start = divmod(micro, per_epoch)
        seed = self.cfg.train.seed + UNLABELED_SEED
        sampler = ResumableBatchSampler(n, self.per_batch, seed, epoch, start, info.rank,
                                        info.world)  # fmt: skip
        w = self.cfg.data.workers
        loader = DataLoader(
            self.dataset, batch_sampler=EpochChain(sampler), collate_fn=collate_images,
            num_workers=w, persistent_workers=w > 0, prefetch_factor=4 if w > 0 else None,
            pin_memory=info.device.type == "cuda",
            worker_init_fn=ignore_stop_signals if w > 0 else None,
        )  # fmt: skip
        self.batches = iter(loader)

    def close(self) -> None:
        """Stop the unlabeled loader's workers (the loop calls it when it ends)."""
        close_workers(self.batches)
        self.batches = None

    def _next_unlabeled(self, device: torch.device) -> Tensor | None:
        images, bad = next(self.batches)
        self.drawn += self.per_batch
        self.bad += len(bad)
        if images is None:
            return None
        images = images.to(device, non_blocking=True)
        if self.cfg.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    # -- loss --------------------------------------------------------------------
    def loss(
        self, student: nn.Module, batch: Batch, device: torch.device, step: int, micro: int
    ) -> Tensor:
        """The training loss of one micro-batch (`student` may be DDP-wrapped)."""
        if self.decoder:
            return self._decoder_loss(student, batch, device, step, micro)
        images, labels, _ = batch
        b = images.shape[0]
        u = self._next_unlabeled(device)
        if u is None:  # every unlabeled crop unreadable: supervised only
            logits, _ = student(images)
            return self._supervised(logits, labels) * self.s.supervised_weight + self._zero()
        s, contrastive = self.s, "contrastive" in self.parts
        # the views each method needs: the teacher's weak view; the student's strong
        # one (consistency), two strong ones (contrastive) or the weak one (pseudo)
        n_strong = 2 if contrastive else int("consistency" in self.parts)
        wanted = [s.weak] * (self.teacher is not None) + [s.strong] * n_strong
        g = view_generator(self.cfg.train.seed, micro, self.info.rank)
        made = make_views(u, s.affine, wanted, g)
        weak = made[0] if self.teacher is not None else None
        views = made[len(made) - n_strong :] if n_strong else made[:1]
        logits, z = student(torch.cat([images, *views]), b if contrastive else -1, s.windows)
        total = self._supervised(logits[:b], labels) * s.supervised_weight
        n = u.shape[0]
        u_logits = logits[b : b + n]
        if self.teacher is not None:
            assert weak is not None
            t_logits = self.teacher(weak)
            ramp = ramp_up(step, s.rampup) * s.weight
            if "consistency" in self.parts:
                unsup, mask = frame_consistency(u_logits, t_logits, s.threshold, s.blank_weight)
                kept = float(mask.float().mean())
            else:
                unsup, kept = self._pseudo(u_logits, t_logits)
            total = total + ramp * unsup
            self._note(unsup=float(unsup.detach()), kept=kept, ramp=ramp)
        if contrastive:
            assert z is not None
            half = z.shape[0] // 2
            con = nt_xent(z[:half], z[half:], s.temperature)
            total = total + s.contrastive_weight * con
            self._note(contrastive=float(con.detach()))
        return total

    def _decoder_loss(
        self, student: nn.Module, batch: Batch, device: torch.device, step: int, micro: int
    ) -> Tensor:
        """`loss` for attention decoders (img2seq, Refiner): `strtool.semi.decoders`."""
        task, s = self.task, self.s
        assert self.teacher is not None
        images, labels, langs = batch
        u = self._next_unlabeled(device)
        if u is None:  # every unlabeled crop unreadable: supervised only
            return task.loss(student, batch, device) * s.supervised_weight
        consistency = "consistency" in self.parts
        g = view_generator(self.cfg.train.seed, micro, self.info.rank)
        made = make_views(u, s.affine, [s.weak, s.strong] if consistency else [s.weak], g)
        weak, view = made[0], made[-1]  # pseudo: the student reads the teacher's view
        threshold = s.threshold if consistency else s.pseudo_threshold
        if isinstance(task, Img2SeqTask):
            r = img2seq_step(task, self.teacher.model, student, images, labels, weak, view,
                             threshold, not consistency)  # fmt: skip
        else:
            assert isinstance(task, RefinerTask)
            r = refiner_step(task, self.teacher.model, student, images, labels, langs, weak,
                             view, threshold, not consistency)  # fmt: skip
        return r.supervised * s.supervised_weight + self._token_consistency(
            r.logits, r.targets, r.mask, r.real, step
        )

    def _token_consistency(
        self, logits: Tensor, tgt: Tensor, mask: Tensor, real: Tensor, step: int
    ) -> Tensor:
        """The ramped-up per-token loss of the attention decoders (and its log fields)."""
        consistency = "consistency" in self.parts
        unsup = masked_token_ce(logits, tgt, mask, real, "position" if consistency else "kept")
        ramp = ramp_up(step, self.s.rampup) * self.s.weight
        if consistency:  # share of the teacher's positions learned
            kept = float(mask.sum()) / max(int(real.sum()), 1)
        else:  # share of the crops pseudo-labelled
            kept = float(mask.any(1).float().mean())
        self._note(unsup=float(unsup.detach()), kept=kept, ramp=ramp)
        return ramp * unsup

    @property
    def ctc(self) -> CtcTask:
        """The task, when it is a CTC recogniser's (the frame-level methods)."""
        assert isinstance(self.task, CtcTask)
        return self.task

    def _supervised(self, logits: Tensor, labels: list[str]) -> Tensor:
        enc = self.ctc.tokenizer.encode(labels)
        self.task.unknown.update(enc.unknown)
        return ctc_loss(logits, enc.targets, enc.lengths)

    def _pseudo(self, student: Tensor, teacher: Tensor) -> tuple[Tensor, float]:
        """CTC loss of the student on the crops the teacher reads with a confidence of
        at least `pseudo_threshold` (their decoded texts as labels); 0 when none."""
        texts, confs = self.ctc.tokenizer.decode(teacher.detach().float().cpu())
        keep = [i for i, (t, c) in enumerate(zip(texts, confs, strict=True))
                if t and UNK_TEXT not in t and float(c) >= self.s.pseudo_threshold]  # fmt: skip
        if not keep:
            return student.float().sum() * 0.0, 0.0
        idx = torch.tensor(keep, device=student.device)
        loss = self._supervised(student.index_select(0, idx), [texts[i] for i in keep])
        return loss, len(keep) / len(texts)

    def _zero(self) -> Tensor | float:
        """0 through the projection head, so DDP sees its parameters used."""
        proj = self.proj
        if proj is None:
            return 0.0
        return torch.stack([p.sum() for p in proj.parameters()]).sum() * 0.0

    # -- steps, state, logs ------------------------------------------------------
    def teacher_scores(self, ds: Dataset, device: torch.device) -> dict[str, float]:
        """`teacher_wrr`, `teacher_crr` of the EMA teacher on the validation set (logged
        beside the student's; the checkpoint's model stays the student). Empty
        without an EMA teacher (pseudo's snapshot teacher is an older student)."""
        if self.teacher is None or "consistency" not in self.parts:
            return {}
        with torch.inference_mode():
            m = self.task.validate(self.teacher.model, ds, device)
        return {"teacher_wrr": m["wrr"], "teacher_crr": m["crr"]}

    def after_step(self, step: int) -> None:
        """After optimiser step `step` (1-based): the EMA update (consistency) or the
        snapshot refresh every `refresh_every` steps (pseudo)."""
        if self.teacher is None:
            return
        if "consistency" in self.parts:
            self.teacher.update(self.model, self.s.ema_decay)
        elif step % self.s.refresh_every == 0:
            self.teacher.update(self.model, 0.0)

    def _note(self, **values: float) -> None:
        w = self._window
        for k, v in values.items():
            w[k] = w.get(k, 0.0) + v
            w[f"n_{k}"] = w.get(f"n_{k}", 0.0) + 1

    def log_fields(self) -> dict[str, float]:
        """Means since the last call: `semi_loss` (consistency / pseudo), `semi_kept`
        (share of confident frames / pseudo-labelled crops), `semi_ramp`,
        `contrastive_loss`."""
        names = {"unsup": "semi_loss", "kept": "semi_kept", "ramp": "semi_ramp",
                 "contrastive": "contrastive_loss"}  # fmt: skip
        w = self._window
        out = {names[k]: w[k] / w[f"n_{k}"] for k in names if w.get(f"n_{k}")}
        self._window = {}
        return out

    def state_dict(self) -> dict[str, Any]:
        """Checkpoint entry `semi`: method, teacher weights, projection head."""
        proj = self.proj
        return {
            "method": self.s.method,
            "teacher": self.teacher.state_dict() if self.teacher is not None else None,
            "proj": proj.state_dict() if proj is not None else None,
            "drawn": self.drawn, "bad": self.bad,
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.teacher is not None and state.get("teacher") is not None:
            self.teacher.load_state_dict(state["teacher"])
        if self.proj is not None and state.get("proj") is not None:
            self.proj.load_state_dict(state["proj"])
        self.drawn, self.bad = state.get("drawn", 0), state.get("bad", 0)

    def report(self) -> dict[str, Any]:
        """The `unlabeled` part of the run's data report (this process's share)."""
        return {
            "crops": len(self.dataset), "per_batch": self.per_batch, "drawn": self.drawn,
            "unreadable": self.bad, "labeled_sources": self.dataset.labeled_sources,
        }  # fmt: skip
