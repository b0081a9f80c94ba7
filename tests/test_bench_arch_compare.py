"""bench/arch_compare.py: variants, CPU time of a process tree, points and the report."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from bench_modules import load_bench

from strtool.evaluation.intervals import wilson

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_variants_parse() -> None:
    b = load_bench("arch_compare")
    v = b.parse_variant("h8_small")
    assert (v.name, v.arch, v.sets) == ("h8_small", "h8_small", [])
    v = b.parse_variant("fast=crnn_small:train.amp=bf16,train.threads=1")
    assert (v.name, v.arch, v.sets) == ("fast", "crnn_small", ["train.amp=bf16", "train.threads=1"])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_tree_cpu_counts_live_children() -> None:
    b = load_bench("arch_compare")
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n"
    child = subprocess.Popen([sys.executable, "-c", spin + "time.sleep(30)"])
    try:
        deadline = time.time() + 30
        while b.tree_cpu_seconds(child.pid) < 0.5 and time.time() < deadline:
            time.sleep(0.1)
        parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            # the child's CPU counts towards a tree only when it is inside that tree
            assert b.tree_cpu_seconds(child.pid) >= 0.5
            assert b.tree_cpu_seconds(parent.pid) < 0.5
        finally:
            parent.kill()
    finally:
        child.kill()


def test_point_places_a_validation_record_with_its_interval() -> None:
    b = load_bench("arch_compare")
    rec = {
        "kind": "val", "step": 700, "wrr": 0.25, "crr": 0.5,
        "report": {"rows": [
            {"group": "en", "wrr": 0.5, "n": 20}, {"group": "hi", "wrr": 0.0, "n": 20},
            {"group": "pooled", "wrr": 0.25, "n": 40}, {"group": "macro", "wrr": 0.25, "n": 40},
        ]},
    }  # fmt: skip
    p = b.point(rec, 123.0)
    assert p["step"] == 700 and p["cpu_s"] == 123.0 and p["n"] == 40
    assert (p["wrr_lo"], p["wrr_hi"]) == pytest.approx(wilson(10, 40))
    assert p["lang_en"] == 0.5 and p["lang_hi"] == 0.0 and "lang_pooled" not in p
