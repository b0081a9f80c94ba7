"""The mSTR pipeline through the shared CLI: train (mCLIP, Spotter, Refiner presets),
bank export / info / extend, predict, eval --model; bad input gives one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from strtool.cli import app
from strtool.mstr.bank import load_bank
from strtool.paths import configs_dir

pytestmark = pytest.mark.slow  # the pipeline fixture trains the three mSTR stages

runner = CliRunner()
FAST = ["--set", "train.steps=4", "--set", "train.val_every=4", "--quiet"]


def run(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, (res.output, res.stderr if hasattr(res, "stderr") else "")
    return res.stdout


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, char_lmdb: Path, word_lmdb: Path) -> dict:
    root = tmp_path_factory.mktemp("cli")
    cfg = configs_dir()
    run("train", "-c", str(cfg / "mclip_tiny.yaml"), "-o", str(root / "mclip"), *FAST,
        "--set", f"data.train=[{char_lmdb}]", "--set", "train.batch_size=20")  # fmt: skip
    out = run("bank", "export", "-m", str(root / "mclip" / "last.pt"), "-o",
              str(root / "bank.pt"), "--lang", "en", "--json", "--quiet")  # fmt: skip
    assert json.loads(out)["rows_total"] == json.loads(out)["new_rows"] > 100
    run("train", "-c", str(cfg / "spotter_tiny.yaml"), "-o", str(root / "spotter"), *FAST,
        "--set", f"mstr.bank={root / 'bank.pt'}", "--set", f"data.train=[{word_lmdb}]",
        "--set", f"data.val=[{word_lmdb}]")  # fmt: skip
    run("train", "-c", str(cfg / "refiner_tiny.yaml"), "-o", str(root / "refiner"), *FAST,
        "--set", f"mstr.spotter={root / 'spotter' / 'last.pt'}",
        "--set", f"data.train=[{word_lmdb}]", "--set", f"data.val=[{word_lmdb}]")  # fmt: skip
    return {"root": root, "words": word_lmdb}


def test_bank_info_and_extend(pipeline: dict) -> None:
    root = pipeline["root"]
    info = json.loads(run("bank", "info", str(root / "bank.pt"), "--json", "--rows"))
    assert info["langs"] == ["en"] and info["rows"][0]["prompt"].startswith("<lang=LAT>")
    before = load_bank(root / "bank.pt")
    run("bank", "export", "-m", str(root / "mclip" / "last.pt"), "-o", str(root / "big.pt"),
        "--extend", str(root / "bank.pt"), "--lang", "fr,hi", "--quiet")  # fmt: skip
    after = load_bank(root / "big.pt")
    assert torch.equal(after.embeddings[: len(before)], before.embeddings)
    assert after.meta["langs"] == ["en", "fr", "hi"] and len(after) > len(before)
    assert "rows per group" in run("bank", "info", str(root / "big.pt"))


def test_predict_and_eval(pipeline: dict, tmp_path: Path) -> None:
    from strtool.data.lmdb_io import LmdbReader

    root = pipeline["root"]
    img = tmp_path / "w.png"
    img.write_bytes(LmdbReader(pipeline["words"]).image(0))
    out = json.loads(run("predict", str(img), "-m", str(root / "refiner" / "last.pt"), "--json",
                         "--device", "cpu", "--quiet"))  # fmt: skip
    assert out[0]["error"] is None and set(out[0]["alternatives"]) == {"spotter"}
    assert isinstance(out[0]["text"], str) and 0.0 <= out[0]["confidence"] <= 1.0
    line = run("predict", str(img), "-m", str(root / "spotter" / "last.pt"), "--quiet")
    assert line.count("\t") == 2 and line.startswith(str(img))
    ref = str(root / "refiner" / "last.pt")
    rep = json.loads(run("eval", "-m", ref, "-d", str(pipeline["words"]), "--json",
                         "--device", "cpu", "--quiet", "--script-acc"))  # fmt: skip
    assert rep["family"] == "refiner" and rep["n"] == 32 and rep["profile"] == "mstr"
    spot = next(r for r in rep["alternatives"]["spotter"]["rows"] if r["group"] == "pooled")
    assert spot["n"] == 32 and spot["script_acc"] is not None
    table = run("eval", "-m", ref, "-d", str(pipeline["words"]), "--device", "cpu")
    assert "spotter alone:" in table and "refiner" in table


def test_resume_takes_the_family_from_the_checkpoint(pipeline: dict) -> None:
    root = pipeline["root"]
    out = run("train", "-o", str(root / "spotter"), "--resume", "--set", "train.steps=6",
              "--json", "--quiet")  # fmt: skip
    assert json.loads(out)["family"] == "spotter" and json.loads(out)["step"] == 6


def test_errors_are_one_line(pipeline: dict, tmp_path: Path) -> None:
    root = pipeline["root"]
    cases = [
        ["bank", "info", str(tmp_path / "nope.pt")],
        ["bank", "export", "-m", str(root / "spotter" / "last.pt"), "-o", str(tmp_path / "b.pt")],
        ["bank", "export", "-m", str(root / "mclip" / "last.pt"), "-o", str(root / "bank.pt")],
        [
            "bank",
            "export",
            "-m",
            str(root / "mclip" / "last.pt"),
            "-o",
            str(root / "mclip" / "last.pt"),
            "--overwrite",
        ],  # the checkpoint itself
        [
            "bank",
            "export",
            "-m",
            str(root / "mclip" / "last.pt"),
            "-o",
            str(root / "mclip" / "config.yaml"),
            "--overwrite",
        ],  # not a bank
        ["train", "-c", str(configs_dir() / "spotter_tiny.yaml"), "-o", str(tmp_path / "r")],
        ["eval", "-m", str(root / "mclip" / "last.pt"), "-d", str(pipeline["words"])],
        ["export", "onnx", "-m", str(root / "mclip" / "last.pt"), "-o", str(tmp_path / "m.onnx")],
        ["export", "onnx", "-m", str(root / "refiner" / "last.pt"), "-o", str(tmp_path / "r.onnx")],
    ]
    before = (root / "mclip" / "last.pt").read_bytes()
    for args in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 1, (args, res.output)
        errors = [x for x in res.stderr.splitlines() if x.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.rstrip("\n").endswith(errors[0])
    assert (root / "mclip" / "last.pt").read_bytes() == before
    says = {
        "m.onnx": "strtool bank export",
        "r.onnx": "exportable: CTC recognisers and the Spotter",
    }
    for name, hint in says.items():
        ckpt = root / ("mclip" if name == "m.onnx" else "refiner") / "last.pt"
        res = runner.invoke(app, ["export", "onnx", "-m", str(ckpt), "-o", str(tmp_path / name)])
        assert res.exit_code == 1 and hint in res.stderr, res.stderr
