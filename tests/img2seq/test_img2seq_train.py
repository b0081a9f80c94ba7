"""img2seq end to end: `strtool train -c img2seq_line_tiny` overfits six rendered lines,
`--init` from it trains a page model that reads two two-line pages exactly (line
breaks included); checkpoints decode the same after a round trip; beam search reads
what greedy reads; predict (TSV escaping, JSON lines), eval --model and export."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from strtool.data.dataset import LmdbDataset
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import config_from_dict, load_run_config
from strtool.engine.distributed import DistInfo
from strtool.engine.reader import open_reader
from strtool.engine.setup import prepare_run
from strtool.tasks.img2seq import Img2SeqTask
from strtool.tasks.registry import build_task
from strtool.text.charset import load_charset
from strtool.text.tokenizer import UNK_TEXT, AttnTokenizer

from .conftest import LINES, PAGES, cli, render_text

pytestmark = pytest.mark.slow  # the shared runs train for ~10 s each


def read_all(ckpt: Path, lmdb: Path, **cfg: object) -> tuple[list[str], list[float]]:
    rec = open_reader(ckpt, "cpu")
    if cfg:
        rec.task.cfg = dataclasses.replace(
            rec.task.cfg, img2seq=dataclasses.replace(rec.task.cfg.img2seq, **cfg)
        )
    res = rec.read_dataset(LmdbDataset([lmdb], transform=rec.transform), 4)
    assert res.gts == (LINES if "lines" in lmdb.name else PAGES)
    return res.preds, res.confidences


def test_train_cli_overfits_lines(line_run: tuple[Path, dict], line_lmdb: Path) -> None:
    out, summary = line_run
    assert summary["family"] == "img2seq" and summary["step"] == 250
    assert summary["val"]["cer"] == 0.0 and summary["val"]["wer"] == 0.0
    preds, confs = read_all(out / "last.pt", line_lmdb)
    assert preds == LINES and all(0.5 < c <= 1.0 for c in confs)


def test_page_model_from_line_model_reads_pages_with_line_breaks(
    page_run: tuple[Path, dict], page_lmdb: Path
) -> None:
    out, summary = page_run
    assert summary["val"]["cer"] == 0.0
    preds, _ = read_all(out / "last.pt", page_lmdb)
    assert preds == PAGES and all(p.count("\n") == 1 for p in preds)


def test_init_copies_the_line_model(
    line_run: tuple[Path, dict], page_lmdb: Path, tmp_path: Path
) -> None:
    cfg = load_run_config("img2seq_page_tiny", [f"data.train=[{page_lmdb}]"])
    parts = prepare_run(cfg, tmp_path / "run", DistInfo(), False, line_run[0] / "last.pt")
    report, task = parts.init_report, parts.task
    assert report is not None and report["skipped"] == 0
    assert isinstance(task, Img2SeqTask)
    # the pages' charset is not the lines': embedding/classifier rows go by character
    src = load_checkpoint(line_run[0] / "last.pt")
    old = AttnTokenizer.from_dict(src["tokenizer"]).stoi
    assert task.tokenizer.stoi != old and report["rows"] == task.tokenizer.num_classes
    new = task.model.state_dict()
    for name in ("embed.weight", "head.weight", "head.bias"):
        for ch, i in task.tokenizer.stoi.items():
            assert torch.equal(new[name][i], src["model"][name][old[ch]])
    assert torch.equal(new["proj.weight"], src["model"]["proj.weight"])


def test_checkpoint_round_trip_decodes_the_same(
    line_run: tuple[Path, dict], line_lmdb: Path, tmp_path: Path
) -> None:
    ckpt = load_checkpoint(line_run[0] / "last.pt")
    task = build_task(config_from_dict(ckpt["config"]), ckpt)
    task.model.load_state_dict(ckpt["model"])
    copy = tmp_path / "copy.pt"
    torch.save({**task.payload(), "model": task.model.state_dict()}, copy)
    a, b = read_all(line_run[0] / "last.pt", line_lmdb), read_all(copy, line_lmdb)
    assert a[0] == b[0] == LINES and a[1] == b[1]


def test_beam_search_and_uncached_decoding_read_the_same(
    line_run: tuple[Path, dict], page_run: tuple[Path, dict], line_lmdb: Path, page_lmdb: Path
) -> None:
    assert read_all(line_run[0] / "last.pt", line_lmdb, beam_width=3)[0] == LINES
    rec = open_reader(page_run[0] / "last.pt", "cpu")
    assert isinstance(rec.task, Img2SeqTask)
    images = torch.stack([rec.transform(render_text(p)) for p in PAGES])
    with torch.no_grad():
        cached = rec.task.decode(rec.model, images, cache=True)
        full = rec.task.decode(rec.model, images, cache=False)
        single = [rec.task.decode(rec.model, images[i : i + 1])[0] for i in range(2)]
        rec.task.cfg = dataclasses.replace(
            rec.task.cfg, img2seq=dataclasses.replace(rec.task.cfg.img2seq, beam_width=4)
        )
        beam = rec.task.decode(rec.model, images)
    assert [d.ids for d in cached] == [d.ids for d in full] == [d.ids for d in single]
    assert len(cached[0].ids) != len(cached[1].ids)  # rows left the batch at different steps
    assert rec.task.reading(cached).texts == PAGES
    # a barely trained model may prefer a shorter page; the beam never finds a less
    # probable reading than greedy
    for g, b in zip(cached, beam, strict=True):
        assert b.ended and sum(map(math.log, b.probs)) >= sum(map(math.log, g.probs)) - 1e-4


def test_predict_prints_line_breaks_escaped_and_json_lines(
    page_run: tuple[Path, dict], tmp_path: Path
) -> None:
    for i, text in enumerate(PAGES):
        (tmp_path / f"p{i}.png").write_bytes(render_text(text))
    model = page_run[0] / "last.pt"
    tsv = cli("predict", tmp_path, "-m", model, "--quiet").stdout.splitlines()
    assert [row.split("\t")[1] for row in tsv] == [p.replace("\n", "\\n") for p in PAGES]
    rows = json.loads(cli("predict", tmp_path, "-m", model, "--json", "--quiet").stdout)
    assert [r["text"] for r in rows] == PAGES
    for r, page in zip(rows, PAGES, strict=True):
        assert [x["text"] for x in r["lines"]] == page.split("\n")
        assert all(0.0 < x["confidence"] <= 1.0 for x in r["lines"])


def test_eval_model_and_export(page_run: tuple[Path, dict], page_lmdb: Path, tmp_path: Path):
    model = page_run[0] / "last.pt"
    rep = json.loads(cli("eval", "--model", model, "--data", page_lmdb, "--json").stdout)
    pooled = next(r for r in rep["rows"] if r["group"] == "pooled")
    assert rep["family"] == "img2seq" and pooled["crr"] == 1.0 and pooled["n"] == 2
    # pages: the line-aware figures too (the overfit model reads every line)
    lines = next(r for r in rep["lines"]["rows"] if r["group"] == "pooled")
    assert lines["cer"] == 0.0 and lines["gt_lines"] == sum(p.count("\n") + 1 for p in PAGES)
    assert lines["dropped_lines"] == lines["merged_lines"] == 0
    table = cli("eval", "--model", model, "--data", page_lmdb).stdout
    assert "lines: profile" in table
    res = cli("export", "onnx", "-m", model, "-o", tmp_path / "m.onnx", code=1)
    assert "img2seq checkpoint cannot be exported to ONNX" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "m.onnx").exists()


def test_unknown_characters_are_counted_not_dropped(line_lmdb: Path) -> None:
    cfg = load_run_config("img2seq_line_tiny", [f"data.train=[{line_lmdb}]", "data.unk=true"])
    task = build_task(cfg)
    assert isinstance(task, Img2SeqTask) and task.label_chars is None
    images = torch.zeros(2, 1, 32, 256)
    loss = task.loss(task.model, (images, ["abz", "q\nab"], ["en", "en"]), torch.device("cpu"))
    assert torch.isfinite(loss) and task.unknown == {"z": 1, "q": 1}
    enc = task.tokenizer.encode(["abz"])
    assert enc.targets[0, 3].item() == task.tokenizer.unk_index
    strict = build_task(load_run_config("img2seq_line_tiny", [f"data.train=[{line_lmdb}]"]))
    assert strict.label_chars is not None and {" ", "\n"} <= set(strict.label_chars)


def test_lang_restricts_the_output(line_run: tuple[Path, dict], line_lmdb: Path) -> None:
    rec = open_reader(line_run[0] / "last.pt", "cpu", langs=["hi"])  # predict --lang hi
    res = rec.read_dataset(LmdbDataset([line_lmdb], transform=rec.transform), 6)
    allowed = set(load_charset("hi").chars) | {" ", "\n", UNK_TEXT}
    assert all(set(p) <= allowed and not set(p) & set("abcdef") for p in res.preds)
    assert any(p.strip() for p in res.preds)  # digits and punctuation are still read
    assert (
        rec.meta["classes_kept"]
        < open_reader(line_run[0] / "last.pt", "cpu").task.tokenizer.num_classes
    )
