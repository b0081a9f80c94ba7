"""CLI: `strtool train` (tiny preset), `predict` (RGBA, 16-bit, folders, errors),
`export onnx` (matches PyTorch when onnxruntime is installed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from strtool.cli import app
from strtool.paths import configs_dir

from .conftest import render

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tiny_lmdb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    args = ["train", "--config", str(configs_dir() / "tiny.yaml"), "--output", str(out),
            "--set", f"data.train=[{tiny_lmdb}]", "--set", "train.steps=4",
            "--set", "data.workers=0", "--set", "train.batch_size=8", "--json", "-q"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["step"] == 4
    return out


def test_train_resume_extends_steps(run_dir: Path) -> None:
    """A resume under a changed config runs, and says what changed (stderr and a
    `resume` record in the log), since it no longer repeats the stored run exactly."""
    res = runner.invoke(app, ["train", "--output", str(run_dir), "--resume",
                              "--set", "train.steps=6", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["step"] == 6
    assert "--resume: the config differs from the stored run's in train.steps" in res.stderr
    log = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["changed"] for r in log if r["kind"] == "resume"] == [["train.steps"]]


def test_train_bad_override_is_one_line_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["train", "--output", str(tmp_path / "x"), "--set", "train.nope=1"])
    assert res.exit_code == 1 and "train.nope" in res.output and "Traceback" not in res.output


def test_a_run_that_cannot_start_leaves_no_folder_it_made(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.lmdb"
    args = ["train", "-c", "tiny", "--set", f"data.train=[{missing}]", "--set", "data.workers=0"]
    res = runner.invoke(app, [*args, "--output", str(tmp_path / "new" / "run")])
    assert res.exit_code == 1 and "nowhere.lmdb" in res.output, res.output
    # the error line alone: no progress bar stuck at 0/N above it
    assert res.stderr.strip().splitlines() == [f"error: {missing}: no such LMDB"], res.stderr
    assert not (tmp_path / "new" / "run").exists()
    mine = tmp_path / "mine"  # an empty folder the user made stays
    mine.mkdir()
    res = runner.invoke(app, [*args, "--output", str(mine)])
    assert res.exit_code == 1 and mine.is_dir()


def _odd_images(folder: Path) -> dict[str, str]:
    """Training words saved in the ways users' files come: PNG, RGBA in a subfolder,
    16-bit grey, a vertical crop, an EXIF-rotated file. Returns file name -> text."""
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(render("cafe"))
    Image.open(io.BytesIO(render("12"))).convert("RGBA").save(folder / "sub" / "b.png")
    grey = np.asarray(Image.open(io.BytesIO(render("bad"))).convert("L"))
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "c16.png")
    Image.open(io.BytesIO(render("fed"))).rotate(90, expand=True).save(folder / "vert.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
    stored = Image.open(io.BytesIO(render("deed"))).rotate(90, expand=True)
    stored.save(folder / "exif.png", exif=exif)
    return {"a.png": "cafe", "b.png": "12", "c16.png": "bad", "vert.png": "fed", "exif.png": "deed"}


@pytest.mark.slow  # needs overfit_run (800 training steps)
def test_predict_reads_files_folders_and_odd_images(overfit_run: tuple, tmp_path: Path) -> None:
    ckpt = str(overfit_run[0] / "best.pt")
    want = _odd_images(tmp_path / "imgs")
    res = runner.invoke(app, ["predict", str(tmp_path / "imgs"), "--model", ckpt,
                              "--rotate-vertical", "--json", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = {Path(p["path"]).name: p for p in json.loads(res.stdout)}
    assert set(out) == set(want)
    assert all(p["error"] is None for p in out.values()), out
    assert out["vert.png"]["rotated"] and not out["a.png"]["rotated"]
    hits = sum(out[name]["text"] == text for name, text in want.items())
    assert hits >= 4, {k: v["text"] for k, v in out.items()}  # the model reads its words
    assert all(0.0 < p["confidence"] <= 1.0 for p in out.values())
    # the TSV mode gives the same texts, one row per image
    res = runner.invoke(app, ["predict", str(tmp_path / "imgs"), "--model", ckpt,
                              "--rotate-vertical", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = [line.split("\t") for line in res.stdout.splitlines()]
    assert len(rows) == len(want) and all(len(r) == 3 for r in rows)
    assert {Path(r[0]).name: r[1] for r in rows} == {k: v["text"] for k, v in out.items()}


@pytest.mark.slow  # needs overfit_run (800 training steps)
def test_predict_vertical_modes_turn_tall_crops(overfit_run: tuple, tmp_path: Path) -> None:
    """--vertical rotate / none / auto wiring. Which reading `auto` keeps is decided by
    confidence (tests/engine/test_orient.py); a tiny overfit model is confidently wrong
    on crops it never saw, so here auto is only checked to keep one of its candidates."""
    ckpt = str(overfit_run[0] / "best.pt")
    word = Image.open(io.BytesIO(render("fed")))
    word.rotate(-90, expand=True).save(tmp_path / "turned_right.png")  # reads after ccw
    (tmp_path / "flat.png").write_bytes(render("bed"))

    def run(*opts: str) -> dict[str, dict]:
        res = runner.invoke(app, ["predict", str(tmp_path), "-m", ckpt, "--json", "-q", *opts])
        assert res.exit_code == 0, res.output
        return {Path(p["path"]).name: p for p in json.loads(res.stdout)}

    out = run("--vertical", "rotate")
    assert (out["turned_right.png"]["text"], out["turned_right.png"]["orientation"]) == (
        "fed", "ccw")  # fmt: skip
    assert out["turned_right.png"]["rotated"] and not out["flat.png"]["rotated"]
    assert (out["flat.png"]["text"], out["flat.png"]["orientation"]) == ("bed", "")
    assert {p["orientation"] for p in run("--vertical", "none").values()} == {""}
    auto = run()
    assert auto["flat.png"]["orientation"] == "" and auto["flat.png"]["text"] == "bed"
    assert auto["turned_right.png"]["orientation"] in {"", "cells", "ccw", "cw"}
    res = runner.invoke(app, ["predict", str(tmp_path), "-m", ckpt, "--vertical", "sideways"])
    assert res.exit_code == 1 and "--vertical" in res.output and "Traceback" not in res.output


@pytest.mark.slow  # needs overfit_run (800 training steps)
def test_predict_broken_images_get_a_row_and_fail_the_exit_code(
    overfit_run: tuple, tmp_path: Path
) -> None:
    ckpt = str(overfit_run[0] / "best.pt")
    (tmp_path / "good.png").write_bytes(render("cafe"))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "cut.png").write_bytes(render("bed")[:60])
    args = ["predict", str(tmp_path), "--model", ckpt]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    rows = {Path(r.split("\t")[0]).name: r.split("\t") for r in res.stdout.splitlines()}
    assert set(rows) == {"good.png", "broken.png", "cut.png"}
    for bad in ("broken.png", "cut.png"):
        assert len(rows[bad]) == 4 and rows[bad][1] == "" and rows[bad][3].startswith("error:")
        assert bad in res.stderr  # the warning names the file
    assert len(rows["good.png"]) == 3
    assert "2 of 3 image(s) could not be read" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, args + ["--skip-bad", "--json"])
    assert res.exit_code == 0, res.output
    out = {Path(p["path"]).name: p for p in json.loads(res.stdout)}
    assert out["good.png"]["error"] is None and out["broken.png"]["error"]
    res = runner.invoke(app, ["predict", str(tmp_path / "none*.png"), "--model", ckpt])
    assert res.exit_code == 1 and "no image" in res.output
    res = runner.invoke(app, args + ["--device", "tpu"])
    assert res.exit_code == 1 and "--device 'tpu'" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # needs overfit_run (800 training steps)
def test_export_onnx_matches_pytorch(overfit_run: tuple, tmp_path: Path) -> None:
    """onnx and onnxruntime are in the [dev] extra: this test never skips."""
    import onnx
    import onnxruntime as ort

    from strtool.engine.reader import open_reader
    from strtool.text.tokenizer import tokenizer_from_dict

    ckpt = overfit_run[0] / "best.pt"
    res = runner.invoke(app, ["export", "onnx", "--model", str(ckpt),
                              "--output", str(tmp_path / "m.onnx"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["max_abs_diff"] is not None and result["max_abs_diff"] < 1e-3
    # the exported graph + its metadata alone read the word like PyTorch does
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    tok = tokenizer_from_dict(json.loads(meta["strtool_tokenizer"]))
    rec = open_reader(ckpt, "cpu")
    tf = rec.task.transform  # the graph's width
    x = torch.stack([tf(np.asarray(Image.open(io.BytesIO(render(w))).convert("RGB")))
                     for w in ("cafe", "12")])  # fmt: skip
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (logits,) = sess.run(["logits"], {"images": x.numpy()})
    texts, _ = tok.decode(torch.from_numpy(logits))
    assert texts == rec.read(x).texts
    again = ["export", "onnx", "--model", str(ckpt), "--output", str(tmp_path / "m.onnx")]
    res = runner.invoke(app, again)
    assert res.exit_code == 1 and "--overwrite" in res.stderr
    assert runner.invoke(app, [*again, "--overwrite"]).exit_code == 0  # its own export
    (tmp_path / "notes.onnx").write_bytes(b"my notes")
    before = ckpt.read_bytes()
    for target in (tmp_path / "notes.onnx", ckpt):  # a foreign file, the checkpoint itself
        res = runner.invoke(app, ["export", "onnx", "--model", str(ckpt), "--output",
                                  str(target), "--overwrite"])  # fmt: skip
        assert res.exit_code == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert (tmp_path / "notes.onnx").read_bytes() == b"my notes" and ckpt.read_bytes() == before
    for opset in ("5", "99"):
        res = runner.invoke(app, ["export", "onnx", "--model", str(ckpt), "--opset", opset,
                                  "--output", str(tmp_path / "o.onnx")])  # fmt: skip
        assert res.exit_code == 1 and "--opset" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    res = runner.invoke(app, ["export", "onnx", "--model", str(tmp_path / "nope.pt"),
                              "--output", str(tmp_path / "n.onnx")])  # fmt: skip
    assert res.exit_code == 1 and "not found" in res.output


@pytest.mark.slow  # needs overfit_run (800 training steps)
def test_predict_default_model_and_lang_restriction(
    overfit_run: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--model` defaults to the shipped `default` model (here: a weights folder set
    through STRTOOL_WEIGHTS); `--lang` keeps only those languages' characters."""
    import shutil

    (tmp_path / "a.png").write_bytes(render("cafe"))
    monkeypatch.setenv("STRTOOL_WEIGHTS", str(tmp_path / "none"))
    res = runner.invoke(app, ["predict", str(tmp_path / "a.png")])
    assert res.exit_code == 1 and "ships no 'default' model" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copyfile(overfit_run[0] / "best.pt", weights / "default.pt")
    monkeypatch.setenv("STRTOOL_WEIGHTS", str(weights))
    res = runner.invoke(app, ["predict", str(tmp_path / "a.png"), "--json", "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["text"] == "cafe"
    res = runner.invoke(app, ["predict", str(tmp_path / "a.png"), "--lang", "ar", "--json"])
    assert res.exit_code == 0, res.output
    text = json.loads(res.stdout)[0]["text"]
    assert not any("a" <= c <= "z" for c in text), text  # Latin letters are masked out
    res = runner.invoke(app, ["eval", "--model", "default", "--data", str(overfit_run[0].parent),
                              "--json", "-q"])  # fmt: skip
    assert res.exit_code == 1 and "LMDB" in res.stderr  # model resolved; the data is no LMDB


def test_predict_inputs_that_hold_no_image_are_one_error_line(tmp_path: Path) -> None:
    """An empty folder, a glob that matches nothing and an LMDB folder (which holds
    images, but not as files: eval reads it) are each one clear error line."""
    from strtool.data.lmdb_writer import LmdbWriter
    from strtool.engine.predict import expand_inputs
    from strtool.errors import InputError

    (tmp_path / "empty").mkdir()
    (tmp_path / "a.png").write_bytes(render("ab"))
    with LmdbWriter(tmp_path / "db") as w:
        w.add(render("ab"), "ab", "en")
    assert expand_inputs([tmp_path / "a.png", str(tmp_path / "*.png")]) == [tmp_path / "a.png"]
    for item, msg in ((tmp_path / "empty", "no image found at"),
                      (str(tmp_path / "*.jpg"), "no image found at"),
                      (tmp_path / "db", "is an LMDB, not a folder of images: read it with "
                                        "strtool eval --model MODEL --data")):  # fmt: skip
        with pytest.raises(InputError, match=msg):
            expand_inputs([item])
    res = runner.invoke(app, ["predict", str(tmp_path / "db")])
    assert res.exit_code == 1 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [
        f"error: '{tmp_path / 'db'}' is an LMDB, not a folder of images: read it with strtool "
        f"eval --model MODEL --data {tmp_path / 'db'} (or write its images out with strtool "
        "lmdb export)"
    ]
