"""Autoregressive decoding of an `Img2Seq` model: greedy and beam search.

Both encode the images once, compute every layer's cross-attention keys/values once,
and feed one token per step with the self-attention key/value cache (`cache=True`),
so step t costs O(t) attention instead of re-running the whole prefix (`cache=False`,
kept for tests and measurements: the same result, quadratically slower).

Results are token rows without BOS and EOS, with the probability of every chosen
token (the EOS's last when the row ended by itself): `Decoded(ids, probs, ended)`.
`forbid` lists token ids never emitted (PAD, BOS). The length limit `max_len` counts
tokens before EOS; a row that reaches it without an EOS is cut there (`ended=False`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from strtool.models.img2seq import KV, Img2Seq
from strtool.models.joint_ctc import JointCTC, JointTracker, start_joint


@dataclass
class Decoded:
    """One decoded row: token ids (no BOS/EOS), the probability of each emitted token
    (+ the EOS's when `ended`), and whether the row ended with EOS."""

    ids: list[int]
    probs: list[float]
    ended: bool


def _step(
    model: Img2Seq, history: Tensor, memory_kv: list[KV], caches: list[KV] | None, cache: bool
) -> tuple[Tensor, list[KV] | None]:
    """Log-probabilities (N, V) of the next token after `history` (N, t)."""
    if cache:
        logits, caches = model.decode(history[:, -1:], memory_kv, caches)
    else:
        logits, _ = model.decode(history, memory_kv)
    return logits[:, -1].float().log_softmax(-1), caches


def _forbid(logp: Tensor, forbid: Sequence[int]) -> Tensor:
    if forbid:
        logp[:, list(forbid)] = float("-inf")
    return logp


@torch.no_grad()
def greedy(
    model: Img2Seq,
    images: Tensor,
    bos: int,
    eos: int,
    max_len: int,
    forbid: Sequence[int] = (),
    cache: bool = True,
) -> list[Decoded]:
    """Greedy decoding of a batch of images (N, C, H, W). Rows that have ended leave
    the batch (with their memory and cache), so a batch costs its longest row's
    steps over the rows still decoding only."""
    memory_kv = model.memory_kv(model.encode(images))
    n = images.shape[0]
    history = torch.full((n, 1), bos, dtype=torch.long, device=images.device)
    alive = list(range(n))  # batch index of each row still decoding
    ids: list[list[int]] = [[] for _ in range(n)]
    probs: list[list[float]] = [[] for _ in range(n)]
    ended = [False] * n
    caches: list[KV] | None = None
    for _ in range(max_len):
        logp, caches = _step(model, history, memory_kv, caches, cache)
        lp, nxt = _forbid(logp, forbid).max(-1)
        for r, t, p in zip(alive, nxt.tolist(), lp.exp().tolist(), strict=True):
            probs[r].append(p)
            if t == eos:
                ended[r] = True
            else:
                ids[r].append(t)
        keep = nxt != eos
        if not bool(keep.any()):
            break
        if not bool(keep.all()):
            alive = [r for r, k in zip(alive, keep.tolist(), strict=True) if k]
            history, nxt = history[keep], nxt[keep]
            memory_kv = [(k[keep], v[keep]) for k, v in memory_kv]
            if caches is not None:
                caches = [(k[keep], v[keep]) for k, v in caches]
        history = torch.cat([history, nxt[:, None]], dim=1)
    return [Decoded(ids[r], probs[r], ended[r]) for r in range(n)]


@dataclass
class _Hyp:
    score: float
    ids: list[int]
    probs: list[float]


def _normalised(score: float, length: int, penalty: float) -> float:
    return score / (max(length, 1) ** penalty) if penalty else score


@torch.no_grad()
def beam_search(
    model: Img2Seq,
    images: Tensor,
    bos: int,
    eos: int,
    max_len: int,
    width: int = 4,
    forbid: Sequence[int] = (),
    length_penalty: float = 0.0,
    cache: bool = True,
    joint: JointCTC | None = None,
) -> list[Decoded]:
    """Beam search with `width` beams per image, batched over images and beams (the
    caches are reordered by the surviving beams each step). A hypothesis ends at EOS;
    an image is done when it has `width` ended hypotheses, or (no length penalty) when
    its best ended score beats every live beam. The best ended hypothesis wins by
    `score / length ** length_penalty`; without any, the best live one (cut at
    `max_len`). `width=1` gives exactly the greedy result. With `joint` the score is
    the joint CTC/attention score (`JointCTC`) and each token's probability is
    exp(its score increment), the weighted geometric mean of the two models' (at
    most 1)."""
    n, b = images.shape[0], width
    dev = images.device
    tracker: JointTracker | None = None
    if joint is not None:
        memory, tracker, seen = start_joint(model, images, joint, eos, b)
        ends = torch.full((n * b, 1), eos, dtype=torch.long, device=dev)
    else:
        memory = model.encode(images)
    memory_kv = [
        (k.repeat_interleave(b, 0), v.repeat_interleave(b, 0)) for k, v in model.memory_kv(memory)
    ]
    history = torch.full((n * b, 1), bos, dtype=torch.long, device=dev)
    scores = torch.full((n, b), float("-inf"), device=dev)
    scores[:, 0] = 0.0
    probs = torch.zeros((n * b, 0), device=dev)
    ended: list[list[_Hyp]] = [[] for _ in range(n)]
    done = [False] * n
    caches: list[KV] | None = None
    for _ in range(max_len):
        logp, caches = _step(model, history, memory_kv, caches, cache)
        logp = _forbid(logp, forbid)
        v = logp.shape[-1]
        if tracker is not None and joint is not None:
            own = logp.topk(min(v, max(4, 2 * b)), dim=1).indices
            cand = torch.cat([own, seen, ends], dim=1)
            att = logp.gather(1, cand)
            gain = (1 - joint.weight) * att + joint.weight * tracker.gains(cand).float()
            gain = torch.where(torch.isinf(att), float("-inf"), gain)
            logp = torch.full_like(logp, float("-inf")).scatter_(1, cand, gain)
        # a token's probability for the confidence (a right-to-left line's CTC share
        # can rise when a pending segment fits better: capped at 1)
        plog = logp.clamp(max=0.0)
        total = (scores.view(-1, 1) + logp).view(n, b * v)
        top, where = total.topk(min(2 * b, b * v), dim=1)
        keep_beam, keep_tok, keep_score = [], [], []
        for i in range(n):
            picked: list[tuple[int, int, float]] = []
            for s, w in zip(top[i].tolist(), where[i].tolist(), strict=True):
                if len(picked) == b or s == float("-inf"):
                    break
                beam, tok = divmod(w, v)
                if tok == eos:
                    if not done[i]:
                        row = i * b + beam
                        p = probs[row].tolist() + [float(plog[row, tok].exp())]
                        ended[i].append(_Hyp(s, history[row, 1:].tolist(), p))
                    continue
                picked.append((beam, tok, s))
            while len(picked) < b:  # fewer live candidates than beams: dead fillers
                picked.append((0, eos, float("-inf")))
            for beam, tok, s in picked:
                keep_beam.append(i * b + beam)
                keep_tok.append(tok)
                keep_score.append(s)
            done[i] = done[i] or _finished(ended[i], picked[0][2], b, length_penalty)
        rows = torch.tensor(keep_beam, device=dev)
        toks = torch.tensor(keep_tok, device=dev)
        tok_p = plog[rows, toks].exp()
        scores = torch.tensor(keep_score, device=dev).view(n, b)
        history = torch.cat([history[rows], toks[:, None]], dim=1)
        probs = torch.cat([probs[rows], tok_p[:, None]], dim=1)
        if caches is not None:
            caches = [(k[rows], val[rows]) for k, val in caches]
        if tracker is not None:
            slots = (cand[rows] == toks[:, None]).int().argmax(dim=1)
            tracker.advance(rows, slots, toks)
        if all(done):
            break
    return [_best(ended[i], history, probs, scores, i, b, length_penalty) for i in range(n)]


def _finished(ended: list[_Hyp], best_live: float, width: int, penalty: float) -> bool:
    if len(ended) >= width:
        return True
    if not ended or penalty:
        return False
    return max(h.score for h in ended) >= best_live


def _best(
    ended: list[_Hyp], history: Tensor, probs: Tensor, scores: Tensor, i: int, b: int,
    penalty: float,
) -> Decoded:  # fmt: skip
    if ended:
        h = max(ended, key=lambda h: _normalised(h.score, len(h.ids) + 1, penalty))
        return Decoded(h.ids, h.probs, True)
    row = i * b + int(scores[i].argmax())
    return Decoded(history[row, 1:].tolist(), probs[row].tolist(), False)
