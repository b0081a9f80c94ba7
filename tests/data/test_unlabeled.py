"""Unlabeled LMDBs: `make-lmdb --unlabeled` from a folder or a file list, `lmdb
info/validate/merge` on them, `synth words --unlabeled`, and the unlabeled dataset
(images only, never a label)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import Stop, png_bytes, stop_after
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data import unlabeled
from strtool.data.lmdb_io import LmdbReader, label_key
from strtool.data.lmdb_writer import LmdbWriter
from strtool.data.transforms import ResizeNormalize
from strtool.data.unlabeled import UnlabeledDataset, collate_images, make_unlabeled_lmdb

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _labeled(path: Path, n: int = 3) -> Path:
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for i in range(n):
            w.add(png_bytes(20 + i, 16), f"w{i}", "en")
    return path


def test_make_lmdb_unlabeled_from_folder_skips_and_counts(images_dir: Path, tmp_path: Path) -> None:
    (images_dir / "notes.txt").write_text("not an image")
    (images_dir / ".hidden").mkdir()
    (images_dir / ".hidden" / "x.png").write_bytes(png_bytes())
    out = tmp_path / "bare"
    r = run("make-lmdb", images_dir, out, "--unlabeled", "--lang", "LAT", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["written"] == 5 and res["skipped"]["corrupt"] == 2 and res["unlabeled"]
    assert "empty.png" in r.stderr and "trunc.png" in r.stderr
    reader = LmdbReader(out)
    assert reader.unlabeled and reader.meta["unlabeled"] is True and len(reader) == 5
    assert reader.get_raw(label_key(1)) is None  # no label key at all, not a magic value
    assert reader.image(0) == (images_dir / "ok.jpg").read_bytes()  # sorted path order
    assert reader.lang(0) == "LAT"
    r = run("lmdb", "info", out, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["unlabeled"] and info["samples"] == 5 and info["langs"] == {"LAT": 5}
    r = run("lmdb", "info", out, "--grid", tmp_path / "sheet.png")
    assert r.exit_code == 0 and "none (unlabeled)" in r.stdout
    assert (tmp_path / "sheet.png").is_file()
    r = run("lmdb", "info", out, "--lang", "en")
    assert r.exit_code == 1 and "no labels" in r.stderr
    r = run("lmdb", "validate", out)
    assert r.exit_code == 0 and "OK" in r.stdout, r.output


def test_make_lmdb_unlabeled_from_file_list(images_dir: Path, tmp_path: Path) -> None:
    lst = tmp_path / "list.txt"
    lst.write_text(
        f"# crops\n{images_dir.name}/ok1.png\n\n{images_dir.name}/ok0.png\n"
        f"{images_dir.name}/ok1.png\n{images_dir.name}/gone.png\n",
        encoding="utf-8",
    )
    res = make_unlabeled_lmdb(lst, tmp_path / "bare")
    assert res.written == 2
    assert res.skipped == {"missing": 1, "corrupt": 0, "duplicate": 1}
    assert [i.where for i in res.issues] == [f"{lst}:5", f"{lst}:6"]
    reader = LmdbReader(tmp_path / "bare")
    assert reader.image(0) == (images_dir / "ok1.png").read_bytes()
    # nothing usable: one line, nothing written
    bad = tmp_path / "bad.txt"
    bad.write_text("gone.png\n", encoding="utf-8")
    r = run("make-lmdb", bad, tmp_path / "none", "--unlabeled")
    assert r.exit_code == 1 and "no usable image" in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "none").exists()
    r = run("make-lmdb", bad, tmp_path / "none", "--unlabeled", "--format", "tsv")
    assert r.exit_code == 1 and "do not apply" in r.stderr


def test_unlabeled_lmdb_refuses_labels_and_label_reads(tmp_path: Path) -> None:
    out = make_unlabeled_lmdb(_folder(tmp_path), tmp_path / "bare").output
    r = run("lmdb", "export", out, tmp_path / "exp")
    assert r.exit_code == 1 and "unlabeled LMDB" in r.stderr
    assert not (tmp_path / "exp").exists()
    # a training set (labels needed) names the problem instead of reading garbage
    from strtool.data.dataset import LmdbDataset
    from strtool.errors import DataError

    try:
        LmdbDataset([out])
    except DataError as e:
        assert "unlabeled" in str(e)
    else:
        raise AssertionError("an unlabeled LMDB was accepted as a labeled training set")


def _folder(tmp_path: Path, n: int = 3) -> Path:
    d = tmp_path / "crops"
    d.mkdir()
    for i in range(n):
        (d / f"{i}.png").write_bytes(png_bytes(24 + i, 16, (i * 60, 0, 0)))
    return d


def test_merge_unlabeled_and_mixed(tmp_path: Path) -> None:
    bare = make_unlabeled_lmdb(_folder(tmp_path), tmp_path / "bare").output
    bare2 = make_unlabeled_lmdb(tmp_path / "crops", tmp_path / "bare2").output
    lab = _labeled(tmp_path / "lab")
    r = run("lmdb", "merge", tmp_path / "m1", bare, bare2, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["unlabeled"] and res["samples"] == 6 and res["duplicates"] == 3
    assert LmdbReader(tmp_path / "m1").unlabeled
    r = run("lmdb", "merge", tmp_path / "m2", lab, bare)
    assert r.exit_code == 1 and "--drop-labels" in r.stderr
    assert not (tmp_path / "m2").exists()
    r = run("lmdb", "merge", tmp_path / "m2", lab, bare, "--drop-labels")
    assert r.exit_code == 0 and "(unlabeled)" in r.stdout, r.output
    m2 = LmdbReader(tmp_path / "m2")
    assert m2.unlabeled and len(m2) == 6 and m2.get_raw(label_key(1)) is None
    assert m2.lang(0) == "en" and m2.image(0) == LmdbReader(lab).image(0)
    r = run("lmdb", "validate", tmp_path / "m2")
    assert r.exit_code == 0, r.output


def test_validate_flags_a_label_in_an_unlabeled_lmdb(tmp_path: Path) -> None:
    out = make_unlabeled_lmdb(_folder(tmp_path), tmp_path / "bare").output
    import lmdb

    env = lmdb.open(str(out))
    with env.begin(write=True) as txn:
        txn.put(label_key(2), b"oops")
    env.close()
    r = run("lmdb", "validate", out)
    assert r.exit_code == 1 and "a label in an unlabeled LMDB" in r.stdout


def test_synth_words_unlabeled(tmp_path: Path) -> None:
    out = tmp_path / "s"
    shift = ("--fonts", "heldout", "--config", "synth/domain_shift")
    r = run("synth", "words", "-o", out, "--lang", "en,bn", "-n", "6", *shift, "--unlabeled",
            "-q", "--grid", tmp_path / "g.png")  # fmt: skip
    assert r.exit_code == 0, r.output
    reader = LmdbReader(out)
    assert reader.unlabeled and len(reader) == 6 and {reader.lang(i) for i in range(6)} == {
        "en", "bn"}  # fmt: skip
    assert all(reader.get_raw(label_key(i)) is None for i in range(1, 7))
    assert (tmp_path / "g.png").is_file()
    fonts = reader.meta["counts"]["per_font"]
    assert any("Serif" in f or "Clear" in f or "StrSubset" in f for f in fonts), fonts
    r = run("synth", "words", "-o", tmp_path / "l", "--lang", "en,bn", "-n", "6", *shift, "-q")
    assert r.exit_code == 0
    assert LmdbReader(tmp_path / "l").image(3) == reader.image(3)  # same renderings


def test_unlabeled_dataset_yields_images_only(tmp_path: Path) -> None:
    bare = make_unlabeled_lmdb(_folder(tmp_path), tmp_path / "bare").output
    lab = _labeled(tmp_path / "lab", 2)
    ds = UnlabeledDataset([bare, lab], ResizeNormalize(32, 100))
    assert len(ds) == 5 and ds.labeled_sources == 1
    items = [ds[i] for i in range(5)]
    assert all(isinstance(x, torch.Tensor) and x.shape == (3, 32, 100) for x in items)
    images, bad = collate_images(items)
    assert images is not None and images.shape == (5, 3, 32, 100) and bad == []


def test_unlabeled_dataset_marks_unreadable_images(tmp_path: Path) -> None:
    from strtool.data.dataset import BadSample

    with LmdbWriter(tmp_path / "bad", meta={"unlabeled": True}) as w:
        w.add(png_bytes(30, 16), None)
        w.add(b"not an image at all", None)
    ds = UnlabeledDataset([tmp_path / "bad"], ResizeNormalize(32, 100))
    items = [ds[0], ds[1]]
    assert isinstance(items[1], BadSample) and "image-000000002" in items[1].where
    images, bad = collate_images(items)
    assert images is not None and images.shape[0] == 1 and bad == [items[1]]
    assert collate_images([items[1]])[0] is None
    with LmdbWriter(tmp_path / "x", meta={"unlabeled": True}) as w:
        try:
            w.add(png_bytes(), "a label")
        except ValueError as e:
            assert "unlabeled" in str(e)
        else:
            raise AssertionError("an unlabeled writer took a label")
        w.add(png_bytes(), None)


def test_unlabeled_build_resumes_to_the_same_lmdb_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted after its first progress call (entry 256, past no checkpoint) and
    after its third (entry 768, past the checkpoint at 512): --resume continues from the
    last checkpoint and gives the LMDB and report of an uninterrupted build, repeats
    and bad files included."""
    from strtool.errors import InputError

    d = tmp_path / "many"
    d.mkdir()
    for i in range(1100):
        (d / f"{i:04d}.png").write_bytes(png_bytes(20 + i % 7, 16) if i % 97 else b"")
    lst = tmp_path / "list.txt"
    names = [f"many/{i:04d}.png" for i in range(1100)] + ["many/0003.png", "many/gone.png"]
    lst.write_text("\n".join(names[:600] + names[1100:] + names[600:1100]) + "\n")
    ref = make_unlabeled_lmdb(lst, tmp_path / "ref")

    out = tmp_path / "out"
    with pytest.raises(Stop):
        make_unlabeled_lmdb(lst, out, progress=stop_after(3))
    assert (tmp_path / "out.partial").is_dir() and not out.exists()
    with pytest.raises(InputError, match="--resume"):
        make_unlabeled_lmdb(lst, out)
    done: list[int] = []
    checked: list[int] = []
    real_check = unlabeled.image_problem
    monkeypatch.setattr(
        unlabeled,
        "image_problem",
        lambda data, decode: checked.append(1) or real_check(data, decode),
    )
    res = make_unlabeled_lmdb(lst, out, resume=True, progress=lambda d, t: done.append(d))
    monkeypatch.undo()
    assert done[0] == 768  # the checkpointed 512 entries are not redone
    # nor read again: entries 513-1102 less the repeat and the missing file
    assert len(checked) == 1102 - 512 - 2
    assert (res.written, res.skipped) == (ref.written, ref.skipped)
    assert res.skipped == {"missing": 1, "corrupt": 12, "duplicate": 1}
    assert [i.__dict__ for i in res.issues] == [i.__dict__ for i in ref.issues]
    a, b = LmdbReader(tmp_path / "ref"), LmdbReader(out)
    assert len(a) == len(b) and all(a.image(i) == b.image(i) for i in range(len(a)))
    rep = [json.loads((tmp_path / f"{n}.report.json").read_text()) for n in ("ref", "out")]
    assert rep[0]["written"] == rep[1]["written"] and rep[0]["issues"] == rep[1]["issues"]
    # a changed list is refused
    with pytest.raises(Stop):
        make_unlabeled_lmdb(lst, tmp_path / "o2", progress=stop_after(3))
    lst.write_text("\n".join(names[:1100]) + "\n")
    with pytest.raises(InputError, match="changed"):
        make_unlabeled_lmdb(lst, tmp_path / "o2", resume=True)
