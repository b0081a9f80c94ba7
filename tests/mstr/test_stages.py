"""Each mSTR stage trains with the one engine loop and overfits a tiny set on CPU:
mCLIP -> bank export -> Spotter -> Refiner (real top-k and simulated), then reading
from the checkpoints alone through the one reader. Stages chain through fixtures, so a
broken stage fails the tests after it instead of skipping them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from strtool.data.lmdb_io import LmdbReader
from strtool.data.transforms import ResizeNormalize
from strtool.engine.config import load_run_config
from strtool.engine.distributed import init_distributed
from strtool.engine.loop import TrainResult, train
from strtool.engine.reader import open_reader
from strtool.engine.setup import prepare_run
from strtool.errors import ConfigError
from strtool.mstr.bank import export_bank, file_sha256, load_bank, load_mclip

from .conftest import WORDS

pytestmark = pytest.mark.slow  # every stage trains a model (mCLIP, Spotter, Refiner)

COMMON = ["train.device=cpu", "train.threads=1", "train.log_every=10", "data.workers=0",
          "train.channels_last=false"]  # fmt: skip


def read_all(ckpt: Path, lmdb: Path) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Texts of every image of `lmdb` read by `ckpt`, the labels, and alternatives."""
    rec = open_reader(ckpt, "cpu")
    reader = LmdbReader(lmdb)
    from strtool.data.decode import decode_image

    arrays = [decode_image(reader.image(i), rec.config.model.channels) for i in range(len(reader))]
    reading = rec.read_arrays(arrays)
    alts = {k: v[0] for k, v in reading.alternatives.items()}
    return reading.texts, [reader.label(i) for i in range(len(reader))], alts


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def mclip_run(char_lmdb: Path, root: Path) -> tuple[Path, TrainResult]:
    out = root / "mclip"
    cfg = load_run_config(None, COMMON + [
        "model.arch=mclip_tiny", "model.height=32", "model.width=32", "model.keep_ratio=false",
        f"data.train=[{char_lmdb}]", f"data.val=[{char_lmdb}]", "train.steps=80",
        "train.batch_size=20", "train.lr=3e-3", "train.val_every=80", "eval.metric=crr",
        "mstr.arcface_weight=0.5", "mstr.subtype_weight=0.2",
    ])  # fmt: skip
    return out, train(cfg, out)


@pytest.fixture(scope="module")
def bank_file(mclip_run: tuple[Path, TrainResult], root: Path) -> Path:
    bank, _ = export_bank(mclip_run[0] / "best.pt", "en")
    return bank.save(root / "bank.pt")[0]


@pytest.fixture(scope="module")
def spotter_ckpt(word_lmdb: Path, bank_file: Path, root: Path) -> Path:
    out = root / "spotter"
    cfg = load_run_config(None, COMMON + [
        "model.arch=spotter_tiny", "model.options={dropout: 0.0}", f"mstr.bank={bank_file}",
        f"data.train=[{word_lmdb}]", "train.steps=250", "train.batch_size=16",
        "train.lr=3e-3", "train.val_every=1000", "train.weight_decay=0.0",
    ])  # fmt: skip
    train(cfg, out)
    return out / "last.pt"


def test_mclip_overfits_and_exports_bank(
    char_lmdb: Path, mclip_run: tuple[Path, TrainResult], bank_file: Path
) -> None:
    out, res = mclip_run
    assert res.step == 80 and res.last_val["accuracy"] >= 0.9, res.last_val
    ckpt = torch.load(out / "best.pt", weights_only=False)
    assert ckpt["family"] == "mclip" and ckpt["prompt_tokens"][:3] == ["<pad>", "<cls>", "<lang=?>"]
    bank = load_bank(bank_file)
    assert len(bank) > 100  # the whole en charset
    assert bank.meta["checkpoint_sha256"] == file_sha256(out / "best.pt")
    # the crops are read by their nearest bank row, among all rows of the bank
    model = load_mclip(out / "best.pt")
    reader = LmdbReader(char_lmdb)
    tf = ResizeNormalize(32, 32, 3, keep_ratio=False)
    with torch.no_grad():
        img = model.encode_image(torch.stack([tf(reader.image(i)) for i in range(len(reader))]))
    rows = (img @ bank.embeddings.t()).argmax(1).tolist()
    hits = sum(bank.chars[r] == reader.label(i) for i, r in enumerate(rows))
    assert hits / len(reader) >= 0.8, [bank.chars[r] for r in rows]


def test_mclip_reads_no_text_and_says_so(mclip_run: tuple[Path, TrainResult]) -> None:
    from strtool.errors import InputError

    rec = open_reader(mclip_run[0] / "best.pt", "cpu")
    with pytest.raises(InputError, match="mclip checkpoint reads no text"):
        rec.read(torch.zeros(1, 3, 32, 32))


def test_spotter_overfits(word_lmdb: Path, spotter_ckpt: Path) -> None:
    rec = open_reader(spotter_ckpt, "cpu")
    assert rec.family == "spotter" and len(rec.task.bank) > 100  # type: ignore[attr-defined]
    preds, labels, alts = read_all(spotter_ckpt, word_lmdb)
    assert alts == {}
    hits = sum(p == g for p, g in zip(preds, labels, strict=True))
    assert hits / len(labels) >= 0.8, preds


def refiner_run(word_lmdb: Path, spotter_ckpt: Path, root: Path, source: str) -> Path:
    """The Refiner of `source` trained on the words (once per module); its run folder."""
    out = root / f"refiner-{source}"
    if (out / "last.pt").is_file():
        return out
    cfg = load_run_config(None, COMMON + [
        "model.arch=refiner_tiny", f"mstr.spotter={spotter_ckpt}", f"mstr.source={source}",
        "mstr.topk=3", f"data.train=[{word_lmdb}]", "train.steps=150", "train.batch_size=16",
        "train.lr=2e-3", "train.val_every=1000", "data.max_len=8", "train.weight_decay=0.0",
    ])  # fmt: skip
    train(cfg, out)
    return out


@pytest.mark.parametrize("source", ["spotter", "simulate"])
def test_refiner_overfits(word_lmdb: Path, spotter_ckpt: Path, root: Path, source: str) -> None:
    out = refiner_run(word_lmdb, spotter_ckpt, root, source)
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["family"] == "refiner" and ckpt["config"]["mstr"]["source"] == source
    preds, labels, alts = read_all(out / "last.pt", word_lmdb)
    hits = sum(p == g for p, g in zip(preds, labels, strict=True))
    assert hits / len(labels) >= 0.8, preds
    assert len(alts["spotter"]) == len(labels)  # the Spotter's own reading comes along
    assert set(WORDS) >= set(labels)


@pytest.mark.parametrize("method", ["consistency", "pseudo"])
def test_refiner_semi_supervised(
    word_lmdb: Path, spotter_ckpt: Path, root: Path, tmp_path: Path, method: str
) -> None:
    """The Refiner learns from unlabeled crops too, from a supervised Refiner (`--init`):
    the frozen Spotter reads both views, the teacher Refiner the weak one; its readings
    are per-token targets."""
    import json

    init = refiner_run(word_lmdb, spotter_ckpt, root, "spotter") / "last.pt"
    cfg = load_run_config(None, COMMON + [
        "model.arch=refiner_tiny", f"mstr.spotter={spotter_ckpt}", "mstr.topk=3",
        f"data.train=[{word_lmdb}]", f"data.unlabeled=[{word_lmdb}]",
        "data.unlabeled_ratio=0.5", f"semi.method={method}", "semi.threshold=0.0",
        "semi.pseudo_threshold=0.0", "semi.rampup=2", "semi.refresh_every=2",
        "semi.ema_decay=0.9", "train.steps=4", "train.batch_size=8", "data.max_len=8",
        "train.ckpt_every=2", "train.log_every=1", "train.lr=1e-4",
    ])  # fmt: skip
    train(cfg, tmp_path / "run", init=init)
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert ckpt["family"] == "refiner" and ckpt["semi"]["method"] == method
    assert set(ckpt["semi"]["teacher"]) == set(ckpt["model"]) and ckpt["semi"]["drawn"] == 16
    logs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    kept = [r["semi_kept"] for r in logs if r["kind"] == "train"]
    assert len(kept) == 4 and all(0 <= k <= 1 for k in kept), kept
    # threshold 0: every position (or crop) of the readings that ended is learned
    assert min(kept) > 0.5, kept
    # the checkpoint still reads through the one reader
    preds, labels, _ = read_all(tmp_path / "run" / "last.pt", word_lmdb)
    assert len(preds) == len(labels)


def test_one_three_or_all_languages_by_configuration(
    mclip_run: tuple[Path, TrainResult], tmp_path: Path
) -> None:
    """`data.langs` alone selects 1, 3 or all languages of a multilingual LMDB; a
    language the bank lacks is a config error naming the key."""
    from strtool.synth.words import synth_words

    words = tmp_path / "words"
    synth_words(words, 30, "en,ar,hi,ko", seed=0, workers=1)
    bank, _ = export_bank(mclip_run[0] / "best.pt", "en,ar,hi")
    bank.save(tmp_path / "bank.pt")
    base = COMMON + ["model.arch=spotter_tiny", f"mstr.bank={tmp_path / 'bank.pt'}",
                     f"data.train=[{words}]", "train.steps=2", "train.batch_size=4",
                     "train.val_every=1000", "data.max_len=40"]  # fmt: skip
    info = init_distributed("cpu")
    for i, (langs, want) in enumerate([
        ("[hi]", {"hi"}), ("[en, ar, hi]", {"en", "ar", "hi"}), ("[]", {"en", "ar", "hi"}),
    ]):  # fmt: skip
        cfg = load_run_config(None, base + [f"data.langs={langs}"])
        parts = prepare_run(cfg, tmp_path / f"run{i}", info, resume=False, init=None)
        got = set(parts.train_set.langs)
        if langs == "[]":
            # every language of the LMDB; Korean words have no bank rows and are dropped
            # with a count (Korean-tagged labels of digits or Latin are kept)
            assert got >= want and parts.train_set.report.removed["out_of_charset"] > 0
            assert all(c in bank.chars for i in range(len(parts.train_set))
                       for c in parts.train_set[i][1])  # fmt: skip
        else:
            assert got == want, (langs, got)
        res = train(cfg, tmp_path / f"trained{i}")
        assert res.step == 2
    with pytest.raises(ConfigError, match="data.langs: ko not in the bank"):
        cfg = load_run_config(None, base + ["data.langs=[hi, ko]"])
        prepare_run(cfg, tmp_path / "bad", info, resume=False, init=None)
