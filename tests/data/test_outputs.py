"""strtool.outputs: atomic writes, folder swap with rollback, ownership checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import png_bytes

from strtool.data.lmdb_io import LMDB_KIND
from strtool.errors import InputError
from strtool.outputs import (
    TEMP_SUFFIX,
    atomic_write_bytes,
    atomic_write_text,
    building_dir,
    check_output,
    check_replaceable,
    is_temp,
    replace_dir,
    text_kind,
    write_marker,
)


def test_atomic_write_replaces_and_cleans_up(tmp_path, monkeypatch):
    p = tmp_path / "sub" / "f.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text(encoding="utf-8") == "two"
    assert os.listdir(p.parent) == ["f.txt"]

    def no_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(InputError, match=r"cannot write .*f.txt: No space left"):
        atomic_write_bytes(p, b"three")
    assert p.read_text(encoding="utf-8") == "two" and os.listdir(p.parent) == ["f.txt"]


def test_atomic_write_errors_are_one_line(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="is a file, not a folder"):
        atomic_write_text(tmp_path / "file" / "deeper" / "out.txt", "x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match="it is a folder"):
        atomic_write_text(tmp_path / "dir", "x")


def test_building_dir_keeps_the_old_folder_on_failure(tmp_path):
    dst = tmp_path / "out"
    with building_dir(dst) as tmp:
        (tmp / "a").write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), building_dir(dst) as tmp:
        (tmp / "a").write_text("new", encoding="utf-8")
        raise RuntimeError
    assert (dst / "a").read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["out"]
    with building_dir(dst) as tmp:
        (tmp / "b").write_text("new", encoding="utf-8")
    assert os.listdir(dst) == ["b"] and os.listdir(tmp_path) == ["out"]


def test_replace_dir_puts_the_old_folder_back_when_the_swap_fails(tmp_path, monkeypatch):
    dst, src = tmp_path / "out", tmp_path / "new"
    dst.mkdir()
    (dst / "keep").write_text("x", encoding="utf-8")
    src.mkdir()
    real, calls = os.replace, []

    def flaky(a, b):
        calls.append((a, b))
        if len(calls) == 2:  # moving the new folder in fails
            raise OSError(13, "Permission denied")
        real(a, b)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(InputError, match="Permission denied"):
        replace_dir(src, dst)
    assert (dst / "keep").is_file() and src.is_dir()
    assert not [p for p in tmp_path.iterdir() if is_temp(p)]


def test_ownership_checks(tmp_path):
    lmdb_like = tmp_path / "x"
    lmdb_like.mkdir()
    (lmdb_like / "data.mdb").write_bytes(b"\0" * 100)
    with pytest.raises(InputError, match="not a readable LMDB"):
        check_replaceable(lmdb_like, LMDB_KIND)
    check_replaceable(tmp_path / "new", LMDB_KIND)  # absent: fine
    with pytest.raises(InputError, match="exists .use --overwrite"):
        check_output(lmdb_like, LMDB_KIND)
    exp = tmp_path / "exp"
    (exp / "images").mkdir(parents=True)
    (exp / "gt.txt").write_text("", encoding="utf-8")
    write_marker(exp, "export")
    check_replaceable(exp, "export")
    write_marker(exp, "run")  # a marker of another kind
    with pytest.raises(InputError, match="marker"):
        check_replaceable(exp, "export")
    sheet = tmp_path / "s.png"
    sheet.write_bytes(png_bytes())
    with pytest.raises(InputError, match="PNG strtool did not write"):
        check_replaceable(sheet, "sheet")
    kind = text_kind("a dump", "key\tvalue")
    (tmp_path / "d.tsv").write_text("key\tvalue\n1\t2\n", encoding="utf-8")
    check_replaceable(tmp_path / "d.tsv", kind)
    (tmp_path / "e.tsv").write_text("key\tother\n", encoding="utf-8")
    with pytest.raises(InputError, match="is not a dump"):
        check_replaceable(tmp_path / "e.tsv", kind)


def test_inputs_are_never_outputs(tmp_path):
    (tmp_path / "in").mkdir()
    gt = tmp_path / "in" / "gt.txt"
    gt.write_text("x", encoding="utf-8")
    for out in (gt, tmp_path / "in", tmp_path):
        with pytest.raises(InputError, match="input"):
            check_replaceable(out, LMDB_KIND, [gt])
    os.symlink(tmp_path / "in", tmp_path / "alias")
    with pytest.raises(InputError, match="contains the input"):
        check_replaceable(tmp_path / "alias", LMDB_KIND, [gt])
    check_replaceable(tmp_path / "in" / "out.lmdb", LMDB_KIND, [gt])  # beside the input: fine


def test_temp_names():
    assert is_temp(Path(f".x.lmdb.abc{TEMP_SUFFIX}")) and not is_temp(Path("x.lmdb"))
