"""CLI behaviour of make-lmdb and the lmdb group: progress on stderr, one-line errors."""

import json
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


def test_output_as_option_or_positional(tmp_path):
    """make-lmdb, lmdb export and lmdb merge take their output as the positional
    argument or as -o/--output (as synth, train and export onnx do): the same result
    either way; both at once, or neither, is one error line."""
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(png_bytes(10 + i))
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{i}.png\tw{i}\n" for i in range(3)), encoding="utf-8")
    d = tmp_path
    for args in (["make-lmdb", gt, d / "a"], ["make-lmdb", gt, "-o", d / "b"],
                 ["lmdb", "export", d / "a", d / "ea"], ["lmdb", "export", d / "a", "-o", d / "eb"],
                 ["lmdb", "merge", d / "ma", d / "a", d / "b"],
                 ["lmdb", "merge", "-o", d / "mb", d / "a", d / "b"],
                 ["lmdb", "merge", d / "a", d / "b", "--output", d / "mc"]):  # fmt: skip
        r = run(*args, "-q")
        assert r.exit_code == 0, (args, r.output)
    assert (d / "ea" / "gt.txt").read_bytes() == (d / "eb" / "gt.txt").read_bytes()
    infos = [json.loads(run("lmdb", "info", d / m, "--json").stdout) for m in ("ma", "mb", "mc")]
    for x in infos:
        assert x.pop("path") and x["samples"] == 6
    assert infos[0] == infos[1] == infos[2]
    for args, msg in (
        (["make-lmdb", gt, d / "c", "-o", d / "c2"], "output given twice"),
        (["make-lmdb", gt], "missing output: give -o/--output"),
        (["lmdb", "export", d / "a"], "missing output"),
        (["lmdb", "merge", "-o", d / "md"], "Missing argument"),
        (["lmdb", "merge", d / "me"], "no input LMDB given"),
    ):
        r = run(*args)
        assert r.exit_code in (1, 2) and msg in r.output, (args, r.output)
        assert "Traceback" not in r.output
    assert not any((d / x).exists() for x in ("c", "c2", "md", "me"))
