"""CLI behaviour of make-lmdb and the lmdb group: progress on stderr, one-line errors."""

import os

import pytest
from conftest import png_bytes
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_io import release
from strtool.data.lmdb_writer import LmdbWriter

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_make_lmdb_progress_bar_with_rate(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(png_bytes(10 + i))
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{i}.png\tw{i}\n" for i in range(5)), encoding="utf-8")
    r = run("make-lmdb", gt, tmp_path / "db", "--check")
    assert r.exit_code == 0, r.output
    bar = [line for line in r.stderr.splitlines() if line.startswith("make-lmdb")]
    assert len(bar) == 1 and "5/5" in bar[0] and "/s" in bar[0]
    assert "make-lmdb" not in r.stdout  # results only on stdout
    r = run("make-lmdb", gt, tmp_path / "db2", "--check", "--quiet")
    assert r.exit_code == 0 and r.stderr == ""


@pytest.fixture
def broken(tmp_path):
    """A truncated LMDB, an empty folder and a good LMDB."""
    with LmdbWriter(tmp_path / "trunc") as w:
        for _ in range(30):
            w.add(os.urandom(4000), "x")
    release(tmp_path / "trunc")
    data = tmp_path / "trunc" / "data.mdb"
    os.truncate(data, data.stat().st_size // 3)
    (tmp_path / "empty").mkdir()
    with LmdbWriter(tmp_path / "good") as w:
        w.add(png_bytes(), "ok", "en")
    return tmp_path


@pytest.mark.parametrize("which,msg", [("trunc", "data.mdb is truncated"),
                                       ("empty", "not an LMDB (no data.mdb)")])  # fmt: skip
@pytest.mark.parametrize(
    "cmd",
    [["lmdb", "info", "{x}"], ["lmdb", "validate", "{x}"], ["lmdb", "merge", "{d}/m", "{x}"],
     ["lmdb", "merge", "{d}/m", "{d}/good", "{x}"], ["lmdb", "export", "{x}", "{d}/e"],
     ["make-lmdb", "{x}", "{d}/o", "--format", "lmdb"]],
)  # fmt: skip
def test_broken_lmdb_one_line_error(broken, cmd, which, msg):
    r = run(*[a.format(x=broken / which, d=broken) for a in cmd])
    assert r.exit_code == 1
    assert r.stdout == ""
    lines = r.stderr.strip("\n").split("\n")
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and msg in lines[0] and str(broken / which) in lines[0]
    assert not (broken / "m").exists() and not (broken / "e").exists()
    assert not [p for p in broken.iterdir() if ".tmp-" in p.name]
