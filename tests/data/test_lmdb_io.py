import os
import pickle

import pytest
from conftest import png_bytes, raw_lmdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strtool.data.lmdb_io import LmdbReader, release
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import DataError, InputError
from strtool.text.normalize import nfc


def test_write_read_roundtrip(tmp_path):
    out = tmp_path / "db"
    with LmdbWriter(out, meta={"source": "test"}, batch=3) as w:
        for i in range(10):
            assert w.add(png_bytes(10 + i), f"wörd {i}", "de" if i % 2 else None) == i + 1
    r = LmdbReader(out)
    assert len(r) == 10
    assert r[3].label == "wörd 3" and r[3].lang == "de" and r[2].lang is None
    assert r[9].image == png_bytes(19)
    assert r.meta["source"] == "test" and r.meta["num_samples"] == 10
    assert r.meta["languages"] == {"de": 5} and r.meta["normalisation"] == "NFC"
    assert list(r.labels())[0] == "wörd 0"
    with pytest.raises(IndexError):
        r[10]
    assert not any(p.name.startswith("db.tmp") for p in tmp_path.iterdir())


def test_writer_stores_nfc(tmp_path):
    with LmdbWriter(tmp_path / "db") as w:
        w.add(b"x", "cafe\u0301")
    assert LmdbReader(tmp_path / "db")[0].label == "caf\u00e9"


def test_exception_leaves_nothing(tmp_path):
    out = tmp_path / "db"
    with pytest.raises(RuntimeError):
        with LmdbWriter(out) as w:
            w.add(b"x", "a")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "db"
    with LmdbWriter(out) as w:
        w.add(b"x", "old")
    with pytest.raises(InputError, match="--overwrite"):
        LmdbWriter(out)
    assert LmdbReader(out)[0].label == "old"
    with LmdbWriter(out, overwrite=True) as w:
        w.add(b"y", "new")
    assert LmdbReader(out)[0].label == "new"


def test_map_grows(tmp_path):
    with LmdbWriter(tmp_path / "db", map_size=1 << 16, batch=5) as w:
        for _ in range(50):
            w.add(os.urandom(5000), "x")
    assert len(LmdbReader(tmp_path / "db")) == 50


def test_reads_foreign_lmdb(tmp_path):
    raw_lmdb(tmp_path / "f", {b"num-samples": b"2", b"image-000000001": b"a",
                              b"label-000000001": b"x", b"image-000000002": b"b",
                              b"label-000000002": "e\u0301".encode()})  # fmt: skip
    r = LmdbReader(tmp_path / "f")
    assert len(r) == 2 and r.meta == {} and not r.has_langs
    assert r[1].label == "\u00e9" and r.langs() == [None, None]


def test_pickle_reopens(tmp_path):
    with LmdbWriter(tmp_path / "db") as w:
        w.add(b"img", "a")
    r = LmdbReader(tmp_path / "db")
    r[0]
    r2 = pickle.loads(pickle.dumps(r))
    assert r2[0].label == "a"


@pytest.mark.parametrize(
    "items,match",
    [
        ({b"num-samples": b"0"}, "empty LMDB"),
        ({b"foo": b"bar"}, "no 'num-samples'"),
        ({b"num-samples": b"abc"}, "not an integer"),
    ],
)
def test_bad_lmdbs(tmp_path, items, match):
    raw_lmdb(tmp_path / "b", items)
    with pytest.raises(DataError, match=match):
        LmdbReader(tmp_path / "b")


def test_missing_and_not_lmdb(tmp_path):
    with pytest.raises(DataError, match="no such LMDB"):
        LmdbReader(tmp_path / "nope")
    (tmp_path / "dir").mkdir()
    with pytest.raises(DataError, match="no data.mdb"):
        LmdbReader(tmp_path / "dir")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data.mdb").write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="not a readable LMDB"):
        LmdbReader(tmp_path / "junk")


def test_truncated(tmp_path):
    with LmdbWriter(tmp_path / "db") as w:
        for _ in range(40):
            w.add(os.urandom(4000), "x")
    release(tmp_path / "db")
    data = tmp_path / "db" / "data.mdb"
    os.truncate(data, data.stat().st_size // 2)
    with pytest.raises(DataError, match="truncated"):
        LmdbReader(tmp_path / "db")


labels = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30).map(
    nfc
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(samples=st.lists(st.tuples(st.binary(max_size=200), labels), min_size=1, max_size=8))
def test_property_roundtrip(tmp_path_factory, samples):
    out = tmp_path_factory.mktemp("p") / "db"
    with LmdbWriter(out) as w:
        for img, lab in samples:
            w.add(img, lab)
    r = LmdbReader(out)
    assert [(s.image, s.label) for s in r] == samples
    release(out)


def test_extra_per_sample_keys(tmp_path):
    from strtool.data.lmdb_io import LmdbReader
    from strtool.data.lmdb_writer import LmdbWriter

    with LmdbWriter(tmp_path / "db") as w:
        w.add(b"img", "a", "en", extra={"type": "letter"})
        w.add(b"img", "b", "en")
    r = LmdbReader(tmp_path / "db")
    assert r.get_raw(b"type-000000001") == b"letter"
    assert r.get_raw(b"type-000000002") is None
    with LmdbWriter(tmp_path / "db2") as w:
        with pytest.raises(ValueError, match="label"):
            w.add(b"img", "a", extra={"label": "x"})
