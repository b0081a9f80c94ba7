"""bench/semi.py: the 95 % interval, the disjoint word split, and a smoke run at tiny
scale (data, the supervised checkpoint, the four fine-tuning runs, the table)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_modules import load_bench


def test_disjoint_words() -> None:
    bench = load_bench("semi")
    unl, test = bench.split_vocab(["en", "bn"], 200)
    for lang in ("en", "bn"):
        assert unl[lang] and test[lang] and not set(unl[lang]) & set(test[lang])


@pytest.mark.slow  # renders 4 tiny LMDBs and trains 6 tiny runs
def test_semi_bench_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench("semi")
    res = bench.main(["--workdir", str(tmp_path), "--tiny", "--fractions", "0.5",
                      "--device", "cpu", "--threads", "2"])  # fmt: skip
    runs = res["fractions"]["0.5"]["runs"]
    r0 = runs["supervised"]
    assert list(runs) == ["supervised", *bench.METHODS]
    for r in runs.values():
        assert r["shifted"]["n"] == r["source"]["n"] == 24
        assert sum(g["n"] for g in r["shifted"]["langs"].values()) == 24
        lo, hi = r["shifted"]["wrr_95"]
        assert 0 <= lo <= r["shifted"]["wrr"] <= hi <= 1
        lo, hi = r["source"]["crr_95"]
        assert lo <= r["source"]["crr"] + 1e-9 and r["source"]["crr"] <= hi + 1e-9
    assert res["fractions"]["0.5"]["cap_per_lang"] == 24
    assert json.loads((tmp_path / "results.json").read_text())["fractions"]
    out = capsys.readouterr().out
    assert "| contrastive+consistency |" in out
    from strtool.data.lmdb_io import LmdbReader

    assert LmdbReader(tmp_path / "data" / "unlabeled").unlabeled
    assert (tmp_path / "f0.5" / "contrastive_consistency" / "last.pt").is_file()
    # --supervised: every fraction starts from the given checkpoint (no pretraining),
    # with its architecture and charset
    sup = tmp_path / "f0.5" / "supervised" / "last.pt"
    res = bench.main(["--workdir", str(tmp_path / "w2"), "--tiny", "--fractions", "1",
                      "--device", "cpu", "--threads", "2", "--arch", "svtr_tiny",
                      "--supervised", str(sup)])  # fmt: skip
    runs = res["fractions"]["1"]["runs"]
    assert list(runs) == ["supervised", *bench.METHODS]
    assert not (tmp_path / "w2" / "f1" / "supervised").exists()
    from strtool.engine.checkpoint import load_checkpoint

    ft = load_checkpoint(tmp_path / "w2" / "f1" / "consistency" / "last.pt")
    assert ft["config"]["model"]["arch"] == load_checkpoint(sup)["config"]["model"]["arch"]
    assert runs["supervised"]["shifted"] == r0["shifted"]
    # --only: one run trained, nothing scored; the next call reuses it and tabulates
    w3 = tmp_path / "w3"
    (w3 / "data").parent.mkdir()
    (w3 / "data").symlink_to(tmp_path / "w2" / "data")
    only = ["--workdir", str(w3), "--tiny", "--fractions", "1", "--device", "cpu",
            "--threads", "2", "--arch", "svtr_tiny", "--supervised", str(sup),
            "--methods", "consistency"]  # fmt: skip
    res = bench.main([*only, "--only", "consistency"])
    assert res["fractions"] == {} and not (w3 / "results.json").exists()
    assert sorted(p.name for p in (w3 / "f1").iterdir()) == ["consistency"]
    mtime = (w3 / "f1" / "consistency" / "last.pt").stat().st_mtime_ns
    res = bench.main(only)
    assert list(res["fractions"]["1"]["runs"]) == ["supervised", "labeled_only", "consistency"]
    assert (w3 / "f1" / "consistency" / "last.pt").stat().st_mtime_ns == mtime
    # a variant: --tag and --set; the baseline is reused, the variant has its own folder
    res = bench.main([*only, "--tag", "th5", "--set", "semi.threshold=0.5"])
    assert list(res["fractions"]["1"]["runs"]) == ["supervised", "labeled_only", "consistency-th5"]
    var = load_checkpoint(w3 / "f1" / "consistency-th5" / "last.pt")["config"]["semi"]
    assert var["threshold"] == 0.5 and var["method"] == "consistency"
    plain = load_checkpoint(w3 / "f1" / "consistency" / "last.pt")["config"]["semi"]
    assert plain["threshold"] == 0.9
    assert (w3 / "results-th5.json").is_file()
    for bad in (
        ["--methods", "pseudo", "--only", "consistency"],
        ["--set", "semi.weight=2"],
        ["--tag", "a/b"],
    ):
        with pytest.raises(SystemExit):
            bench.parse_args(["--workdir", "x", *bad])


def test_a_stopped_bench_ends_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    from strtool.errors import InputError, Interrupted

    stopping = load_bench("stopping")

    def stopped() -> None:
        raise Interrupted("stopped by SIGTERM after step 3 of 9; x/last.pt holds it", 15)

    def bad() -> None:
        raise InputError("data.train: x: not an LMDB")

    with pytest.raises(SystemExit) as e:
        stopping.run_bench(stopped)
    assert e.value.code == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert err.startswith("interrupted: stopped by SIGTERM after step 3") and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        stopping.run_bench(bad)
    assert e.value.code == 1
    assert capsys.readouterr().err.strip() == "error: data.train: x: not an LMDB"
