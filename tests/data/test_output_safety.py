"""--overwrite replaces only what strtool made; no output may be, or hold, an input;
a failed run leaves the old output. Every refusal: exit 1, one line on stderr naming
the path, no traceback, and the file tree byte for byte as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import png_bytes, raw_lmdb
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_io import LmdbReader, release
from strtool.data.lmdb_writer import LmdbWriter
from strtool.outputs import MARKER, TEMP_SUFFIX

runner = CliRunner()
FONT = Path(__file__).parents[2] / "strtool/fonts/strsubset-an/StrSubsetAN-Regular.ttf"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for folders)."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


def refused(r, *names: object) -> str:
    """Assert a one-line refusal naming `names`; return the line."""
    assert r.exit_code == 1, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.output
    lines = r.stderr.strip("\n").split("\n")
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    for n in names:
        assert str(n) in lines[0], lines[0]
    return lines[0]


def gt_dir(root: Path, n: int = 3) -> Path:
    d = root / "ds"
    d.mkdir()
    for i in range(n):
        (d / f"{i}.png").write_bytes(png_bytes(20 + i, 12))
    (d / "gt.txt").write_text("".join(f"{i}.png\tw{i}\n" for i in range(n)), encoding="utf-8")
    (d / "notes.txt").write_text("unrelated\n", encoding="utf-8")
    return d


def strtool_lmdb(path: Path, n: int = 2) -> Path:
    with LmdbWriter(path) as w:
        for i in range(n):
            w.add(png_bytes(10 + i), f"s{i}", "en")
    return path


# ---- make-lmdb ----------------------------------------------------------------------


def test_make_lmdb_into_the_folder_of_its_gt_file_is_refused(tmp_path):
    d = gt_dir(tmp_path)
    before = tree(tmp_path)
    line = refused(run("make-lmdb", d / "gt.txt", d, "--overwrite"), d)
    assert "contains the input" in line
    assert tree(tmp_path) == before
    # without --overwrite the same output is refused too
    refused(run("make-lmdb", d / "gt.txt", d))
    assert tree(tmp_path) == before


@pytest.mark.parametrize("what", ["folder", "file", "foreign_lmdb", "image_root", "link"])
def test_make_lmdb_overwrite_refuses_what_strtool_did_not_make(tmp_path, what):
    d = gt_dir(tmp_path)
    out = tmp_path / "out"
    extra: list[str] = []
    if what == "folder":
        out.mkdir()
        (out / "thesis.tex").write_text("years of work", encoding="utf-8")
    elif what == "file":
        out.write_text("a file", encoding="utf-8")
    elif what == "foreign_lmdb":
        items = {b"num-samples": b"1", b"image-000000001": png_bytes(), b"label-000000001": b"x"}
        raw_lmdb(out, items)
    elif what == "image_root":
        out = d
        extra = ["--images", d]
    else:
        strtool_lmdb(tmp_path / "real")
        out.symlink_to(tmp_path / "real")
    before = tree(tmp_path)
    refused(run("make-lmdb", d / "gt.txt", out, "--overwrite", *extra), out)
    assert tree(tmp_path) == before


def test_make_lmdb_overwrite_replaces_its_own_lmdb_and_report(tmp_path):
    d = gt_dir(tmp_path)
    out = tmp_path / "out.lmdb"
    assert run("make-lmdb", d / "gt.txt", out, "-q").exit_code == 0
    (d / "gt.txt").write_text("0.png\tnew\n", encoding="utf-8")
    r = run("make-lmdb", d / "gt.txt", out, "--overwrite", "-q")
    assert r.exit_code == 0, r.output
    assert [s.label for s in LmdbReader(out)] == ["new"]
    release(out)
    assert json.loads(Path(f"{out}.report.json").read_text(encoding="utf-8"))["tool"] == "strtool"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_make_lmdb_refuses_a_foreign_report_file(tmp_path):
    d = gt_dir(tmp_path)
    report = tmp_path / "out.report.json"
    report.write_text("my own notes", encoding="utf-8")
    before = tree(tmp_path)
    refused(run("make-lmdb", d / "gt.txt", tmp_path / "out"), report)
    assert tree(tmp_path) == before


def test_failed_overwrite_keeps_the_old_lmdb(tmp_path):
    d = gt_dir(tmp_path)
    out = strtool_lmdb(tmp_path / "out")
    release(out)
    old = tree(out)
    (d / "gt.txt").write_text("missing.png\tx\n", encoding="utf-8")
    r = run("make-lmdb", d / "gt.txt", out, "--overwrite")
    assert r.exit_code == 1 and "no usable sample" in r.stderr
    assert tree(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "out", "out.report.json"]


def test_unwritable_output_is_one_line(tmp_path):
    d = gt_dir(tmp_path)
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    before = tree(tmp_path)
    refused(run("make-lmdb", d / "gt.txt", tmp_path / "afile" / "out"), "afile")
    assert tree(tmp_path) == before


# ---- lmdb export --------------------------------------------------------------------


def test_export_into_a_folder_holding_the_input_is_refused(tmp_path):
    x = strtool_lmdb(tmp_path / "dir" / "x.lmdb")
    release(x)
    before = tree(tmp_path)
    line = refused(run("lmdb", "export", x, tmp_path / "dir", "--overwrite"), tmp_path / "dir")
    assert "contains the input" in line
    refused(run("lmdb", "export", x, x, "--overwrite"), x)
    assert tree(tmp_path) == before


def test_export_overwrite_replaces_only_its_own_export(tmp_path):
    x = strtool_lmdb(tmp_path / "x.lmdb", 3)
    out = tmp_path / "exp"
    assert run("lmdb", "export", x, out).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "gt.txt", "images"]
    assert run("lmdb", "export", x, out, "--overwrite").exit_code == 0
    (out / "my_edits.txt").write_text("keep me", encoding="utf-8")
    before = tree(tmp_path)
    line = refused(run("lmdb", "export", x, out, "--overwrite"), out)
    assert "my_edits.txt" in line
    (out / "my_edits.txt").unlink()
    (out / MARKER).unlink()  # a folder that only looks like an export
    before = tree(tmp_path)
    refused(run("lmdb", "export", x, out, "--overwrite"), out, MARKER)
    assert tree(tmp_path) == before


def test_export_that_fails_keeps_the_old_export(tmp_path, monkeypatch):
    import strtool.data.lmdb_tools as tools

    x = strtool_lmdb(tmp_path / "x.lmdb", 3)
    out = tmp_path / "exp"
    assert run("lmdb", "export", x, out).exit_code == 0
    before = tree(tmp_path)

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tools, "_export_one", broken)
    refused(run("lmdb", "export", x, out, "--overwrite"), out, "No space left")
    assert tree(tmp_path) == before


# ---- lmdb merge ---------------------------------------------------------------------


def test_merge_refuses_the_same_input_twice(tmp_path):
    a = strtool_lmdb(tmp_path / "a")
    (tmp_path / "link").symlink_to(a)
    release(a)
    before = tree(tmp_path)
    refused(run("lmdb", "merge", tmp_path / "m", a, a), a, "given twice")
    refused(run("lmdb", "merge", tmp_path / "m", a, tmp_path / "link"), "given twice")
    refused(run("lmdb", "merge", a, a, "--overwrite"), a)
    assert tree(tmp_path) == before


def test_merge_reports_images_repeated_across_inputs(tmp_path):
    a = tmp_path / "a"
    with LmdbWriter(a) as w:
        w.add(png_bytes(10), "one", "en")
        w.add(png_bytes(11), "two", "en")
    b = tmp_path / "b"
    with LmdbWriter(b) as w:
        w.add(png_bytes(12), "three", "en")
        w.add(png_bytes(11), "TWO", "en")  # the image of a:2 with another label
        w.add(png_bytes(10), "one", "en")  # a:1 again
    r = run("lmdb", "merge", tmp_path / "m", a, b, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["samples"] == 5 and out["duplicates"] == 2 and out["conflicts"] == 1
    assert f"{b}:2: duplicate of {a}:2, other label 'TWO' (there 'two')" in r.stderr
    assert f"{b}:3: duplicate of {a}:1, same label" in r.stderr
    assert len(LmdbReader(tmp_path / "m")) == 5  # kept, by the stated rule
    assert LmdbReader(tmp_path / "m").meta["duplicates"] == 2


# ---- synth --------------------------------------------------------------------------


@pytest.mark.parametrize("cmd", [["words", "-n", "3"], ["chars", "--per-char", "1"]])
def test_synth_overwrite_refuses_an_unrelated_folder(tmp_path, cmd):
    folder = tmp_path / "some_folder"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff precious")
    (folder / "sub").mkdir()
    before = tree(tmp_path)
    r = run("synth", *cmd, "-l", "en", "-o", folder, "--overwrite", "-q")
    refused(r, folder, "not an LMDB written by strtool")
    assert tree(tmp_path) == before


def test_synth_output_that_holds_its_corpus_is_refused(tmp_path):
    corpus = tmp_path / "c" / "words.txt"
    corpus.parent.mkdir()
    corpus.write_text("hello\n", encoding="utf-8")
    before = tree(tmp_path)
    r = run("synth", "words", "-l", "en", "-n", "2", "--corpus", corpus, "-o", corpus.parent,
            "--overwrite", "-q")  # fmt: skip
    refused(r, corpus.parent, "contains the input")
    assert tree(tmp_path) == before


def test_synth_grid_onto_a_foreign_file_is_refused_before_rendering(tmp_path):
    grid = tmp_path / "holiday.png"
    grid.write_bytes(png_bytes())
    before = tree(tmp_path)
    r = run("synth", "words", "-l", "en", "-n", "2", "-o", tmp_path / "o", "--grid", grid, "-q")
    refused(r, grid, "contact sheet")
    assert tree(tmp_path) == before


# ---- file outputs: lmdb info --grid, fonts check --missing ----------------------------


def test_info_grid_replaces_only_its_own_sheet(tmp_path):
    x = strtool_lmdb(tmp_path / "x.lmdb")
    grid = tmp_path / "sheet.png"
    assert run("lmdb", "info", x, "--grid", grid, "-q").exit_code == 0
    assert run("lmdb", "info", x, "--grid", grid, "-q").exit_code == 0  # its own: replaced
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes())
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    release(x)
    before = tree(tmp_path)
    refused(run("lmdb", "info", x, "--grid", photo), photo, "PNG strtool did not write")
    refused(run("lmdb", "info", x, "--grid", tmp_path / "folder.png"), "folder.png")
    refused(run("lmdb", "info", x, "--grid", x / "data.mdb"), "data.mdb")
    refused(run("lmdb", "info", x, "--grid", tmp_path / "afile" / "g.png"), "afile")
    assert tree(tmp_path) == before


def test_fonts_missing_replaces_only_its_own_file(tmp_path):
    assert FONT.is_file(), FONT  # shipped: a missing font is a failure, not a skip
    out = tmp_path / "missing.tsv"
    assert run("fonts", "check", FONT, "-l", "en", "--missing", out, "-q").exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("font\tlang\tchar")
    assert run("fonts", "check", FONT, "-l", "en", "--missing", out, "-q").exit_code == 0
    notes = tmp_path / "notes.tsv"
    notes.write_text("id\tvalue\n1\t2\n", encoding="utf-8")
    before = tree(tmp_path)
    refused(run("fonts", "check", FONT, "-l", "en", "--missing", notes), notes)
    refused(run("fonts", "check", FONT, "-l", "en", "--missing", FONT), FONT)
    refused(run("fonts", "check", FONT, "-l", "en", "--missing", tmp_path / "notes.tsv" / "x"))
    assert tree(tmp_path) == before


# ---- failed and interrupted builds --------------------------------------------------


def _failing_account(monkeypatch, at: int, exc: BaseException):
    import strtool.synth.pipeline as pipe

    monkeypatch.setattr(pipe, "CHECKPOINT_EVERY", 4)
    account, calls = pipe._account, []

    def failing(report, r):
        calls.append(1)
        if len(calls) == at:
            raise exc
        account(report, r)

    monkeypatch.setattr(pipe, "_account", failing)


def test_synth_ctrl_c_says_where_the_finished_part_is(tmp_path, monkeypatch):
    _failing_account(monkeypatch, 10, KeyboardInterrupt())
    out = tmp_path / "o"
    r = run("synth", "words", "-l", "en", "-n", "16", "-o", out, "-q")
    assert r.exit_code == 130
    assert f"the finished part is kept in {out}.partial" in r.stderr and "--resume" in r.stderr
    monkeypatch.undo()
    r = run("synth", "words", "-l", "en", "-n", "16", "-o", out, "-q")
    assert r.exit_code == 1 and "interrupted run" in r.stderr
    assert run("synth", "words", "-l", "en", "-n", "16", "-o", out, "-q", "--resume").exit_code == 0
    assert len(LmdbReader(out)) == 16


def test_synth_ctrl_c_before_the_first_checkpoint_keeps_nothing(tmp_path, monkeypatch):
    _failing_account(monkeypatch, 2, KeyboardInterrupt())
    r = run("synth", "words", "-l", "en", "-n", "16", "-o", tmp_path / "o", "-q")
    assert r.exit_code == 130 and "nothing was kept" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_after_a_failed_build_the_next_run_does_not_say_interrupted(tmp_path, monkeypatch):
    _failing_account(monkeypatch, 10, RuntimeError("disk on fire"))
    out = tmp_path / "o"
    r = run("synth", "words", "-l", "en", "-n", "16", "-o", out, "-q")
    assert isinstance(r.exception, RuntimeError)  # a bug, not a user error: propagates
    monkeypatch.undo()
    r = run("synth", "words", "-l", "en", "-n", "16", "-o", out, "-q")
    line = refused(r, f"{out}.partial", "stopped with an error", "disk on fire", "--resume")
    assert "interrupted" not in line


def test_make_lmdb_failed_build_is_named_as_failed(tmp_path):
    from strtool.data.build import make_lmdb
    from strtool.errors import InputError

    d = tmp_path / "src"
    d.mkdir()
    for i in range(600):
        (d / f"{i}.png").write_bytes(png_bytes(8 + i % 3, 8))
    (d / "gt.txt").write_text("".join(f"{i}.png\tw{i}\n" for i in range(600)), encoding="utf-8")

    def boom(done, total):
        raise ValueError("progress display broke")

    with pytest.raises(ValueError):
        make_lmdb(d, tmp_path / "out", workers=1, progress=boom)
    with pytest.raises(InputError, match="stopped with an error .*progress display broke"):
        make_lmdb(d, tmp_path / "out", workers=1)
    assert make_lmdb(d, tmp_path / "out", workers=1, resume=True).written == 600


@pytest.mark.parametrize("name", ["out.partial", "out.partial.lock"])
def test_foreign_partial_folder_or_lock_file_is_left_alone(tmp_path, name):
    d = gt_dir(tmp_path)
    p = tmp_path / name
    if name.endswith(".lock"):
        p.write_text("someone's file", encoding="utf-8")
    else:
        p.mkdir()
        (p / "file").write_text("someone's file", encoding="utf-8")
    before = tree(tmp_path)
    refused(run("make-lmdb", d / "gt.txt", tmp_path / "out", "--overwrite"), p)
    assert tree(tmp_path) == before
