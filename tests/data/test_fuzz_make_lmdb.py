"""Fuzz: whatever the gt file holds, make-lmdb exits 0 or 1 and never raises, and
every line is accounted for (written, skipped with a reason, or filtered)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from conftest import png_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from strtool.cli import app

runner = CliRunner()
IMAGES = {"a.png": png_bytes(12), "b.png": png_bytes(13), "t.png": b"text, not png\n",
          "e.png": b""}  # fmt: skip

_chars = st.one_of(
    st.characters(codec="utf-8", exclude_characters="\n\r"),
    st.sampled_from(list("\t ,\u202e\u200b\u200c\u200d\ufeff\ufffd\x00\x07é\u0301क्ष")),
)
_paths = st.one_of(st.sampled_from([*IMAGES, "missing.png", "", " ", "../x.png", "/"]),
                   st.text(_chars, max_size=8))  # fmt: skip
_labels = st.text(_chars, max_size=12)
_langs = st.sampled_from(["", "\ten", "\tARA", "\tLAT", "\txx", "\t", "\ten\tfr"])
_line = st.tuples(_paths, _labels, _langs).map(lambda t: f"{t[0]}\t{t[1]}{t[2]}")
_raw_line = st.one_of(_line, st.text(_chars, max_size=20))
_gt = st.lists(_raw_line, max_size=8).map(lambda lines: "\n".join(lines))


#: More examples by hand: STRTOOL_FUZZ_EXAMPLES=500 pytest tests/data/test_fuzz_make_lmdb.py
EXAMPLES = int(os.environ.get("STRTOOL_FUZZ_EXAMPLES", "30"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gt=_gt, strict=st.booleans(), lang=st.sampled_from([None, "en", "LAT,ARA", "zz"]))
def test_make_lmdb_never_raises(gt, strict, lang):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for name, data in IMAGES.items():
            (d / name).write_bytes(data)
        (d / "gt.txt").write_text(gt, encoding="utf-8")
        args = ["make-lmdb", str(d / "gt.txt"), str(d / "out"), "--json", "-j", "1"]
        args += ["--strict"] if strict else []
        args += ["--lang", lang] if lang else []
        r = runner.invoke(app, args)
        assert r.exit_code in (0, 1), (r.exit_code, r.output, r.exception)
        assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
        assert "Traceback" not in r.output
        if r.exit_code == 1:
            err = r.stderr.strip("\n")  # (a removed progress bar may leave a blank line)
            assert err.startswith("error: ") and "\n" not in err, r.stderr
        else:
            res = json.loads(r.stdout)
            lines = [ln for ln in gt.split("\n") if ln.rstrip("\r").strip()]
            assert res["written"] + sum(res["skipped"].values()) + res["filtered"] == len(lines)
