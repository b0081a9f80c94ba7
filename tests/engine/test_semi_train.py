"""Semi-supervised training runs: every method trains a tiny CRNN with unlabeled
crops, the unlabeled loader never feeds the supervised loss, a killed run resumes
bit-identically (student, EMA teacher, projection head), runs start from `--init`,
and config mistakes are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from strtool.data.unlabeled import make_unlabeled_lmdb
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import load_run_config
from strtool.engine.loop import train
from strtool.errors import ConfigError
from strtool.text.tokenizer import CTCTokenizer

from .conftest import WORDS, Kill, killer, make_lmdb, render

#: Labels of an LMDB used as unlabeled data: none of them may reach a CTC loss.
SECRET = ["zq", "qz", "zzq", "qqz"] * 4


@pytest.fixture(scope="module")
def unlabeled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A labeled LMDB whose labels must stay unread, and an unlabeled LMDB."""
    root = tmp_path_factory.mktemp("unl")
    folder = root / "crops"
    folder.mkdir()
    for i, w in enumerate(WORDS[:16]):
        (folder / f"{i:02d}.png").write_bytes(render(w[::-1]))
    return {
        "secret": make_lmdb(root / "secret", SECRET),
        "bare": make_unlabeled_lmdb(folder, root / "bare").output,
    }


def _cfg(db: Path, unl: list[Path], method: str, *extra: str):
    base = [f"data.train=[{db}]", f"data.unlabeled=[{','.join(map(str, unl))}]",
            "data.workers=0", "model.arch=crnn_tiny", "train.threads=2", "train.batch_size=8",
            "train.log_every=1", "train.val_every=1000", f"semi.method={method}",
            "semi.rampup=4", "semi.threshold=0.2", "semi.ema_decay=0.9",
            "semi.pseudo_threshold=0.0", "semi.refresh_every=2",
            "data.unlabeled_ratio=0.5"]  # fmt: skip
    return load_run_config(None, base + list(extra))


@pytest.mark.parametrize("method", ["consistency", "contrastive"])
def test_unlabeled_loader_never_feeds_the_supervised_loss(
    method: str, tiny_lmdb: Path, unlabeled: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    seen: list[str] = []
    encode = CTCTokenizer.encode

    def spy(self: CTCTokenizer, labels: list[str]):  # type: ignore[no-untyped-def]
        seen.extend(labels)
        return encode(self, labels)

    monkeypatch.setattr(CTCTokenizer, "encode", spy)
    rows = _count_student_rows(monkeypatch)
    cfg = _cfg(tiny_lmdb, [unlabeled["secret"], unlabeled["bare"]], method, "train.steps=3",
               f"data.val=[{tiny_lmdb}]")  # fmt: skip
    result = train(cfg, tmp_path / "run")
    assert len(seen) == 3 * 8  # the labeled batches, and nothing else
    # one student forward per step: 8 labeled + 4 unlabeled crops in 1 (or 2) views
    assert rows == [8 + 4 * (2 if method == "contrastive" else 1)] * 3
    assert set(seen) <= set(WORDS) and not set(seen) & set(SECRET)
    rep = result.data_report["unlabeled"]
    assert rep == {"crops": 32, "per_batch": 4, "drawn": 12, "unreadable": 0,
                   "labeled_sources": 1}  # fmt: skip
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    key = "semi_loss" if method == "consistency" else "contrastive_loss"
    assert all(math_ok(r[key]) for r in records if r["kind"] == "train")
    (val,) = [r for r in records if r["kind"] == "val"]
    # validation reads labeled data only; the EMA teacher is scored beside the student
    assert ("teacher_wrr" in val) == (method == "consistency") and 0 <= val["wrr"] <= 1


def _count_student_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the batch size of every student forward."""
    from strtool.semi.modules import Student

    rows: list[int] = []
    forward = Student.forward

    def counting(self: Student, images: torch.Tensor, *args: int):  # type: ignore[no-untyped-def]
        rows.append(images.shape[0])
        return forward(self, images, *args)

    monkeypatch.setattr(Student, "forward", counting)
    return rows


def math_ok(x: float) -> bool:
    return x == x and abs(x) < 1e6


def test_pseudo_labels_refresh_and_train(
    tiny_lmdb: Path, unlabeled: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _count_student_rows(monkeypatch)
    cfg = _cfg(tiny_lmdb, [unlabeled["bare"]], "pseudo", "train.steps=4")
    train(cfg, tmp_path / "run")
    assert rows == [8 + 4] * 4  # the student reads the teacher's (weak) view
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["semi"]["method"] == "pseudo"
    # refresh_every 2, 4 steps: the teacher is the student's snapshot of step 4
    for k, v in ckpt["model"].items():
        torch.testing.assert_close(ckpt["semi"]["teacher"][k], v, rtol=0, atol=0, msg=k)
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    kept = [r["semi_kept"] for r in records if r["kind"] == "train"]
    assert kept[0] > 0  # threshold 0: every non-empty reading


@pytest.mark.slow  # two tiny runs of 12 steps
def test_semi_run_resumes_bit_identically_after_kill(
    tiny_lmdb: Path, unlabeled: dict[str, Path], tmp_path: Path
) -> None:
    extra = ("train.steps=12", "train.ckpt_every=4", "train.lr=3e-3")
    unl = [unlabeled["bare"]]
    method = "contrastive+consistency"
    straight = train(_cfg(tiny_lmdb, unl, method, *extra), tmp_path / "a")
    with pytest.raises(Kill):
        train(_cfg(tiny_lmdb, unl, method, *extra), tmp_path / "b", on_event=killer(7))
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 4
    resumed = train(_cfg(tiny_lmdb, unl, method, *extra), tmp_path / "b", resume=True)
    assert resumed.step == straight.step == 12
    a = load_checkpoint(tmp_path / "a" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "last.pt")
    for part in ("model",):
        for k, v in a[part].items():
            torch.testing.assert_close(b[part][k], v, rtol=0, atol=0, msg=k)
    for part in ("teacher", "proj"):
        for k, v in a["semi"][part].items():
            torch.testing.assert_close(b["semi"][part][k], v, rtol=0, atol=0, msg=f"{part} {k}")
    assert a["semi"]["drawn"] == b["semi"]["drawn"] == 12 * 4
    logs = [(tmp_path / r / "metrics.jsonl").read_text().splitlines() for r in ("a", "b")]
    la = [r for r in map(json.loads, logs[0]) if r["kind"] == "train"]
    lb = [r for r in map(json.loads, logs[1]) if r["kind"] == "train"]
    assert [r["step"] for r in lb] == list(range(1, 13))
    for ra, rb in zip(la, lb, strict=True):
        for key in ("loss", "semi_loss", "semi_kept", "contrastive_loss"):
            assert ra[key] == rb[key], (ra["step"], key)


def test_semi_from_init_and_contrastive_encoder_initialises_a_recogniser(
    tiny_lmdb: Path, unlabeled: dict[str, Path], tmp_path: Path
) -> None:
    sup = load_run_config(None, [f"data.train=[{tiny_lmdb}]", "data.workers=0",
                                 "model.arch=crnn_tiny", "train.threads=2", "train.steps=2",
                                 "train.batch_size=8"])  # fmt: skip
    train(sup, tmp_path / "sup")
    init = load_checkpoint(tmp_path / "sup" / "last.pt")
    cfg = _cfg(tiny_lmdb, [unlabeled["bare"]], "consistency", "train.steps=2",
               "semi.ema_decay=0.999999", "train.lr=1e-4")  # fmt: skip
    train(cfg, tmp_path / "semi", init=tmp_path / "sup" / "last.pt")
    teacher = load_checkpoint(tmp_path / "semi" / "last.pt")["semi"]["teacher"]
    for k, v in init["model"].items():  # the teacher starts from the --init weights
        if v.dtype.is_floating_point and "running" not in k:
            torch.testing.assert_close(teacher[k], v, rtol=0, atol=1e-4, msg=k)
    # contrastive pretraining alone (no supervised weight), then a recogniser from it
    cfg = _cfg(tiny_lmdb, [unlabeled["bare"]], "contrastive", "train.steps=2",
               "semi.supervised_weight=0")  # fmt: skip
    train(cfg, tmp_path / "con", init=tmp_path / "sup" / "last.pt")
    con = load_checkpoint(tmp_path / "con" / "last.pt")
    assert con["semi"]["proj"] is not None and con["semi"]["teacher"] is None
    ft = train(sup, tmp_path / "ft", init=tmp_path / "con" / "last.pt")
    assert ft.step == 2


def test_semi_config_errors(tiny_lmdb: Path, unlabeled: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="data.unlabeled"):
        load_run_config(None, [f"data.train=[{tiny_lmdb}]", "semi.method=consistency"])
    with pytest.raises(ConfigError, match="semi.method is none"):
        load_run_config(None, [f"data.train=[{tiny_lmdb}]", f"data.unlabeled=[{tiny_lmdb}]"])
    with pytest.raises(ConfigError, match="CTC"):
        load_run_config(None, ["model.arch=mclip_tiny", "semi.method=pseudo",
                               f"data.unlabeled=[{tiny_lmdb}]"])  # fmt: skip
    with pytest.raises(ConfigError, match="semi.method"):
        load_run_config(None, ["semi.method=fixmatch"])
    with pytest.raises(ConfigError, match="supervised_weight"):
        _cfg(tiny_lmdb, [tiny_lmdb], "consistency", "semi.supervised_weight=0")


def test_cli_semi_training_from_a_supervised_checkpoint(
    tiny_lmdb: Path, unlabeled: dict[str, Path], tmp_path: Path
) -> None:
    """The README commands: consistency and contrastive runs from `--init`."""
    from typer.testing import CliRunner

    from strtool.cli import app

    fast = ["--set", "train.steps=2", "--set", "train.batch_size=8", "--set", "data.workers=0",
            "--set", "data.unlabeled_ratio=0.5", "--json", "-q"]  # fmt: skip
    runner = CliRunner()
    sup = tmp_path / "sup"
    r = runner.invoke(app, ["train", "-c", "tiny", "--set", f"data.train=[{tiny_lmdb}]",
                            "-o", str(sup), *fast[:-4], "--json", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    for method in ("consistency", "contrastive"):
        out = tmp_path / method
        r = runner.invoke(app, [
            "train", "-c", "tiny", "--init", str(sup / "best.pt"),
            "--set", f"data.train=[{tiny_lmdb}]", "--set", f"data.unlabeled=[{unlabeled['bare']}]",
            "--set", f"semi.method={method}", "-o", str(out), *fast,
        ])  # fmt: skip
        assert r.exit_code == 0, r.output
        summary = json.loads(r.stdout)
        assert summary["step"] == 2 and summary["data"]["unlabeled"]["drawn"] == 2 * 4
    # a semi checkpoint reads like any other (the teacher is not needed for that)
    r = runner.invoke(app, ["eval", "--model", str(out / "last.pt"), "--data", str(tiny_lmdb),
                            "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n"] == 32
    from strtool.engine.checkpoint import weights_only_copy

    slim = weights_only_copy(load_checkpoint(out / "last.pt"))
    assert "semi" not in slim and "model" in slim
    r = runner.invoke(app, ["train", "-c", "tiny", "--set", f"data.train=[{tiny_lmdb}]",
                            "--set", "semi.method=pseudo", "-o", str(tmp_path / "x")])  # fmt: skip
    assert r.exit_code == 1 and "data.unlabeled" in r.stderr and "Traceback" not in r.output
