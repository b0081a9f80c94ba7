"""CTC prefix scores for joint CTC/attention decoding (Watanabe et al. 2017, "Hybrid
CTC/Attention Architecture for End-to-End Speech Recognition").

An attention decoder proposes the next token; a CTC head over the same encoder says
how likely the whole prefix is under a monotonic alignment to the image's columns.
The prefix score of h is psi(h) = P(the collapsed CTC reading starts with h), and for a
finished hypothesis (EOS) P(the reading equals h). Beam search then ranks hypotheses by
(1 - lambda) * log P_att(h) + lambda * log psi(h); psi never grows when h is extended,
so the search's early stop stays valid.

Per hypothesis g the scorer keeps, for every frame t, the log probabilities that the
frames 0..t read g and end in a non-blank (r_n) or in a blank (r_b). Extending g by c:

    phi[t]  = r_n[t] + r_b[t]   (only r_b[t] when c repeats g's last token)
    a[t]    = (a[t-1] + phi[t-1]) * y_c[t]        a[0] = y_c[0] if g is empty else 0
    b[t]    = (a[t-1] + b[t-1]) * y_blank[t]      b[0] = 0
    psi(hc) = a[0] + sum_t phi[t-1] * y_c[t]

Both recursions are linear, so they are solved without a loop over frames: with
C[t] = sum_{u<=t} log y_c[u], log a[t] = C[t] + log(a0 + sum_{s<t} exp(log phi[s] - C[s])),
an exclusive `logcumsumexp` (likewise b with the blank's cumulative log). psi needs
neither scan, so a step scores every candidate of every hypothesis with a few tensor
operations over (hypotheses, candidates, frames) and runs the scans only for the
extensions the search keeps (`Extension.take`); all in float64 so that cumulative logs
of hundreds of frames keep their precision. No -inf ever enters
(`FLOOR`), so no NaN can either.

Right-to-left lines: the CTC head reads the columns left to right, so it is trained on
labels in visual order (`strtool.text.bidi`), while the decoder writes logical order.
A logical prefix of a right-to-left line is a suffix of its visual reading, which is a
prefix of the time-reversed frames: rows flagged `reverse` are scored on their frames
reversed. This is exact for lines of right-to-left letters, spaces and punctuation; a
left-to-right run inside them (digits, Latin) and a mark after its letter read in the
opposite order there, so on such spans the CTC score disagrees with the right reading
and the decoder's share (1 - lambda) has to carry it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

FLOOR = -1e9  # "log 0" that stays finite: exp underflows to 0, differences stay finite
EMPTY = -1  # `PrefixState.last` of the empty prefix


def _exclusive_logcumsumexp(x: Tensor) -> Tensor:
    """log sum_{s<t} exp(x[..., s]) along the last axis (FLOOR at t = 0)."""
    inc = torch.logcumsumexp(x, dim=-1)
    return torch.cat([torch.full_like(inc[..., :1], FLOOR), inc[..., :-1]], dim=-1)


@dataclass
class PrefixState:
    """CTC state of H hypotheses: r_n, r_b (H, T) float64, psi (H,) log prefix score,
    last (H,) last token (EMPTY for the empty prefix), image (H,) index of each
    row's image."""

    r_n: Tensor
    r_b: Tensor
    psi: Tensor
    last: Tensor
    image: Tensor

    def select(self, rows: Tensor) -> PrefixState:
        """The states of `rows` (a reordering of the hypotheses, e.g. surviving beams)."""
        return PrefixState(self.r_n[rows], self.r_b[rows], self.psi[rows], self.last[rows],
                           self.image[rows])  # fmt: skip


@dataclass
class Extension:
    """Prefix scores (H, K) of every candidate; the states they would start are solved
    only for the extensions the search keeps (`take`): the scores need no recursion
    over frames, the states two scans each, so a step costs scans for the kept
    hypotheses, not for every candidate of every hypothesis."""

    psi: Tensor  # (H, K)
    x: Tensor  # (H, K, T) log y_c[t] of each candidate
    phi: Tensor  # (H, K, T) what may precede the candidate's first frame
    a0: Tensor  # (H,) log a[-1]: 0 for the empty prefix, else FLOOR
    blank_cum: Tensor  # (H, T) cumulative log blank of each hypothesis's image

    def take(self, state: PrefixState, rows: Tensor, slots: Tensor, tokens: Tensor) -> PrefixState:
        """The state after extending hypothesis `rows[i]` by its candidate `slots[i]`
        (token `tokens[i]`)."""
        x, phi = self.x[rows, slots], self.phi[rows, slots]  # (M, T)
        cum = x.cumsum(-1)
        a0 = self.a0[rows][:, None].expand_as(cum)
        r_n = cum + torch.logaddexp(a0, _exclusive_logcumsumexp(phi - cum))
        lb = self.blank_cum[rows]
        r_b = lb + _exclusive_logcumsumexp(r_n - lb)
        return PrefixState(r_n.clamp_min(FLOOR), r_b.clamp_min(FLOOR), self.psi[rows, slots],
                           tokens, state.image[rows])  # fmt: skip


class CTCPrefixScorer:
    """Prefix scores under the CTC log-probabilities `logp` (N, T, V) of N images.
    `blank` is the CTC blank's class; `reverse` (N,) bool flags rows whose frames are
    scored right to left (see the module docstring); `eos` the end token."""

    def __init__(self, logp: Tensor, blank: int, eos: int, reverse: Tensor | None = None) -> None:
        if reverse is not None and bool(reverse.any()):
            logp = torch.where(reverse[:, None, None], logp.flip(1), logp)
        self.logp = logp.float()  # (N, T, V); float64 only for the gathered candidates
        self.blank, self.eos = blank, eos
        self.blank_lp = self.logp[:, :, blank].double().clamp_min(FLOOR)  # (N, T)
        self.blank_cum = self.blank_lp.cumsum(-1)

    @property
    def frames(self) -> int:
        return self.logp.shape[1]

    def start(self, image: Tensor) -> PrefixState:
        """Empty prefixes, one per row; `image` (H,) gives each row's image."""
        h, t = image.shape[0], self.frames
        dev = self.logp.device
        r_n = torch.full((h, t), FLOOR, dtype=torch.float64, device=dev)
        r_b = self.blank_cum[image].clone()
        last = torch.full((h,), EMPTY, dtype=torch.long, device=dev)
        return PrefixState(r_n, r_b, torch.zeros(h, dtype=torch.float64, device=dev), last, image)

    def extend(self, state: PrefixState, cand: Tensor) -> Extension:
        """Prefix scores of every hypothesis extended by each of its candidates `cand`
        (H, K) token ids; EOS scores the finished reading."""
        x = self.logp[state.image[:, None], :, cand].double().clamp_min(FLOOR)  # (H, K, T)
        both = torch.logaddexp(state.r_n, state.r_b)[:, None, :]
        phi = torch.where((cand == state.last[:, None])[..., None], state.r_b[:, None, :], both)
        a0 = torch.where(state.last == EMPTY, 0.0, FLOOR).to(x.dtype)  # (H,)
        # a[0], the candidate read at frame 0 (what `take` computes as r_n[0])
        first = x[..., :1] + torch.logaddexp(a0, torch.full_like(a0, FLOOR))[:, None, None]
        psi = torch.logsumexp(torch.cat([first, phi[..., :-1] + x[..., 1:]], dim=-1), dim=-1)
        final = both[:, 0, -1]  # P(reading == g): g ends at the last frame
        psi = torch.where(cand == self.eos, final[:, None], psi).clamp_min(FLOOR)
        return Extension(psi, x, phi, a0, self.blank_cum[state.image])

    def class_logsum(self, classes: Tensor) -> Tensor:
        """(N, T) log P(frame t is one of `classes` (V,) bool; the blank never)."""
        keep = classes.clone().to(self.logp.device)
        keep[self.blank] = False
        if not bool(keep.any()):
            return torch.full(self.logp.shape[:2], FLOOR, dtype=torch.float64, device=keep.device)
        return torch.logsumexp(self.logp[:, :, keep], dim=-1).double().clamp_min(FLOOR)

    def gap(self, state: PrefixState, gap_logs: Tensor) -> PrefixState:
        """`state`'s prefix followed by a gap: any number of frames that read the
        classes of `gap_logs` (`class_logsum`) or the blank, at least one of them a
        gap class. The gap's probability E (frames 0..t read the prefix, then a
        non-empty gap) follows E[t] = E[t-1] w[t] + C[t-1] s[t] (C: the prefix read by
        frame t, s: a gap class at t, w: s or the blank), solved like the extension;
        it joins r_b, so a token after the gap may repeat the prefix's last one. It
        scores text that the frames meet only after tokens still to come
        (`strtool.models.joint_ctc`). Tokens of the gap that repeat the prefix's
        last token are not merged with it (a small overcount)."""
        ls = gap_logs[state.image]  # (H, T)
        lw = torch.logaddexp(ls, self.blank_lp[state.image])
        cum = lw.cumsum(-1)
        ends = torch.logaddexp(state.r_n, state.r_b)
        start = torch.where(state.last == EMPTY, 0.0, FLOOR)[:, None]  # before frame 0
        before = torch.cat([start, ends[:, :-1]], dim=-1)
        gap = cum + torch.logcumsumexp(before + ls - cum, dim=-1)
        r_b = torch.logaddexp(state.r_b, gap).clamp(FLOOR, 0.0)
        return PrefixState(state.r_n, r_b, state.psi, state.last, state.image)

    def candidates(self, k: int, floor: float = 1e-3) -> Tensor:
        """(N, k') tokens each image's CTC reading may hold: those whose best frame
        probability reaches `floor`, most probable first (the blank excluded), at most
        `k`; k' is the most any image has (at least 1), and rows with fewer repeat
        their best. Beam search adds them to the decoder's own proposals, so a weak
        decoder cannot hide a token the CTC head sees."""
        best = self.logp.max(dim=1).values.clone()  # (N, V)
        best[:, self.blank] = FLOOR
        seen = best >= math.log(floor)
        k = max(1, min(k, int(seen.sum(dim=1).max())))
        val, idx = best.topk(k, dim=1)
        return torch.where(val >= math.log(floor), idx, idx[:, :1])
