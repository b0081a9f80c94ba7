"""make-lmdb resumes an interrupted build: same LMDB and report as one run."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import lmdb
import pytest
from conftest import Stop, png_bytes, stop_after
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.build import make_lmdb
from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_writer import PART_PREFIX, PROGRESS_KEY
from strtool.errors import InputError


def gt_folder(root: Path, n: int = 1100) -> Path:
    """n images (> 4 chunks of 256) with a missing image, an empty file and an empty
    label spread over different chunks; every other sample tagged fr."""
    src = root / "src"
    src.mkdir()
    lines = []
    for i in range(n):
        name = f"{i}.png"
        if i != 700:  # missing
            data = b"" if i == 300 else png_bytes(8 + i % 5, 8, (i % 256, 0, 0))
            (src / name).write_bytes(data)
        label = "" if i == 900 else f"w{i}é"
        lines.append(f"{name}\t{label}" + ("\tfr" if i % 2 else ""))
    (src / "gt.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def all_items(path: Path) -> dict[bytes, bytes]:
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        items = {bytes(k): bytes(v) for k, v in txn.cursor()}
    env.close()
    return items


def report_without_time(path: Path) -> dict:
    rep = json.loads(Path(f"{path}.report.json").read_text(encoding="utf-8"))
    rep.pop("seconds")
    rep.pop("output")
    rep.pop("report")
    return rep


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupted_build_resumes_to_the_same_lmdb(tmp_path, workers):
    src = gt_folder(tmp_path)
    ref = make_lmdb(src, tmp_path / "ref", check=True, workers=1)
    out = tmp_path / "out"
    with pytest.raises(Stop):
        make_lmdb(src, out, check=True, workers=workers, progress=stop_after(2))
    partial = tmp_path / "out.partial"
    assert partial.is_dir() and not out.exists()
    # the partial build holds exactly the first two chunks and their issue record
    part = all_items(partial)
    state = json.loads(part[PROGRESS_KEY])
    assert state["state"]["done"] == 512 and state["count"] == 511  # entry 300 is empty
    assert any(k.startswith(PART_PREFIX) for k in part)
    with pytest.raises(InputError, match="--resume"):
        make_lmdb(src, out, check=True, workers=workers)
    done = []
    res = make_lmdb(src, out, check=True, workers=workers, resume=True,
                    progress=lambda d, t: done.append(d))  # fmt: skip
    assert done[0] == 768  # the finished chunks are not redone
    assert res.written == ref.written == 1097 and res.skipped == ref.skipped
    assert res.issues == ref.issues and res.langs == ref.langs
    assert not partial.exists()
    a, b = all_items(tmp_path / "ref"), all_items(out)
    a.pop(b"meta"), b.pop(b"meta")
    assert a == b  # no progress records left, same samples and keys
    assert report_without_time(tmp_path / "ref") == report_without_time(out)
    assert LmdbReader(out).label(0) == "w0é"


def test_resume_refuses_changed_input_and_overwrite_restarts(tmp_path):
    src = gt_folder(tmp_path, 600)
    out = tmp_path / "out"
    with pytest.raises(Stop):
        make_lmdb(src, out, workers=1, progress=stop_after(1))
    with pytest.raises(InputError, match=r"check changed"):
        make_lmdb(src, out, workers=1, check=True, resume=True)
    gt = src / "gt.txt"
    (src / "new.png").write_bytes(png_bytes())
    gt.write_text(gt.read_text(encoding="utf-8") + "new.png\tnew\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"size, mtime_ns, entries changed"):
        make_lmdb(src, out, workers=1, resume=True)
    res = make_lmdb(src, out, workers=1, overwrite=True)
    assert res.written == 601 - 1 and not (tmp_path / "out.partial").exists()


def test_resume_without_partial_is_a_normal_build(tmp_path):
    src = gt_folder(tmp_path, 40)
    assert make_lmdb(src, tmp_path / "out", workers=1, resume=True).written == 40


# Runs make-lmdb in a child process that SIGKILLs itself right after its second
# checkpoint (a fixed kill point: no race with a build that finishes first).
_KILLED_AT_SECOND_CHECKPOINT = """
import os, signal, sys
from strtool.data import lmdb_writer
from strtool.cli import main

checkpoint = lmdb_writer.LmdbWriter.checkpoint
calls = []

def killed_after_two(self, *args, **kwargs):
    checkpoint(self, *args, **kwargs)
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)

lmdb_writer.LmdbWriter.checkpoint = killed_after_two
sys.argv = ["strtool", *sys.argv[1:]]
main()
"""


def test_cli_resume_after_a_killed_process(tmp_path, monkeypatch):
    """A make-lmdb process killed with SIGKILL after two committed chunks: they survive,
    and --resume continues from them (not from scratch) to the same samples as an
    uninterrupted build."""
    import strtool.data.build as build

    src = gt_folder(tmp_path)  # 1100 entries: 5 chunks of 256
    out = tmp_path / "out"
    partial = tmp_path / "out.partial"
    args = ["make-lmdb", str(src), str(out), "--check", "-j", "1", "-q"]
    proc = subprocess.run([sys.executable, "-c", _KILLED_AT_SECOND_CHECKPOINT, *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not out.exists()
    assert json.loads(all_items(partial)[PROGRESS_KEY])["state"]["done"] == 512
    starts = []
    prepared_chunks = build.prepared_chunks

    def recording(*a, **kw):
        starts.append(kw["start"])
        return prepared_chunks(*a, **kw)

    monkeypatch.setattr(build, "prepared_chunks", recording)
    r = CliRunner().invoke(app, [*args[:-1], "--resume", "--json"])
    assert r.exit_code == 0, r.output
    assert starts == [512]  # continued after the two committed chunks
    assert json.loads(r.stdout)["written"] == 1097 and not partial.exists()
    monkeypatch.undo()
    ref = make_lmdb(src, tmp_path / "ref", check=True, workers=1)
    a, b = all_items(tmp_path / "ref"), all_items(out)
    a.pop(b"meta"), b.pop(b"meta")
    assert a == b and ref.written == 1097


def test_a_second_writer_of_the_same_output_is_refused(tmp_path):
    from strtool.data.lmdb_writer import LmdbWriter

    out = tmp_path / "out"
    first = LmdbWriter(out, job={"input": 1})
    with pytest.raises(InputError, match="another process is writing it"):
        LmdbWriter(out, job={"input": 1}, resume=True)
    first.add(png_bytes(), "a")
    first.close()
    assert not (tmp_path / "out.partial.lock").exists()
    assert LmdbReader(out).label(0) == "a"
