"""bench/train_speed.py --quick runs end to end and prints every figure: the in-run
reference (CLL-STR's CRNN step), strtool's crnn / svtr_tiny / crnn_tiny in both memory
formats, the ratios against the reference and the faster format per architecture."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from bench_modules import load_bench

pytestmark = pytest.mark.slow  # runs the training-speed bench in a subprocess

BENCH = Path(__file__).resolve().parents[1] / "bench" / "train_speed.py"
NUM = r"\d+\.\d+"


@pytest.fixture(scope="module")
def quick_output() -> str:
    r = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_prints_rates_for_reference_and_models(quick_output):
    for label, shape in [
        ("ref-crnn", "3x32x100"),
        ("crnn", "3x32x100"),
        ("svtr_tiny", "3x32x100"),
        ("crnn_tiny", "1x32x128"),
    ]:
        row = rf"^{label}\s+{NUM}M\s+{shape}\s+{NUM} \(\s*{NUM}\)\s+{NUM} \(\s*{NUM}\)$"
        assert re.search(row, quick_output, re.M), label


def test_prints_ratios_against_the_in_run_reference(quick_output):
    assert "x ref" not in quick_output  # no constants from another day
    for label in ("crnn", "svtr_tiny", "crnn_tiny"):
        ratio = (
            rf"^  {label}\s+same format: contiguous {NUM}x, channels_last {NUM}x; "
            rf"best vs best {NUM}x"
        )
        assert re.search(ratio, quick_output, re.M), label


def test_prints_the_faster_memory_format_per_architecture(quick_output):
    for label in ("ref-crnn", "crnn", "svtr_tiny", "crnn_tiny"):
        line = rf"^  {label}\s+(contiguous|channels_last) \(x{NUM} over the other\)$"
        assert re.search(line, quick_output, re.M), label


def test_reference_has_the_crnn_architecture():
    """The re-implemented reference has CLL-STR's CRNN layers: the same parameter
    shapes, in order, as strtool's `crnn` (9,646,024 at 4,680 classes), and 24 steps."""
    import torch

    from strtool.models import ModelSpec, build_model

    bench = load_bench("train_speed")
    ref = bench.RefCRNN(bench.CLASSES)
    ours = build_model("crnn", ModelSpec(channels=3, img_size=(32, 100), num_classes=bench.CLASSES))
    shapes = [tuple(p.shape) for p in ref.parameters()]
    assert shapes == [tuple(p.shape) for p in ours.parameters()]
    assert sum(p.numel() for p in ref.parameters()) == 9_646_024
    with torch.no_grad():
        assert ref(torch.randn(2, 3, 32, 100)).shape == (2, 24, bench.CLASSES)
