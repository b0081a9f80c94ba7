"""Joint CTC/attention decoding state for beam search: the CTC prefix score of every
hypothesis (`strtool.models.ctc_prefix`), kept in the order the CTC head reads.

Left-to-right lines: the decoder's logical order is the CTC head's frame order, so a
hypothesis extended by c is its CTC state extended by c.

Right-to-left lines are scored on their frames reversed (the CTC head reads columns
left to right and trains on visual order). The reversed frames meet a right-to-left
line in logical order, except inside a left-to-right run (digits, Latin words), which
they meet backwards, and inside a grapheme cluster, whose marks they meet before its
base (`strtool.text.bidi.reversed_frame_order`). So each hypothesis keeps its last
*segment* pending: a left-to-right run (from its first letter or digit up to the next
right-to-left letter; spaces and punctuation inside it wait too, since the bidi levels
of neutrals depend on what follows), or one cluster. Its CTC state holds everything
before the segment. The segment is scored after a *gap* (`CTCPrefixScorer.gap`): the
reversed frames meet the rest of the segment, not written yet, before what is written
of it, so the gap lets frames read what that rest may hold (digits, letters, number
separators and marks for a run; marks for a cluster), then the segment follows in
reversed frame order: for a run the likelier of "it ends here" and "it goes on" (a
separator after a digit joins the number only if a digit follows). When a token
starts a new segment, the pending one is committed exactly, without a gap. The
decoder never waits: every step scores every candidate. A right-to-left line never
starts with a mark here (reversed frames could not tell it from a mark on the first
letter).

Within a left-to-right run the reversed frames cannot tell which digit comes first
until the run ends ("12" and "21" both fit until then), so joint decoding of
right-to-left lines wants a beam (`--beam` 3 or more) or a decoder that reads.

A line is read as right-to-left when the CTC head's best class holds a right-to-left
letter on at least one frame and on at least a quarter as many frames as a
left-to-right letter (`rtl_rows`): a Latin line with a few stray Arabic frames stays
left to right (scored as one pending run it would cost time quadratic in its length).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from strtool.models.ctc_prefix import FLOOR, CTCPrefixScorer, Extension, PrefixState
from strtool.models.img2seq import Img2Seq
from strtool.text.bidi import (
    RUN_JOINERS,
    is_rtl_line,
    mirrored,
    reversed_frame_order,
    strong_class,
)


@dataclass(frozen=True)
class JointCTC:
    """Joint CTC/attention decoding: hypotheses rank by (1 - weight) * log P_decoder +
    weight * log psi_CTC. `blank` is the CTC blank's class; `tokens` the text of every
    class ("" for specials), from which right-to-left letters, left-to-right runs and
    marks are known (a row whose CTC greedy reading holds a right-to-left letter is
    scored on its frames reversed). Each step scores the decoder's top 2 x width (at
    least 4) tokens plus the `candidates` tokens the CTC head sees most clearly in the
    image, so a weak decoder cannot hide a character the CTC head reads."""

    weight: float
    blank: int
    tokens: tuple[str, ...] = ()
    candidates: int = 64


def _segment_kind(token: str) -> str:
    """'ltr' (a letter or digit that starts a left-to-right run), 'mark', 'rtl' or
    'other' (neutral, special)."""
    if not token:
        return "other"
    if unicodedata.category(token[0]).startswith("M"):
        return "mark"
    cls = strong_class(token[0])
    return "ltr" if cls in ("L", "D") else "rtl" if cls == "R" else "other"


class JointTracker:
    """CTC prefix states of the beam's rows (`start_joint`, then `gains` and `advance`
    once per step): `gains` scores candidates, `advance` keeps the chosen ones."""

    def __init__(self, scorer: CTCPrefixScorer, joint: JointCTC, image: Tensor,
                 reverse: Tensor | None) -> None:  # fmt: skip
        self.scorer, self.joint = scorer, joint
        self.state = scorer.start(image)  # everything before the pending segment
        h = image.shape[0]
        self.psi = torch.zeros(h, dtype=torch.float64, device=image.device)
        self.rev = [False] * h if reverse is None else reverse[image].tolist()
        self.pending: list[tuple[int, ...]] = [()] * h
        self.kind = [_segment_kind(t) for t in joint.tokens]
        v = scorer.logp.shape[-1]
        # what reversed frames may meet before a pending segment's first token: the
        # rest of a left-to-right run (letters, digits, number separators, marks; not
        # spaces, which would let a run swallow the space before it), or marks
        ltr = torch.tensor([k in ("ltr", "mark") or t in RUN_JOINERS
                            for k, t in zip(self.kind, joint.tokens, strict=True)],
                           dtype=torch.bool)  # fmt: skip
        marks = torch.tensor([k == "mark" for k in self.kind], dtype=torch.bool)
        pad = torch.zeros(max(v - len(self.kind), 0), dtype=torch.bool)
        self.gap_logs = {"ltr": scorer.class_logsum(torch.cat([ltr, pad])),
                         "cluster": scorer.class_logsum(torch.cat([marks, pad]))}  # fmt: skip
        stoi = {t: i for i, t in enumerate(joint.tokens) if t}
        tokens = joint.tokens

        @lru_cache(maxsize=65536)
        def frame_order(seg: tuple[int, ...], final: bool = True) -> tuple[int, ...]:
            """`seg` in reversed frame order: as the line goes on after it (`final`),
            or, for a left-to-right run not yet ended, as if the run went on (so a
            separator after a digit joins the number, a space after a letter the
            phrase)."""
            texts = [tokens[i] for i in seg]
            after = "\u0627"
            if not final and strong_class(texts[0][0]) in ("L", "D"):
                after = "0" if strong_class(texts[0][0]) == "D" else "a"
            order = reversed_frame_order(texts, after)
            return tuple(stoi.get(mirrored(tokens[seg[k]]), seg[k]) if m else seg[k]
                         for k, m in order)  # fmt: skip

        self.frame_order = frame_order

        # per class: a real token, a mark, a right-to-left letter, a run starter; and
        # the class the reversed frames meet for it alone (a bracket's mirror)
        def flags(test: Callable[[int], bool]) -> Tensor:
            return torch.tensor([test(i) for i in range(v)], dtype=torch.bool)

        self.attrs = {
            "real": flags(self._real),
            "mark": flags(lambda i: self._real(i) and self.kind[i] == "mark"),
            "rtl": flags(lambda i: self._real(i) and self.kind[i] == "rtl"),
            "ltr": flags(lambda i: self._real(i) and self.kind[i] == "ltr"),
        }
        self.single = torch.tensor([frame_order((i,))[0] if self._real(i) else i
                                    for i in range(v)])  # fmt: skip
        self._step: tuple[Tensor, Tensor, Extension, PrefixState, Tensor] | None = None

    def _real(self, tok: int) -> bool:
        return tok < len(self.kind) and bool(self.joint.tokens[tok])

    def _segment(self, seg: tuple[int, ...]) -> str:
        """'ltr' for a left-to-right run, else 'cluster'."""
        return "ltr" if self.kind[seg[0]] == "ltr" else "cluster"

    def gains(self, cand: Tensor) -> Tensor:
        """log psi(h + c) - log psi(h) for every row's candidates `cand` (H, K).
        Left-to-right rows: exact prefix scores. Right-to-left rows: a candidate that
        extends the pending segment scores the state before the segment, a gap, then
        the segment in reversed frame order; one that starts a new segment commits
        the pending one (exactly) and scores the same way with the new segment."""
        flushed = self._chain(self.state, [self.frame_order(p) if p else () for p in self.pending])
        ext = self.scorer.extend(flushed, cand)
        psi = ext.psi.clone()
        dev = cand.device
        rev = torch.tensor(self.rev, device=dev)
        cont = torch.zeros_like(cand, dtype=torch.bool)
        if bool(rev.any()):
            attr = {name: t.to(dev)[cand] for name, t in self.attrs.items()}  # (H, K) each
            # a token that starts a segment: the pending one committed, a gap, the token
            mapped = self.single.to(dev)[cand]
            by_gap = {g: self.scorer.extend(self.scorer.gap(flushed, self.gap_logs[g]), mapped).psi
                      for g in ("ltr", "cluster")}  # fmt: skip
            starts = torch.where(attr["ltr"], by_gap["ltr"], by_gap["cluster"])
            psi = torch.where(rev[:, None] & attr["real"], starts, psi)
            pending = torch.tensor([bool(p) for p in self.pending], device=dev)
            seg_ltr = torch.tensor([bool(p) and self.kind[p[0]] == "ltr" for p in self.pending],
                                   device=dev)  # fmt: skip
            cont = (
                (rev & pending)[:, None]
                & attr["real"]
                & (attr["mark"] | (seg_ltr[:, None] & ~attr["rtl"]))
            )
            orphan = (rev & ~pending)[:, None] & attr["mark"]
            psi = psi.masked_fill(orphan, FLOOR)  # no line starts with a mark
            items: list[tuple[int, int, str, tuple[int, ...]]] = []  # row, slot, gap, order
            for r, j in cont.nonzero().tolist():
                seg = (*self.pending[r], int(cand[r, j]))
                # the run may end here or go on: the likelier of the two orders
                for order in {self.frame_order(seg, False), self.frame_order(seg)}:
                    items.append((r, j, self._segment(seg), order))
            if items:
                scored = self._continued(items).tolist()
                best: dict[tuple[int, int], float] = {}
                for it, val in zip(items, scored, strict=True):
                    best[it[0], it[1]] = max(val, best.get((it[0], it[1]), FLOOR))
                rows = torch.tensor([r for r, _ in best], device=dev)
                cols = torch.tensor([j for _, j in best], device=dev)
                psi[rows, cols] = torch.tensor(list(best.values()), dtype=psi.dtype, device=dev)
        self._step = (cand, cont, ext, flushed, psi)
        return psi - self.psi[:, None]

    def _continued(self, items: list[tuple[int, int, str, tuple[int, ...]]]) -> Tensor:
        """Prefix scores of (row, slot, gap kind, order) items: the row's state before
        its pending segment, a gap of that kind, then the segment in that order."""
        rows = torch.tensor([it[0] for it in items], device=self.psi.device)
        start = self.state.select(rows)
        ltr = self.scorer.gap(start, self.gap_logs["ltr"])
        cluster = self.scorer.gap(start, self.gap_logs["cluster"])
        is_ltr = torch.tensor([it[2] == "ltr" for it in items], device=rows.device)
        return self._chain(_where(is_ltr, ltr, cluster), [it[3] for it in items]).psi

    def advance(self, rows: Tensor, slots: Tensor, tokens: Tensor) -> None:
        """Keep candidate `slots[i]` of row `rows[i]` (token `tokens[i]`) as row i."""
        assert self._step is not None, "gains() first"
        cand, cont, ext, flushed, psi = self._step
        taken = ext.take(flushed, rows, slots, cand[rows, slots])
        keep_cont = cont[rows, slots]
        new_pending: list[tuple[int, ...]] = []
        src: list[int] = []  # 0: extended by the token, 1: unchanged, 2: committed only
        for r, tok, c in zip(rows.tolist(), tokens.tolist(), keep_cont.tolist(), strict=True):
            if c:
                new_pending.append((*self.pending[r], tok))
                src.append(1)
            elif self.rev[r] and self._real(tok):
                new_pending.append((tok,))
                src.append(2)
            else:
                new_pending.append(())
                src.append(0)
        which = torch.tensor(src, device=rows.device)
        unchanged, committed = self.state.select(rows), flushed.select(rows)
        self.state = _where(which == 1, unchanged, _where(which == 2, committed, taken))
        self.psi = psi[rows, slots]
        self.pending = new_pending
        self.rev = [self.rev[r] for r in rows.tolist()]

    def _chain(self, state: PrefixState, seqs: Sequence[tuple[int, ...]]) -> PrefixState:
        """Each row of `state` extended by its token sequence (rows with none unchanged);
        position j extends only the rows whose sequence reaches it."""
        longest = max((len(s) for s in seqs), default=0)
        dev = state.psi.device
        for j in range(longest):
            live = [i for i, s in enumerate(seqs) if len(s) > j]
            rows = torch.tensor(live, device=dev)
            sub = state.select(rows)
            tok = torch.tensor([seqs[i][j] for i in live], device=dev)
            nxt = self.scorer.extend(sub, tok[:, None]).take(
                sub, torch.arange(len(live), device=dev), torch.zeros_like(tok), tok
            )
            state = _put(state, rows, nxt)
        return state


def _put(state: PrefixState, rows: Tensor, sub: PrefixState) -> PrefixState:
    """`state` with its rows `rows` replaced by `sub`'s."""
    if len(rows) == len(state.psi):  # every row (rows are increasing and distinct)
        return sub
    out = PrefixState(state.r_n.clone(), state.r_b.clone(), state.psi.clone(),
                      state.last.clone(), state.image)  # fmt: skip
    out.r_n[rows], out.r_b[rows], out.psi[rows], out.last[rows] = (
        sub.r_n,
        sub.r_b,
        sub.psi,
        sub.last,
    )
    return out


def _where(mask: Tensor, a: PrefixState, b: PrefixState) -> PrefixState:
    """Row-wise `a` where `mask` else `b`."""
    m = mask[:, None]
    return PrefixState(torch.where(m, a.r_n, b.r_n), torch.where(m, a.r_b, b.r_b),
                       torch.where(mask, a.psi, b.psi), torch.where(mask, a.last, b.last),
                       torch.where(mask, a.image, b.image))  # fmt: skip


def rtl_rows(logp: Tensor, tokens: Sequence[str]) -> Tensor | None:
    """(N,) bool: rows whose CTC greedy frames read a right-to-left line (see the module
    docstring); None when no token is a right-to-left letter."""
    rtl = [i for i, t in enumerate(tokens) if t and is_rtl_line(t)]
    if not rtl:
        return None
    ltr = [i for i, t in enumerate(tokens) if t and strong_class(t[0]) == "L"]
    best = logp.argmax(-1)
    n_rtl = torch.isin(best, torch.tensor(rtl, device=best.device)).sum(dim=1)
    n_ltr = torch.isin(best, torch.tensor(ltr, dtype=torch.long, device=best.device)).sum(dim=1)
    return (n_rtl > 0) & (4 * n_rtl >= n_ltr)


def start_joint(
    model: Img2Seq, images: Tensor, joint: JointCTC, eos: int, width: int
) -> tuple[Tensor, JointTracker, Tensor]:
    """The memory of `images`, a tracker over their CTC head's frames for `width` rows
    per image, and each row's CTC candidate tokens (H, `joint.candidates`)."""
    memory, ctc = model.encode_with_ctc(images)
    logp = ctc.float().log_softmax(-1)
    reverse = rtl_rows(logp, joint.tokens)
    scorer = CTCPrefixScorer(logp, joint.blank, eos, reverse)
    image = torch.arange(images.shape[0], device=images.device).repeat_interleave(width)
    return (
        memory,
        JointTracker(scorer, joint, image, reverse),
        scorer.candidates(joint.candidates)[image],
    )
