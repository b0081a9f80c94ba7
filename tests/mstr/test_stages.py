"""Each mSTR stage trains with the engine loop and overfits a tiny set on CPU:
mCLIP -> bank export -> Spotter -> Refiner (real top-k and simulated), then
inference from the checkpoints alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from strtool.data.lmdb_io import LmdbReader
from strtool.data.transforms import ResizeNormalize
from strtool.mstr.bank import export_bank, file_sha256, load_bank, load_mclip
from strtool.mstr.config import load_mstr_config
from strtool.mstr.infer import load_mstr, predict_images
from strtool.mstr.train import train_mstr

from .conftest import WORDS

COMMON = ["train.device=cpu", "train.threads=1", "train.log_every=10", "data.workers=0",
          "train.channels_last=false"]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {"root": tmp_path_factory.mktemp("runs")}


def test_mclip_overfits_and_exports_bank(char_lmdb: Path, runs: dict[str, Path]) -> None:
    out = runs["root"] / "mclip"
    cfg = load_mstr_config(None, COMMON + [
        "model.arch=mclip_tiny", "model.height=32", "model.width=32", "model.keep_ratio=false",
        f"data.train=[{char_lmdb}]", f"data.val=[{char_lmdb}]", "train.steps=80",
        "train.batch_size=20", "train.lr=3e-3", "train.val_every=80", "eval.metric=crr",
        "mstr.arcface_weight=0.5", "mstr.subtype_weight=0.2",
    ])  # fmt: skip
    res = train_mstr(cfg, out)
    assert res.step == 80 and res.last_val["accuracy"] >= 0.9, res.last_val
    bank, n = export_bank(out / "best.pt", "en")
    assert n == len(bank) > 100  # the whole en charset
    assert bank.meta["checkpoint_sha256"] == file_sha256(out / "best.pt")
    bank.save(runs["root"] / "bank.pt")
    runs["bank"] = runs["root"] / "bank.pt"
    # the crops are read by their nearest bank row, among all 110 rows of the bank
    bank = load_bank(runs["bank"])
    model = load_mclip(out / "best.pt")
    reader = LmdbReader(char_lmdb)
    tf = ResizeNormalize(32, 32, 3, keep_ratio=False)
    with torch.no_grad():
        img = model.encode_image(torch.stack([tf(reader.image(i)) for i in range(len(reader))]))
    rows = (img @ bank.embeddings.t()).argmax(1).tolist()
    hits = sum(bank.chars[r] == reader.label(i) for i, r in enumerate(rows))
    assert hits / len(reader) >= 0.8, [bank.chars[r] for r in rows]


def test_spotter_overfits(word_lmdb: Path, runs: dict[str, Path]) -> None:
    if "bank" not in runs:
        pytest.skip("needs the mCLIP bank")
    out = runs["root"] / "spotter"
    cfg = load_mstr_config(None, COMMON + [
        "model.arch=spotter_tiny", "model.options={dropout: 0.0}", f"mstr.bank={runs['bank']}",
        f"data.train=[{word_lmdb}]", "train.steps=250", "train.batch_size=16",
        "train.lr=3e-3", "train.val_every=1000", "train.weight_decay=0.0",
    ])  # fmt: skip
    train_mstr(cfg, out)
    runs["spotter"] = out / "last.pt"
    mm = load_mstr(out / "last.pt", "cpu")
    assert mm.refiner is None and len(mm.bank) > 100
    reader = LmdbReader(word_lmdb)
    preds = predict_images(mm, [reader.image(i) for i in range(len(reader))])
    hits = sum(p["spotter"] == reader.label(i) for i, p in enumerate(preds))
    assert hits / len(reader) >= 0.8, [p["spotter"] for p in preds]


@pytest.mark.parametrize("source", ["spotter", "simulate"])
def test_refiner_overfits(word_lmdb: Path, runs: dict[str, Path], source: str) -> None:
    if "spotter" not in runs:
        pytest.skip("needs the Spotter")
    out = runs["root"] / f"refiner-{source}"
    cfg = load_mstr_config(None, COMMON + [
        "model.arch=refiner_tiny", f"mstr.spotter={runs['spotter']}", f"mstr.source={source}",
        "mstr.topk=3", f"data.train=[{word_lmdb}]", "train.steps=150", "train.batch_size=16",
        "train.lr=2e-3", "train.val_every=1000", "data.max_len=8", "train.weight_decay=0.0",
    ])  # fmt: skip
    train_mstr(cfg, out)
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["task"] == "refiner" and ckpt["config"]["mstr"]["source"] == source
    mm = load_mstr(out / "last.pt", "cpu")
    reader = LmdbReader(word_lmdb)
    preds = predict_images(mm, [reader.image(i) for i in range(len(reader))])
    hits = sum(p["refined"] == reader.label(i) for i, p in enumerate(preds))
    assert hits / len(reader) >= 0.8, [p["refined"] for p in preds]
    assert set(WORDS) >= {reader.label(i) for i in range(len(reader))}


def test_one_three_or_all_languages_by_configuration(runs: dict[str, Path], tmp_path: Path) -> None:
    """`data.langs` alone selects 1, 3 or all languages of a multilingual LMDB; a
    language the bank lacks is a config error naming the key."""
    if "bank" not in runs:
        pytest.skip("needs the mCLIP checkpoint")
    from strtool.engine.distributed import init_distributed
    from strtool.errors import ConfigError
    from strtool.mstr.train import prepare_mstr_run
    from strtool.synth.words import synth_words

    words = tmp_path / "words"
    synth_words(words, 30, "en,ar,hi,ko", seed=0, workers=1)
    bank, _ = export_bank(runs["root"] / "mclip" / "best.pt", "en,ar,hi")
    bank.save(tmp_path / "bank.pt")
    base = COMMON + ["model.arch=spotter_tiny", f"mstr.bank={tmp_path / 'bank.pt'}",
                     f"data.train=[{words}]", "train.steps=2", "train.batch_size=4",
                     "train.val_every=1000", "data.max_len=40"]  # fmt: skip
    info = init_distributed("cpu")
    for i, (langs, want) in enumerate([
        ("[hi]", {"hi"}), ("[en, ar, hi]", {"en", "ar", "hi"}), ("[]", {"en", "ar", "hi"}),
    ]):  # fmt: skip
        cfg = load_mstr_config(None, base + [f"data.langs={langs}"])
        parts, task = prepare_mstr_run(cfg, tmp_path / f"run{i}", info, resume=False)
        got = set(parts.train_set.langs)
        if langs == "[]":
            # every language of the LMDB; Korean words have no bank rows and are dropped
            # with a count (Korean-tagged labels of digits or Latin are kept)
            assert got >= want and parts.train_set.report.removed["out_of_charset"] > 0
            assert all(c in bank.chars for i in range(len(parts.train_set))
                       for c in parts.train_set[i][1])  # fmt: skip
        else:
            assert got == want, (langs, got)
        res = train_mstr(cfg, tmp_path / f"trained{i}")
        assert res.step == 2
    with pytest.raises(ConfigError, match="data.langs: ko not in the bank"):
        cfg = load_mstr_config(None, base + ["data.langs=[hi, ko]"])
        prepare_mstr_run(cfg, tmp_path / "bad", info, resume=False)
