"""Spotter / Refiner shapes and contracts, decoding helpers and the error simulator."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from strtool.models import ModelSpec
from strtool.models.refiner import BOS, EOS, OFFSET, refiner_tiny
from strtool.models.spotter import spotter_tiny
from strtool.mstr.decode import ctc_greedy, ctc_targets, refiner_io, script_accuracy, topk
from strtool.mstr.simulate import SpotterSimulator

torch.set_num_threads(1)
BANK = F.normalize(torch.randn(12, 16, generator=torch.Generator().manual_seed(0)), dim=-1)


def test_spotter_shapes_levels_and_bank_swap() -> None:
    sp = spotter_tiny(ModelSpec(1, (32, 128), bank=BANK)).eval()
    out = sp.features(torch.randn(2, 1, 32, 128))
    assert out.logits.shape == (2, 32, 13) and out.steps.shape == (2, 32, 16)
    assert [f.shape[1:] for f in out.levels] == [(32, 8, 32), (64, 4, 32)]
    assert sp.level_channels == (32, 64)
    # logits are scaled cosines: bounded by the scale
    assert out.logits.abs().max() <= sp.scale() + 1e-4
    sp.set_bank(torch.randn(20, 16))
    assert sp(torch.randn(1, 1, 32, 128)).shape == (1, 32, 21)


def test_refiner_forward_and_generate() -> None:
    sp = spotter_tiny(ModelSpec(1, (32, 128), bank=BANK)).eval()
    ref = refiner_tiny(ModelSpec(bank=BANK, level_channels=sp.level_channels, max_len=6)).eval()
    out = sp.features(torch.randn(3, 1, 32, 128))
    idx, prob = topk(out.logits, 3)
    tgt_in, tgt = refiner_io([[1, 2], [3], []], 6)
    assert tgt_in[:, 0].eq(BOS).all() and tgt[0].tolist() == [1 + OFFSET, 2 + OFFSET, EOS]
    assert tgt[2].tolist() == [EOS, -100, -100]
    logits = ref(idx, prob, out.levels, tgt_in)
    assert logits.shape == (3, 3, OFFSET + 12)
    rows, conf = ref.generate(idx, prob, out.levels)
    assert len(rows) == 3 and all(len(r) <= 7 for r in rows) and all(0 <= c <= 1 for c in conf)
    assert all(0 <= r < 12 for seq in rows for r in seq)


def test_ctc_greedy_merges_repeats_and_drops_blanks() -> None:
    cls = torch.tensor([[0, 3, 3, 0, 3, 5, 0]])
    logits = F.one_hot(cls, 7).float() * 10
    rows, conf = ctc_greedy(logits)
    assert rows == [[2, 2, 4]] and 0.99 < conf[0] <= 1.0
    targets, lengths = ctc_targets([[2, 2, 4], [0]])
    assert targets.tolist() == [3, 3, 5, 1] and lengths.tolist() == [3, 1]


def test_simulator_rates_and_format() -> None:
    sim = SpotterSimulator(BANK, p_sub=0.0, p_ins=0.0, p_del=0.0, neighbours=4)
    idx, prob = sim.simulate([[1, 2, 3], [4]], steps=16, k=3)
    assert idx.shape == prob.shape == (2, 16, 3)
    assert torch.allclose(prob.sum(-1), torch.ones(2, 16), atol=1e-5)
    rows, _ = ctc_greedy(torch.zeros(2, 16, 13).scatter(2, idx[..., :1], 10.0))
    assert rows == [[1, 2, 3], [4]]  # no errors at rate 0: top-1 reads the truth
    noisy = SpotterSimulator(BANK, p_sub=1.0, p_ins=0.0, p_del=0.0, neighbours=4)
    edits = noisy.perturb([1, 2, 3])
    assert [t for _, t in edits] == [1, 2, 3] and all(p != t for p, t in edits)
    assert all(p in noisy.nn[t].tolist() for p, t in edits)
    gone = SpotterSimulator(BANK, p_sub=0.0, p_ins=0.0, p_del=1.0).perturb([1, 2])
    assert gone == []


def test_script_accuracy() -> None:
    acc = script_accuracy(["abc", "كتب", "abc", "??"], ["en", "ar", "hi", "und"])
    assert acc["n"] == 3 and acc["accuracy"] == 2 / 3
