"""A simulator of Spotter errors, to train the Refiner without running it on real
Spotter outputs: it perturbs the ground truth the way a CTC Spotter errs and emits
top-k candidates and probabilities in the Spotter's format.

Per ground-truth character: deleted with `p_del`; else substituted with `p_sub` by one
of its `neighbours` nearest bank rows (cosine), in which case the true character stays
among the other candidates; after it, with `p_ins`, a neighbour is inserted. The
resulting characters are spread evenly over the T steps (blank elsewhere). A character
step's top-1 probability is U(0.35, 1), a blank step's U(0.7, 1); the remaining mass
goes to the other candidates in decreasing shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


class SpotterSimulator:
    """`simulate(rows, steps, k) -> (topk_idx (N,T,k), topk_p (N,T,k))`."""

    def __init__(
        self,
        bank: Tensor,
        p_sub: float = 0.1,
        p_ins: float = 0.03,
        p_del: float = 0.03,
        neighbours: int = 8,
        generator: torch.Generator | None = None,
    ) -> None:
        emb = torch.nn.functional.normalize(bank.float(), dim=-1)
        n = min(neighbours, max(emb.shape[0] - 1, 1))
        sim = emb @ emb.t()
        sim.fill_diagonal_(-2.0)
        self.nn = sim.topk(n, dim=1).indices  # (K, n) nearest other rows
        self.p_sub, self.p_ins, self.p_del = p_sub, p_ins, p_del
        self.g = generator or torch.Generator().manual_seed(0)

    def _rand(self) -> float:
        return float(torch.rand((), generator=self.g))

    def _neighbour(self, row: int) -> int:
        cand = self.nn[row]
        return int(cand[torch.randint(len(cand), (), generator=self.g)])

    def perturb(self, rows: Sequence[int]) -> list[tuple[int, int]]:
        """(predicted row, true row or -1 for an insertion) after the edits."""
        out: list[tuple[int, int]] = []
        for r in rows:
            if self._rand() < self.p_del:
                continue
            out.append((self._neighbour(r) if self._rand() < self.p_sub else r, r))
            if self._rand() < self.p_ins:
                out.append((self._neighbour(r), -1))
        return out

    def _candidates(self, pred: int, true: int, k: int) -> list[int]:
        """Spotter classes (row + 1) of one character step: pred first."""
        cands = [pred]
        if true >= 0 and true != pred:
            cands.append(true)
        cands += [int(x) for x in self.nn[pred] if int(x) not in cands]
        out = [c + 1 for c in cands[: k - 1]] + [0]  # blank is always a candidate
        return (out + [0] * k)[:k]

    def _probs(self, k: int, lo: float) -> Tensor:
        top = lo + (1 - lo) * self._rand()
        rest = torch.tensor([0.5**i for i in range(1, k)])
        rest = rest / rest.sum() * (1 - top) if k > 1 else rest
        return torch.cat([torch.tensor([top]), rest])

    def simulate(self, rows: Sequence[Sequence[int]], steps: int, k: int) -> tuple[Tensor, Tensor]:
        n = len(rows)
        idx = torch.zeros(n, steps, k, dtype=torch.long)
        prob = torch.zeros(n, steps, k)
        for i, seq in enumerate(rows):
            edits = self.perturb(seq)[:steps]
            at = {int((j + 0.5) * steps / len(edits)): e for j, e in enumerate(edits)}
            for t in range(steps):
                if t in at:
                    idx[i, t] = torch.tensor(self._candidates(at[t][0], at[t][1], k))
                    prob[i, t] = self._probs(k, 0.35)
                else:
                    filler = [self._neighbour(seq[0]) + 1 if seq else 1 for _ in range(k - 1)]
                    idx[i, t] = torch.tensor([0] + filler)
                    prob[i, t] = self._probs(k, 0.7)
        return idx, prob
