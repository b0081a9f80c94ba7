"""The recogniser strtool ships (`strtool/weights/default.pt`): `predict` without
`--model` reads the README's example crops (`examples/crops`, held-out fonts and
words), `eval --model default` scores them as `predict` reads them, the ONNX export
matches PyTorch, inputs in the forms users' files come in read the same, and batch 1
reads what a batch of many reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from strtool.cli import app
from strtool.engine.predict import predict_paths
from strtool.engine.reader import open_reader
from strtool.paths import REPO_ROOT, weights_dir

MODEL = weights_dir() / "default.pt"
EXAMPLES = REPO_ROOT / "examples" / "crops"
# the shipped weights (the CPU run's 16,000 steps + 14,000 on a GPU) read 13 of the 21
# crops exactly (the CPU-only weights read 12); a floor, so a change that makes the model
# or its decoding worse fails here
MIN_EXACT = 12
runner = CliRunner()


def _examples() -> list[tuple[Path, str]]:
    rows = (EXAMPLES / "labels.tsv").read_text("utf-8").splitlines()
    return [(EXAMPLES / r.split("\t")[0], r.split("\t")[1]) for r in rows]


@pytest.fixture(scope="module")
def reader():  # type: ignore[no-untyped-def]
    return open_reader(MODEL, "cpu")


def test_examples_cover_every_script_group_with_heldout_text() -> None:
    rows = (EXAMPLES / "labels.tsv").read_text("utf-8").splitlines()
    groups = {r.split("\t")[0].split("_")[0] for r in rows}
    assert groups == {"ara", "ben", "chi", "hin", "jpn", "kor", "lat"}
    assert all((EXAMPLES / r.split("\t")[0]).is_file() for r in rows)


def _variants(src: Path, out: Path) -> dict[str, Path]:
    """The crop saved as users' files come: RGB, RGBA, 16-bit grey, and stored turned
    on its side with an EXIF orientation tag that turns it back."""
    grey = Image.open(src).convert("L")
    out.mkdir(parents=True, exist_ok=True)
    paths = {"png": out / "grey.png", "rgb": out / "rgb.png", "rgba": out / "rgba.png",
             "16bit": out / "grey16.png", "exif": out / "exif.png"}  # fmt: skip
    grey.save(paths["png"])
    grey.convert("RGB").save(paths["rgb"])
    grey.convert("RGBA").save(paths["rgba"])
    Image.fromarray(np.asarray(grey).astype(np.uint16) * 257).save(paths["16bit"])
    exif = Image.Exif()
    exif[0x0112] = 6  # viewers turn it 90 degrees clockwise
    grey.rotate(90, expand=True).save(paths["exif"], exif=exif)
    return paths


def test_input_forms_read_the_same(reader, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for k, (src, _) in enumerate(_examples()):
        paths = _variants(src, tmp_path / str(k))
        preds = {
            n: p for n, p in zip(paths, predict_paths(reader, list(paths.values())), strict=True)
        }
        assert all(p.error is None for p in preds.values())
        texts = {n: p.text for n, p in preds.items()}
        assert len(set(texts.values())) == 1, (src.name, texts)
        confs = [p.confidence for p in preds.values()]
        assert max(confs) - min(confs) < 1e-5, (src.name, confs)


def test_batch_one_reads_what_a_batch_reads(reader) -> None:  # type: ignore[no-untyped-def]
    paths = [p for p, _ in _examples()]
    many = list(predict_paths(reader, paths, batch_size=len(paths)))
    ones = list(predict_paths(reader, paths, batch_size=1))
    assert [p.text for p in ones] == [p.text for p in many]
    assert np.allclose([p.confidence for p in ones], [p.confidence for p in many], atol=1e-4)


def test_predict_without_model_reads_the_example_crops() -> None:
    """`strtool predict examples/crops` (no --model: the shipped model) reads the
    README's example crops: held-out font families, held-out words."""
    res = runner.invoke(app, ["predict", str(EXAMPLES), "--json", "-q"])
    assert res.exit_code == 0, res.output
    got = {Path(r["path"]).name: r["text"] for r in json.loads(res.stdout)}
    want = {p.name: t for p, t in _examples()}
    assert set(got) == set(want)
    exact = sorted(n for n in want if got[n] == want[n])
    assert len(exact) >= MIN_EXACT, {n: (got[n], want[n]) for n in want if n not in exact}


def test_eval_model_default_scores_what_predict_reads(tmp_path: Path) -> None:
    """`strtool eval --model default` on an LMDB of the example crops gives the WRR of
    the texts `predict` reads (both through the shipped model)."""
    db = tmp_path / "examples.lmdb"
    res = runner.invoke(app, ["make-lmdb", str(EXAMPLES / "labels.tsv"), str(db), "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["eval", "--model", "default", "--data", str(db), "--json", "-q"])
    assert res.exit_code == 0, res.output
    pooled = next(r for r in json.loads(res.stdout)["rows"] if r["group"] == "pooled")
    reader = open_reader("default", "cpu")
    preds = predict_paths(reader, [p for p, _ in _examples()])
    exact = sum(p.text == t for p, (_, t) in zip(preds, _examples(), strict=True))
    assert pooled["n"] == 21 and abs(pooled["wrr"] - exact / 21) < 1e-9


def test_export_onnx_of_the_default_model_matches_pytorch(tmp_path: Path) -> None:
    res = runner.invoke(app, ["export", "onnx", "--model", "default", "-o",
                              str(tmp_path / "default.onnx"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # checked at the training width and, the width being free, at twice it
    assert out["max_abs_diff"] is not None and out["max_abs_diff"] < 1e-3
    assert out["max_width"] == 768 and out["input"] == [1, 32, 192]
