"""`strtool demo` end to end at a tiny scale: vocabulary, rendering, training with a
time budget, evaluation, report files whose figures agree with each other, resume
(LMDBs reused, training not repeated), the CLI table and its errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from strtool.cli import app
from strtool.demo import DemoSettings, run_demo
from strtool.demo.data import build_vocabulary
from strtool.errors import InputError

torch.set_num_threads(2)
TINY = DemoSettings(minutes=0.25, words=12, train_images=400, val_per_lang=6,
                    unseen_per_lang=3, batch_size=32, evals=2, samples=1,
                    sheet_per_lang=2, workers=2)  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "d"
    events: list[dict] = []
    return run_demo(out, TINY, events.append), events


def test_vocabulary_is_closed_short_and_unseen_words_use_seen_chars() -> None:
    v = build_vocabulary(("en", "ar", "zh"), words=30, min_len=2, max_len=4, unseen=10)
    for lang, words in v.train.items():
        assert len(words) == 30 and all(2 <= len(w) <= 4 for w in words)
        seen = {c for w in words for c in w}
        assert v.unseen[lang] and all(set(w) <= seen for w in v.unseen[lang])
        assert not set(v.unseen[lang]) & set(words)
    with pytest.raises(InputError, match="usable"):
        build_vocabulary(("en",), words=100000)


@pytest.mark.slow  # the demo fixture trains for 15 s
def test_demo_writes_a_consistent_report(demo) -> None:
    result, events = demo
    rep = result.output / "report"
    for name in ("metrics.json", "predictions.tsv", "contact_sheet.png", "curves.png",
                 "config.yaml", "model.pt", "samples/predictions.json"):  # fmt: skip
        assert (rep / name).is_file(), name
    m = json.loads((rep / "metrics.json").read_text(encoding="utf-8"))
    langs = ["ar", "bn", "en", "hi", "ja", "ko", "zh"]
    assert [r["group"] for r in m["val"]["rows"]] == langs + ["pooled", "macro"]
    with open(rep / "predictions.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    val = [r for r in rows if r["set"] == "val"]
    assert len(val) == m["val"]["n"] == m["data"]["val"]["written"] > 0.9 * 6 * 7
    assert m["unseen"]["n"] == m["data"]["unseen"]["written"] > 0.9 * 3 * 7
    for lang_row in m["val"]["rows"][:-2]:
        mine = [r for r in val if r["lang"] == lang_row["group"]]
        ok = sum(r["correct"] == "1" for r in mine) / len(mine)
        assert lang_row["n"] == len(mine) and lang_row["wrr"] == pytest.approx(ok)
    assert m["training"]["step"] == result.steps > 0 and m["params"] == result.params
    assert m["training"]["samples_seen"] == result.steps * 32
    assert len(m["samples"]) == 7 and all(s["file"].endswith(".png") for s in m["samples"])
    assert {e["kind"] for e in events} >= {"stage", "synth", "train", "val"}


@pytest.mark.slow  # the demo fixture trains for 15 s
def test_rerun_reuses_data_and_does_not_retrain(demo) -> None:
    result, _ = demo
    events: list[dict] = []
    again = run_demo(result.output, TINY, events.append)
    assert [e["set"] for e in events if e["kind"] == "synth_done" and e["reused"]] == [
        "train",
        "val",
        "unseen",
    ]
    start = next(e for e in events if e["kind"] == "train_start")
    assert start["resume"] and again.steps == result.steps
    assert again.val.pooled.wrr == pytest.approx(result.val.pooled.wrr)


@pytest.mark.slow  # the demo fixture trains for 15 s
def test_other_settings_in_the_same_folder_fail_cleanly(demo) -> None:
    result, _ = demo
    other = DemoSettings(**{**TINY.__dict__, "train_images": 401})
    with pytest.raises(InputError, match="other demo settings"):
        run_demo(result.output, other)


def test_cli_rejects_bad_minutes(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["demo", "--output", str(tmp_path), "--minutes", "0"])
    assert res.exit_code == 1 and "--minutes" in res.output and "Traceback" not in res.output


@pytest.mark.slow  # the demo fixture trains for 15 s
def test_cli_table_lists_every_language(demo) -> None:
    from rich.console import Console

    from strtool.cli.demo import _summary, _table

    result, _ = demo
    console = Console(record=True, width=120)
    console.print(_table(result))
    text = console.export_text()
    for word in ("ar", "bn", "en", "hi", "ja", "ko", "zh", "pooled", "unseen n", "1-NED"):
        assert word in text, word
    assert f"{result.params:,} parameters" in _summary(result)


def test_interrupted_render_continues(tmp_path: Path, monkeypatch) -> None:
    import strtool.synth.pipeline as pipe
    from strtool.data.lmdb_io import LmdbReader
    from strtool.demo.data import render_set

    words = build_vocabulary(("en", "hi"), words=10, min_len=2, max_len=4, unseen=2).train
    render_set(tmp_path / "ref", 30, words, seed=3, workers=1, tag="train")
    monkeypatch.setattr(pipe, "CHECKPOINT_EVERY", 8)
    account, calls = pipe._account, []

    def failing(report, r):
        calls.append(1)
        if len(calls) == 20:
            raise KeyboardInterrupt
        account(report, r)

    monkeypatch.setattr(pipe, "_account", failing)
    with pytest.raises(KeyboardInterrupt):
        render_set(tmp_path / "out", 30, words, seed=3, workers=1, tag="train")
    monkeypatch.setattr(pipe, "_account", account)
    assert (tmp_path / "out.partial").is_dir()
    rep = render_set(tmp_path / "out", 30, words, seed=3, workers=1, tag="train")
    assert rep is not None and rep.written + rep.skipped == 30
    a, b = LmdbReader(tmp_path / "ref"), LmdbReader(tmp_path / "out")
    assert [a[i] for i in range(len(a))] == [b[i] for i in range(len(b))]
