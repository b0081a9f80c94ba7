"""`strtool eval --model CKPT --data LMDB...` and `evaluate_model`: per-language rows
consistent with the predictions, filters, options and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from strtool.cli import app
from strtool.engine.evaluate import evaluate_model
from strtool.evaluation.metrics import score
from strtool.tasks.base import pooled

from .conftest import WORDS

pytestmark = pytest.mark.slow  # every test reads the model of overfit_run (800 steps)
runner = CliRunner()


@pytest.fixture(scope="module")
def ckpt(overfit_run: tuple[Path, Any]) -> Path:
    return overfit_run[0] / "best.pt"


def test_evaluate_model_matches_its_predictions(ckpt: Path, tiny_lmdb: Path) -> None:
    ev = evaluate_model(ckpt, [tiny_lmdb], device="cpu", batch_size=7)
    res = ev.predictions
    assert res.gts == WORDS and len(res.preds) == 32 == ev.n
    langs = ["en" if w[0].isalpha() else "de" for w in WORDS]
    assert res.langs == langs
    assert [r.name for r in ev.report.rows] == ["de", "en", "pooled", "macro"]
    expected = sum(p == g for p, g in zip(res.preds, res.gts, strict=True)) / 32
    assert ev.report.pooled.wrr == pytest.approx(expected) and expected >= 0.9
    assert ev.report.rows == score(res.preds, res.gts, langs).rows
    assert ev.params > 0 and ev.ms_per_image > 0 and ev.arch == "crnn_tiny"
    assert all(0.0 <= c <= 1.0 for c in res.confidences)
    d = evaluate_model(ckpt, [tiny_lmdb], device="cpu").to_dict()
    assert d["n"] == 32 and d["params"] == ev.params and d["family"] == "ctc"
    assert pooled(d) == pooled(ev.report)
    assert set(pooled(d)) == {"wrr", "wrr_nocase", "crr", "ned"}


def test_cli_eval_model_json_and_language_filter(ckpt: Path, tiny_lmdb: Path) -> None:
    res = runner.invoke(app, ["eval", "--model", str(ckpt), "--data", str(tiny_lmdb),
                              "--lang", "en", "--json", "--device", "cpu", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    n_en = sum(w[0].isalpha() for w in WORDS)
    assert d["n"] == n_en and d["filtered"] == {"other_lang": 32 - n_en}
    assert [r["group"] for r in d["rows"]] == ["en", "pooled", "macro"]
    assert d["params"] > 0 and d["ms_per_image"] > 0 and d["profile"] == "default"


def test_cli_eval_model_table_profile_unit_and_dump(
    ckpt: Path, tiny_lmdb: Path, tmp_path: Path
) -> None:
    dump = tmp_path / "worst.tsv"
    res = runner.invoke(app, ["eval", "-m", str(ckpt), "-d", str(tiny_lmdb), "--profile",
                              "cll", "--unit", "grapheme", "--script-acc", "--dump", str(dump),
                              "-b", "5"])  # fmt: skip
    assert res.exit_code == 0, res.output
    for word in ("pooled", "macro", "WRR-nc", "1-NED", "script acc", "ms per image", "cll"):
        assert word in res.stdout, word
    lines = dump.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("key\t")
    argv = ["eval", "-m", str(ckpt), "-d", str(tiny_lmdb), "--json", "-q", "--profile", "cll",
            "--unit", "grapheme"]  # fmt: skip
    d = json.loads(runner.invoke(app, argv).stdout)
    assert d["unit"] == "grapheme" and d["rows"][-2]["group"] == "pooled"
    wrong = round(d["n"] * (1 - d["rows"][-2]["wrr"]))
    assert len(lines) - 1 == wrong


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "{ckpt}"], "--data"),
        (["--model", "{ckpt}", "--data", "{db}", "--pred", "p.tsv"], "not both"),
        (["--model", "{ckpt}", "--data", "{db}", "--device", "tpu"], "--device"),
        (["--model", "nope.pt", "--data", "{db}"], "not found"),
        (["--model", "{ckpt}", "--data", "missing.lmdb"], "missing.lmdb"),
        (["--model", "{ckpt}", "--data", "{db}", "--lang", "xx"], "xx"),
        (["--model", "{ckpt}", "--data", "{db}", "--profile", "zz"], "zz"),
    ],
)
def test_cli_eval_model_errors_are_one_line(
    ckpt: Path, tiny_lmdb: Path, args: list[str], message: str
) -> None:
    argv = ["eval"] + [a.format(ckpt=ckpt, db=tiny_lmdb) for a in args]
    res = runner.invoke(app, argv)
    assert res.exit_code == 1, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
