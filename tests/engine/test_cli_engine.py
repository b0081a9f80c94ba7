"""CLI: `strtool train` (tiny preset), `predict` (RGBA, 16-bit, folders, errors),
`export onnx` (matches PyTorch when onnxruntime is installed)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("strtool.text.tokenizer")

from strtool.cli import app  # noqa: E402
from strtool.paths import configs_dir  # noqa: E402

from .conftest import render  # noqa: E402

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
    res = runner.invoke(app, ["train", "--output", str(run_dir), "--resume",
                              "--set", "train.steps=6", "-q", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["step"] == 6


def test_train_bad_override_is_one_line_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["train", "--output", str(tmp_path / "x"), "--set", "train.nope=1"])
    assert res.exit_code == 1 and "train.nope" in res.output and "Traceback" not in res.output


def test_predict_files_folders_and_odd_images(run_dir: Path, tmp_path: Path) -> None:
    imgs = tmp_path / "imgs"
    (imgs / "sub").mkdir(parents=True)
    (imgs / "a.png").write_bytes(render("cafe"))
    rgba = Image.open(io.BytesIO(render("12"))).convert("RGBA")
    rgba.save(imgs / "sub" / "b.png")
    grey16 = np.asarray(Image.open(io.BytesIO(render("ab"))).convert("L")).astype(np.uint16) * 257
    Image.fromarray(grey16).save(imgs / "c16.png")
    Image.open(io.BytesIO(render("7"))).rotate(90, expand=True).save(imgs / "vert.png")
    (imgs / "broken.png").write_bytes(b"not an image")
    res = runner.invoke(app, ["predict", str(imgs), "--model", str(run_dir / "last.pt"),
                              "--rotate-vertical", "--json", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = {Path(p["path"]).name: p for p in json.loads(res.stdout)}
    assert set(out) == {"a.png", "b.png", "c16.png", "vert.png", "broken.png"}
    assert out["broken.png"]["error"] and out["vert.png"]["rotated"]
    assert all(0.0 <= p["confidence"] <= 1.0 for p in out.values())
    res = runner.invoke(app, ["predict", str(tmp_path / "none*.png"), "--model", "x.pt"])
    assert res.exit_code == 1 and "no image" in res.output


def test_export_onnx_matches_pytorch(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    res = runner.invoke(app, ["export", "onnx", "--model", str(run_dir / "last.pt"),
                              "--output", str(tmp_path / "m.onnx"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["max_abs_diff"] is not None and result["max_abs_diff"] < 1e-3
    res = runner.invoke(app, ["export", "onnx", "--model", str(tmp_path / "nope.pt"),
                              "--output", str(tmp_path / "n.onnx")])  # fmt: skip
    assert res.exit_code == 1 and "not found" in res.output
