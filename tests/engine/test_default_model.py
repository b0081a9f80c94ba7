"""The recogniser strtool ships (for now the committed fp16 snapshot of its training
run, `weights/default_model_snapshot.pt`): inputs in the forms users' files come in
read the same, and batch 1 reads what a batch of many reads. Crops: the example crops
of the README (`examples/crops`, held-out fonts and words)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from strtool.engine.predict import predict_paths
from strtool.engine.reader import open_reader
from strtool.paths import REPO_ROOT

MODEL = REPO_ROOT / "weights" / "default_model_snapshot.pt"
EXAMPLES = REPO_ROOT / "examples" / "crops"


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
