"""Every `strtool ...` command shown in README.md runs end to end through the CLI
(typer's CliRunner on `strtool.cli.app`), with the README's options on tiny data, and
gives what the README says it gives.

`COVERAGE` maps each README command (its subcommand and the options it uses) to the
test that runs it: a README command without a test, or a mapped test that no longer
exists, fails `test_every_readme_command_has_a_test`. Commands tested elsewhere name
that test; the few that cannot run here say why."""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import unicodedata
from pathlib import Path

import lmdb
import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_io import LmdbReader
from strtool.paths import fonts_dir
from strtool.synth.fonts import load_manifest, shipped_fonts

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
runner = CliRunner()
# a shipped Latin face with plain ASCII glyphs, for the images of the data tests
LATIN = fonts_dir() / "strsubset-an" / "StrSubsetAN-Regular.ttf"


def cli(*args: object, code: int = 0):
    """Run `strtool *args`; assert the exit code; return the result."""
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == code, (res.stdout, res.stderr)
    return res


def cli_json(*args: object) -> dict:
    return json.loads(cli(*args, "--json").stdout)


def word_png(text: str) -> bytes:
    img = Image.new("RGB", (20 + 14 * len(text), 32), "white")
    ImageDraw.Draw(img).text((6, 4), text, fill="black", font=ImageFont.truetype(str(LATIN), 20))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def contents(path: Path) -> list[tuple[bytes, str, str | None]]:
    r = LmdbReader(path)
    return [(r.image(i), r.label(i), r.lang(i)) for i in range(len(r))]


def samples(path: Path) -> list[tuple[str, str | None]]:
    r = LmdbReader(path)
    return [(r.label(i), r.lang(i)) for i in range(len(r))]


# ------------------------------------------------------------------------ fixtures
# a few quick steps of training on CPU
FAST = ["--set", "train.steps=2", "--set", "train.batch_size=4", "--set", "data.workers=0",
        "--set", "train.val_every=2", "--set", "train.threads=2"]  # fmt: skip

# label, own language (tsv third column) or None
WORDS = [("shop", None), ("Straße", "de"), ("gare", None), ("مرحبا", "ar"), ("open", None)]


@pytest.fixture(scope="module")
def gt_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train_gt.txt: path<TAB>label[<TAB>lang], images beside it."""
    d = tmp_path_factory.mktemp("gt")
    lines = []
    for i, (word, lang) in enumerate(WORDS):
        (d / f"{i}.png").write_bytes(word_png(word if word.isascii() else "x" * len(word)))
        lines.append(f"{i}.png\t{word}" + (f"\t{lang}" if lang else ""))
    (d / "train_gt.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d / "train_gt.txt"


@pytest.fixture(scope="module")
def made(gt_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """README: make-lmdb train_gt.txt data/train.lmdb --lang en --check."""
    out = tmp_path_factory.mktemp("db") / "train.lmdb"
    return out, cli_json("make-lmdb", gt_file, out, "--lang", "en", "--check", "-q")


@pytest.fixture(scope="module")
def train_lmdb(made: tuple[Path, dict]) -> Path:
    return made[0]


@pytest.fixture(scope="module")
def synth_all(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """README: synth words --lang all --num ... -o data/synth.lmdb --workers 2 --grid."""
    d = tmp_path_factory.mktemp("synth")
    out, sheet = d / "synth.lmdb", d / "sheet.png"
    res = cli_json("synth", "words", "--lang", "all", "--num", 16, "-o", out, "--workers", 2,
                   "--grid", sheet, "-q")  # fmt: skip
    return out, sheet, res


@pytest.fixture(scope="module")
def lat_ara(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("latara") / "lat_ara.lmdb"
    cli("synth", "words", "--lang", "LAT,ARA", "--num", 12, "-o", out, "-q")
    return out


@pytest.fixture(scope="module")
def crnn_run(lat_ara: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """README: train -c crnn --set data.train=[...] --set data.val=[...] --set
    data.langs=LAT,ARA -o runs/crnn (the full-size preset, 2 steps)."""
    out = tmp_path_factory.mktemp("runs") / "crnn"
    res = cli_json("train", "-c", "crnn", "--set", f"data.train=[{lat_ara}]",
                   "--set", f"data.val=[{lat_ara}]", "--set", "data.langs=LAT,ARA", "-o", out,
                   *FAST, "-q")  # fmt: skip
    return out, res


# ------------------------------------------------------------- make-lmdb and lmdb
def test_make_lmdb_tsv_lang_check(made: tuple[Path, dict], gt_file: Path) -> None:
    """--lang en tags the lines without a language column and filters the samples
    whose own language is outside its group (ar); de is in LAT, as en is."""
    out, res = made
    assert res["written"] == 4 and res["filtered"] == 1
    assert samples(out) == [("shop", "en"), ("Straße", "de"), ("gare", "en"), ("open", "en")]
    assert LmdbReader(out).image(0) == (gt_file.parent / "0.png").read_bytes()


def test_make_lmdb_mlt_groups(tmp_path: Path) -> None:
    d = tmp_path / "mlt19"
    d.mkdir()
    rows = [("a.png", "Latin", "Hello, world"), ("b.png", "Arabic", "مرحبا"),
            ("c.png", "Bangla", "বাংলা")]  # fmt: skip
    for name, _, text in rows:
        (d / name).write_bytes(word_png("x" * len(text)))
    gt = d / "gt.txt"
    gt.write_text("\ufeff" + "".join(f"{n},{s},{t}\r\n" for n, s, t in rows), encoding="utf-8")
    out = tmp_path / "mlt.lmdb"
    res = cli_json("make-lmdb", gt, out, "--format", "mlt", "--lang", "LAT,ARA", "--check", "-q")
    assert res["written"] == 2 and res["filtered"] == 1  # Bangla is outside --lang
    labels = [label for label, _ in samples(out)]
    assert labels == ["Hello, world", "مرحبا"]  # split on the first two commas only


def test_make_lmdb_cll_compat_from_an_lmdb(tmp_path: Path) -> None:
    """CLL-STR LMDB: tab-separated units, visual-order presentation forms -> NFC logical."""
    src = tmp_path / "cll" / "ARA" / "train"
    src.mkdir(parents=True)
    visual = "\t".join(["\ufe8d", "\ufe8f", "\ufea1", "\ufead", "\ufee1"])  # ا ب ح ر م
    env = lmdb.open(str(src), map_size=1 << 22)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", b"1")
        txn.put(b"image-000000001", word_png("abc"))
        txn.put(b"label-000000001", visual.encode())
    env.close()
    out = tmp_path / "ara.lmdb"
    res = cli_json("make-lmdb", src, out, "--format", "lmdb", "--compat", "cll", "--lang", "ar",
                   "-q")  # fmt: skip
    assert res["written"] == 1
    assert samples(out) == [(unicodedata.normalize("NFC", "مرحبا"), "ar")]


def test_lmdb_info_lang_grid(train_lmdb: Path, tmp_path: Path) -> None:
    grid = tmp_path / "preview.png"
    info = cli_json("lmdb", "info", train_lmdb, "--lang", "en", "--grid", grid, "-q")
    assert info["samples"] == 4 and info["langs"] == {"en": 3, "de": 1}
    assert info["max_length"] == 6
    with Image.open(grid) as sheet:
        assert sheet.info.get("Software", "").startswith("strtool") and sheet.width > 100


def test_lmdb_validate(train_lmdb: Path) -> None:
    res = cli("lmdb", "validate", train_lmdb)
    assert "Traceback" not in res.output
    assert cli_json("lmdb", "validate", train_lmdb)["problems"] == []


def test_lmdb_export_round_trips_through_make_lmdb(train_lmdb: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = cli_json("lmdb", "export", train_lmdb, out, "-q")
    assert res["written"] == 4 and (out / "gt.txt").is_file() and (out / "images").is_dir()
    again = tmp_path / "again.lmdb"
    cli("make-lmdb", out, again, "--check", "-q")
    assert contents(again) == contents(train_lmdb)  # same images, labels and languages


def test_lmdb_merge(train_lmdb: Path, synth_all: tuple, tmp_path: Path) -> None:
    synth, _, _ = synth_all
    out = tmp_path / "all.lmdb"
    res = cli_json("lmdb", "merge", out, train_lmdb, synth, "-q")
    assert res["samples"] == 4 + 16 and res["duplicates"] == 0
    assert contents(out) == contents(train_lmdb) + contents(synth)


# ------------------------------------------------------------------------- fonts
def test_fonts_list() -> None:
    table = cli("fonts", "list").stdout
    manifest = load_manifest()
    assert f"{len(manifest)} shipped fonts" in table
    listed = cli_json("fonts", "list")["fonts"]
    assert [f["file"] for f in listed] == [f["file"] for f in manifest]


def test_fonts_check_folder_lang_missing(tmp_path: Path) -> None:
    """A folder of fonts (as /usr/share/fonts/truetype/): an Indic font covers its own
    language and a Latin one misses it; --missing lists what is uncovered."""
    root = tmp_path / "truetype"
    (root / "deva").mkdir(parents=True)
    (root / "latin").mkdir()
    deva = next(f for f in shipped_fonts(["HIN"]) if f.family == "Noto Sans Devanagari")
    shutil.copy(deva.path, root / "deva" / deva.path.name)
    shutil.copy(LATIN, root / "latin" / LATIN.name)
    missing = tmp_path / "missing.tsv"
    res = cli_json("fonts", "check", root, "--lang", "HIN,BEN", "--missing", missing, "-q")
    rows = {(Path(r["font"]).name, r["lang"]): r for r in res["rows"]}
    assert set(rows) == {(n, lang) for n in (deva.path.name, LATIN.name) for lang in ("hi", "bn")}
    hi = rows[deva.path.name, "hi"]
    assert hi["total"] > 100 and hi["covered"] >= 0.9 * hi["total"]
    for lang in ("hi", "bn"):  # a Latin face: digits and punctuation at most, no letters
        assert rows[LATIN.name, lang]["covered"] < 0.5 * rows[LATIN.name, lang]["total"]
    lines = missing.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "font\tlang\tchar\tcodepoints\treason"
    missed = {(Path(ln.split("\t")[0]).name, ln.split("\t")[1]) for ln in lines[1:]}
    assert (LATIN.name, "hi") in missed and (deva.path.name, "bn") in missed


# ------------------------------------------------------------------------- synth
def test_synth_words_all_workers_grid(synth_all: tuple) -> None:
    out, sheet, res = synth_all
    assert res["written"] == 16 and len(res["per_lang"]) >= 6  # every language can come
    assert sum(res["per_lang"].values()) == 16
    got = samples(out)
    assert all(lang in res["per_lang"] for _, lang in got) and all(label for label, _ in got)
    with Image.open(sheet) as img:
        assert img.info.get("Software", "").startswith("strtool")


def test_synth_words_shard_is_a_slice_of_the_whole(synth_all: tuple, tmp_path: Path) -> None:
    whole, _, _ = synth_all
    out = tmp_path / "shard3.lmdb"
    res = cli_json("synth", "words", "--lang", "all", "--num", 16, "--shard", "3/8", "-o", out,
                   "-q")  # fmt: skip
    assert res["written"] == 2
    w, s = LmdbReader(whole), LmdbReader(out)
    assert [(s.label(i), s.image(i)) for i in range(2)] == [(w.label(i), w.image(i))
                                                            for i in (6, 7)]  # fmt: skip


def test_synth_words_corpus_and_set(tmp_path: Path) -> None:
    corpus = tmp_path / "my_words.txt"
    words = ["سلام", "كتاب", "مدينة"]
    corpus.write_text("\n".join(words + ["café"]) + "\n", encoding="utf-8")
    out = tmp_path / "ara.lmdb"
    res = cli_json("synth", "words", "--lang", "ARA", "--num", 6, "--corpus", corpus,
                   "--set", "augment.rotation.prob=0.5", "-o", out, "-q")  # fmt: skip
    assert res["written"] == 6
    assert {label for label, _ in samples(out)} <= set(words)  # verbatim, never "café"
    assert {lang for _, lang in samples(out)} == {"ar"}
    meta = LmdbReader(out).meta
    assert meta["config"]["augment"]["rotation"]["prob"] == 0.5


def test_synth_words_heldout_fonts(tmp_path: Path) -> None:
    out = tmp_path / "val_unseen_fonts.lmdb"
    res = cli_json("synth", "words", "--lang", "LAT", "--num", 8, "--fonts", "heldout", "-o", out,
                   "-q")  # fmt: skip
    heldout = {f.path.name for f in shipped_fonts(["LAT"], role="heldout")}
    train = {f.path.name for f in shipped_fonts(["LAT"])}
    assert res["written"] == 8 and set(res["per_font"]) <= heldout
    assert not heldout & train


def test_synth_words_font_folder_with_manifest(tmp_path: Path) -> None:
    """--fonts DIR (a folder with manifest.json) gives its training faces,
    --fonts heldout:DIR its held-out ones. The shipped folder is such a folder."""
    folder = fonts_dir()
    train = {f.path.name for f in shipped_fonts(["LAT", "ARA"])}
    heldout = {f.path.name for f in shipped_fonts(["LAT", "ARA"], role="heldout")}
    res = cli_json("synth", "words", "--lang", "en,ar", "--num", 6, "--fonts", folder,
                   "-o", tmp_path / "synth.lmdb", "-q")  # fmt: skip
    assert res["written"] == 6 and set(res["per_font"]) <= train
    res = cli_json("synth", "words", "--lang", "en,ar", "--num", 6, "--fonts", f"heldout:{folder}",
                   "-o", tmp_path / "val_fonts.lmdb", "-q")  # fmt: skip
    assert res["written"] == 6 and set(res["per_font"]) <= heldout


def test_synth_chars_per_char(tmp_path: Path) -> None:
    out = tmp_path / "chars.lmdb"
    res = cli_json("synth", "chars", "--lang", "HIN,BEN", "--per-char", 1, "-o", out, "-q")
    got = samples(out)
    assert res["written"] == len(got) > 100
    assert {lang for _, lang in got} == {"hi", "bn"}
    assert all(len(label) <= 3 for label, _ in got)  # characters (and clusters), not words
    r = LmdbReader(out)
    with Image.open(io.BytesIO(r.image(0))) as img:
        assert img.size == (32, 32)  # square crops


# ------------------------------------------------------------------------- train
@pytest.mark.slow
def test_train_crnn_preset(crnn_run: tuple[Path, dict], lat_ara: Path) -> None:
    from strtool.engine.checkpoint import load_checkpoint

    out, res = crnn_run
    assert res["step"] == 2 and res["family"] == "ctc"
    assert {"config.yaml", "metrics.jsonl", "curves.png", "last.pt", "best.pt"} <= {
        p.name for p in out.iterdir()
    }
    ckpt = load_checkpoint(out / "last.pt")
    labels = [label for label, lang in samples(lat_ara)]
    assert set(ckpt["charset"]) == set("".join(labels))  # no data.charset: the labels' own
    assert ckpt["config"]["model"]["arch"] == "crnn"
    assert ckpt["config"]["data"]["langs"] in ("LAT,ARA", ["LAT", "ARA"])


@pytest.mark.slow
def test_train_resume(crnn_run: tuple[Path, dict], tmp_path: Path) -> None:
    run = tmp_path / "crnn"
    shutil.copytree(crnn_run[0], run)
    res = cli_json("train", "-o", run, "--resume", "--set", "train.steps=3", "-q")
    assert res["step"] == 3 and res["family"] == "ctc"


@pytest.mark.slow
def test_train_init_freeze_cascade(crnn_run: tuple[Path, dict], tmp_path: Path) -> None:
    from strtool.engine.checkpoint import load_checkpoint

    hin = tmp_path / "hin.lmdb"
    cli("synth", "words", "--lang", "hi", "--num", 8, "-o", hin, "-q")
    init = crnn_run[0] / "best.pt"
    out = tmp_path / "crnn_hin"
    res = cli_json("train", "-c", "crnn", "--init", init, "--set", "train.freeze=[backbone]",
                   "--set", f"data.train=[{hin}]", "-o", out, *FAST, "-q")  # fmt: skip
    assert res["step"] == 2
    before, after = load_checkpoint(init)["model"], load_checkpoint(out / "last.pt")["model"]
    backbone = [k for k in before if k.startswith("backbone.") and "running_" not in k
                and "num_batches" not in k]  # fmt: skip
    assert backbone and all(before[k].equal(after[k]) for k in backbone)  # frozen
    assert "क" in load_checkpoint(out / "last.pt")["charset"]  # the new language's charset


@pytest.mark.slow
def test_train_from_the_synth_stream(tmp_path: Path) -> None:
    out = tmp_path / "stream"
    res = cli_json("train", "-c", "crnn", "--set", "model.arch=crnn_small",
                   "--set", "data.synth.langs=all", "-o", out, *FAST, "-q")  # fmt: skip
    assert res["step"] == 2 and res["data"]["stream"]["samples"] >= 8
    log = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("stream_skipped" in rec for rec in log)


@pytest.mark.slow
def test_train_mixed_stream_and_lmdb(train_lmdb: Path, tmp_path: Path) -> None:
    out = tmp_path / "mixed"
    res = cli_json("train", "-c", "crnn", "--set", f"data.train=[{train_lmdb}]",
                   "--set", "data.synth.weight=0.8", "--set", "data.synth.lang_weights.bn=2",
                   "-o", out, *FAST, "-q")  # fmt: skip
    assert res["step"] == 2
    # round(0.8 x 4) = 3 stream samples per batch of 4, two batches
    assert res["data"]["stream"]["samples"] == 6


# ------------------------------------------------------------------ eval, predict, export
@pytest.fixture()
def pred_gt(tmp_path: Path) -> tuple[Path, Path]:
    gt = tmp_path / "gt.tsv"
    gt.write_text("a\tशहर\nb\tcafé\nc\tक्षमा\n", encoding="utf-8")
    pred = tmp_path / "preds.tsv"
    pred.write_text("a\tशहर\nb\tcafe\nc\tक्समा\n", encoding="utf-8")
    return pred, gt


def test_eval_pred_gt(pred_gt: tuple[Path, Path]) -> None:
    pred, gt = pred_gt
    table = cli("eval", "--pred", pred, "--gt", gt).stdout
    assert "pooled" in table and "HIN" in table and "LAT" in table


def test_eval_profile_unit_json(pred_gt: tuple[Path, Path]) -> None:
    pred, gt = pred_gt
    rep = cli_json("eval", "--pred", pred, "--gt", gt, "--profile", "mstr", "--unit", "grapheme")
    assert rep["profile"] == "mstr" and rep["unit"] == "grapheme"
    pooled = next(r for r in rep["rows"] if r["group"] == "pooled")
    assert pooled["n"] == 3 and pooled["wrr"] == pytest.approx(1 / 3)
    assert pooled["crr"] == pytest.approx(1 - pooled["edits"] / pooled["gt_units"])
    assert pooled["edits"] == 2  # one grapheme each: é (e + U+0301 under NFKD), क्ष


def test_eval_list_profiles() -> None:
    out = cli("eval", "--list-profiles").stdout
    assert all(name in out for name in ("default", "mstr", "cll"))


@pytest.mark.slow
def test_eval_model_on_an_lmdb(crnn_run: tuple[Path, dict], lat_ara: Path) -> None:
    ckpt = crnn_run[0] / "best.pt"
    table = cli("eval", "--model", ckpt, "--data", lat_ara, "--device", "cpu").stdout
    assert "pooled" in table
    rep = cli_json("eval", "--model", ckpt, "--data", lat_ara, "--device", "cpu", "-q")
    assert rep["n"] == 12 and rep["family"] == "ctc" and rep["profile"] == "default"


@pytest.mark.slow
def test_predict_folder_and_glob_then_eval_agrees(
    crnn_run: tuple[Path, dict], lat_ara: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """predict crops/ 'more/*.jpg' --rotate-vertical: one row per image; its TSV fed to
    `eval --pred` scores like `eval --model` on the same (lossless) images."""
    ckpt = crnn_run[0] / "best.pt"
    cli("lmdb", "export", lat_ara, tmp_path / "crops", "-q")
    more = tmp_path / "more"
    more.mkdir()
    for p in sorted((tmp_path / "crops" / "images").iterdir())[:2]:
        Image.open(p).convert("RGB").save(more / f"{p.stem}.jpg")
    monkeypatch.chdir(tmp_path)
    tsv = cli("predict", "-m", ckpt, "crops/images", "more/*.jpg", "--rotate-vertical",
              "--device", "cpu", "-q").stdout  # fmt: skip
    rows = [line.split("\t") for line in tsv.splitlines()]
    assert len(rows) == 12 + 2 and all(len(r) == 3 for r in rows)
    assert sum(r[0].startswith("more/") for r in rows) == 2
    got = json.loads(cli("predict", "-m", ckpt, "crops/images", "more/*.jpg", "--rotate-vertical",
                         "--device", "cpu", "--json", "-q").stdout)  # fmt: skip
    assert [(p["path"], p["text"]) for p in got] == [(r[0], r[1]) for r in rows]
    assert all(p["error"] is None for p in got)
    # the PNG crops' predictions, scored by `eval --pred`, match `eval --model`
    gt_lines = (tmp_path / "crops" / "gt.txt").read_text(encoding="utf-8").splitlines()
    gt = tmp_path / "gt.tsv"
    gt.write_text("".join(f"crops/{ln}\n" for ln in gt_lines), encoding="utf-8")
    preds = tmp_path / "preds.tsv"
    preds.write_text("".join(f"{r[0]}\t{r[1]}\n" for r in rows if r[0].startswith("crops/")),
                     encoding="utf-8")  # fmt: skip
    by_pred = cli_json("eval", "--pred", preds, "--gt", gt)
    by_model = cli_json("eval", "--model", ckpt, "--data", lat_ara, "--device", "cpu", "-q")

    def pooled(rep: dict) -> dict:
        row = next(r for r in rep["rows"] if r["group"] == "pooled")
        return {k: row[k] for k in ("n", "wrr", "crr", "1-ned", "edits", "gt_units")}

    assert pooled(by_pred) == pooled(by_model)


@pytest.mark.slow
def test_export_onnx(crnn_run: tuple[Path, dict], tmp_path: Path) -> None:
    import onnx

    out = tmp_path / "crnn.onnx"
    res = cli_json("export", "onnx", "-m", crnn_run[0] / "best.pt", "-o", out)
    assert res["max_abs_diff"] is not None and res["max_abs_diff"] < 1e-3
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ["images"]
    assert [o.name for o in graph.output] == ["logits"]


# --------------------------------------------------------------- README <-> tests
_GROUPS = {"lmdb", "fonts", "synth", "export", "bank"}

#: (subcommand, options used) of each README command -> the tests that run it. A `--set`
#: counts with its key (`--set data.train`), so that each README example is told apart.
COVERAGE: dict[tuple[str, frozenset[str]], tuple[str, ...]] = {
    ("--help", frozenset({"--help"})): (
        "tests/test_cli_help.py::test_help_renders_with_conventions",
    ),
    ("demo", frozenset({"--output"})): (
        "tests/test_demo.py::test_demo_writes_a_consistent_report",
    ),
    ("make-lmdb", frozenset({"--lang", "--check"})): ("test_make_lmdb_tsv_lang_check",),
    ("make-lmdb", frozenset({"--format", "--lang", "--check"})): ("test_make_lmdb_mlt_groups",),
    ("make-lmdb", frozenset({"--format", "--compat", "--lang"})): (
        "test_make_lmdb_cll_compat_from_an_lmdb",
    ),
    ("make-lmdb", frozenset({"--format", "--level"})): (
        "tests/data/test_iam.py::test_cli_iam_pages_then_export_and_back",
    ),
    ("make-lmdb", frozenset({"--format", "--level", "--keep-err"})): (
        "tests/data/test_iam.py::test_cli_keep_err_writes_err_rows",
    ),
    ("synth lines", frozenset({"--lang", "--num", "-o", "--workers"})): (
        "tests/synth/test_synth_lines_pages.py::test_workers_give_identical_lmdbs",
    ),
    ("synth pages", frozenset({"--lang", "--num", "--style", "--width", "-o"})): (
        "tests/synth/test_synth_lines_pages.py::test_handwriting_style_uses_handwriting_faces",
    ),
    ("synth pages", frozenset({"--lang", "--num", "--set page.lines", "-o"})): (
        "tests/synth/test_synth_lines_pages.py::test_synth_pages_cli_line_breaks_and_rtl",
    ),
    ("synth stitch", frozenset({"--from", "--pages", "--num", "--epoch", "-o"})): (
        "tests/data/test_stitch.py::test_cli_stitch_pages",
    ),
    ("lmdb info", frozenset({"--lang", "--grid"})): ("test_lmdb_info_lang_grid",),
    ("lmdb validate", frozenset()): ("test_lmdb_validate",),
    ("lmdb export", frozenset()): ("test_lmdb_export_round_trips_through_make_lmdb",),
    ("lmdb merge", frozenset()): ("test_lmdb_merge",),
    ("lmdb merge", frozenset({"-o"})): (
        "tests/data/test_cli_lmdb.py::test_output_as_option_or_positional",
    ),
    ("fonts list", frozenset()): ("test_fonts_list",),
    ("fonts check", frozenset({"--lang", "--missing"})): ("test_fonts_check_folder_lang_missing",),
    # --fonts DIR and --fonts heldout:DIR: the shipped folder has a manifest.json too
    ("synth words", frozenset({"--lang", "--fonts", "-o"})): (
        "test_synth_words_font_folder_with_manifest",
    ),
    ("synth words", frozenset({"--fonts"})): ("test_synth_words_heldout_fonts",),
    ("synth words", frozenset({"--lang", "--num", "-o", "--workers", "--grid"})): (
        "test_synth_words_all_workers_grid",
    ),
    ("synth words", frozenset({"--lang", "--corpus", "--set augment.rotation.prob", "-o"})): (
        "test_synth_words_corpus_and_set",
    ),
    ("synth words", frozenset({"--lang", "--num", "--fonts", "-o"})): (
        "test_synth_words_heldout_fonts",
    ),
    ("synth words", frozenset({"--lang", "--num", "--shard", "-o"})): (
        "test_synth_words_shard_is_a_slice_of_the_whole",
    ),
    ("synth chars", frozenset({"--lang", "--per-char", "-o"})): ("test_synth_chars_per_char",),
    ("train", frozenset({"-c", "--set data.train", "--set data.val", "--set data.langs", "-o"})): (
        "test_train_crnn_preset",
    ),
    ("train", frozenset({"-o", "--resume"})): ("test_train_resume",),
    ("train", frozenset({"-c", "--init", "--set train.freeze", "--set data.train", "-o"})): (
        "test_train_init_freeze_cascade",
    ),
    ("train", frozenset({"-c", "--set model.arch", "--set data.synth.langs", "-o"})): (
        "test_train_from_the_synth_stream",
    ),
    (
        "train",
        frozenset(
            {
                "-c",
                "--set data.train",
                "--set data.synth.weight",
                "--set data.synth.lang_weights.bn",
                "-o",
            }
        ),  # fmt: skip
    ): ("test_train_mixed_stream_and_lmdb",),
    # semi-supervised training (unlabeled LMDBs, semi.method)
    ("make-lmdb", frozenset({"--unlabeled"})): (
        "tests/data/test_unlabeled.py::test_make_lmdb_unlabeled_from_folder_skips_and_counts",
    ),
    ("lmdb info", frozenset()): (
        "tests/data/test_unlabeled.py::test_make_lmdb_unlabeled_from_folder_skips_and_counts",
    ),
    ("lmdb merge", frozenset({"--drop-labels"})): (
        "tests/data/test_unlabeled.py::test_merge_unlabeled_and_mixed",
    ),
    ("synth words", frozenset({"--lang", "--fonts", "--config", "--unlabeled", "-o"})): (
        "tests/data/test_unlabeled.py::test_synth_words_unlabeled",
    ),
    (
        "train",
        frozenset(
            {"-c", "--init", "--set data.train", "--set data.unlabeled", "--set semi.method", "-o"}
        ),
    ): ("tests/engine/test_semi_train.py::test_cli_semi_training_from_a_supervised_checkpoint",),
    # multi-GPU: the same launcher with 2 CPU processes (gloo) and the ddp worker script
    ("torchrun", frozenset()): ("tests/engine/test_ddp.py::test_two_process_gloo_training",),
    ("bank export", frozenset({"-m", "--lang", "-o"})): (
        "tests/mstr/test_cli_mstr.py::pipeline",
        "tests/mstr/test_cli_mstr.py::test_bank_info_and_extend",
    ),
    ("eval", frozenset({"--pred", "--gt"})): ("test_eval_pred_gt",),
    ("eval", frozenset({"--pred", "--gt", "--profile", "--unit", "--json"})): (
        "test_eval_profile_unit_json",
    ),
    ("eval", frozenset({"--model", "--data"})): (
        "test_eval_model_on_an_lmdb",
        "tests/img2seq/test_img2seq_train.py::test_eval_model_and_export",
    ),
    ("train", frozenset({"-c", "--set data.train", "--set data.val", "-o"})): (
        "tests/img2seq/test_img2seq_train.py::test_train_cli_overfits_lines",
    ),
    (
        "train",
        frozenset(
            {
                "-c",
                "--init",
                "--set data.synth.kind",
                "--set data.synth.langs",
                "--set data.val",
                "-o",
            }
        ),
    ): (
        "tests/img2seq/test_h8_encoder.py::test_train_from_the_default_model_logs_what_init_copied",
    ),
    ("train", frozenset({"-c", "--init", "--set data.train", "--set data.val", "-o"})): (
        "tests/img2seq/test_img2seq_train.py::test_page_model_from_line_model_reads_pages_with_line_breaks",
        "tests/img2seq/test_h8_encoder.py::test_ctc_line_preset_from_the_default_model_reads_lines",
    ),
    ("predict", frozenset({"-m", "--json"})): (
        "tests/img2seq/test_img2seq_train.py::test_predict_prints_line_breaks_escaped_and_json_lines",
    ),
    ("eval", frozenset({"--model"})): ("test_eval_model_on_an_lmdb",),
    ("eval", frozenset({"--model", "--data", "--script-acc"})): (
        "tests/mstr/test_cli_mstr.py::test_predict_and_eval",
    ),
    ("eval", frozenset({"--list-profiles"})): ("test_eval_list_profiles",),
    ("predict", frozenset({"-m", "--rotate-vertical"})): (
        "test_predict_folder_and_glob_then_eval_agrees",
    ),
    ("export onnx", frozenset({"-m", "-o"})): ("test_export_onnx",),
    ("predict", frozenset({"-m", "--runtime"})): (
        "tests/engine/test_onnx_runtime.py::test_predict_runtime_onnx_cli",
    ),
    ("predict", frozenset()): (
        "tests/engine/test_default_model.py::test_predict_without_model_reads_the_example_crops",
    ),
    # pages read line by line (the shipped model stands in for a line model)
    ("predict", frozenset({"-m", "--segment", "--json"})): (
        "tests/engine/test_pages.py::test_predict_and_eval_segment",
    ),
    ("eval", frozenset({"--model", "--data", "--segment"})): (
        "tests/engine/test_pages.py::test_predict_and_eval_segment",
    ),
    ("predict", frozenset({"--segment", "--json"})): (
        "tests/engine/test_pages.py::test_predict_and_eval_segment",
    ),
    ("predict", frozenset({"-m"})): (
        "tests/engine/test_shipped_lines.py::test_predict_m_lines_reads_a_line_file",
    ),
    # the shipped line model reads the example pages (no --model with --segment)
    ("predict", frozenset({"--segment"})): (
        "tests/engine/test_shipped_lines.py::test_predict_segment_reads_the_example_pages_with_it",
    ),
}


def readme_commands() -> list[tuple[str, frozenset[str], str]]:
    """(subcommand, options, line) of each strtool command in README code blocks and in
    inline code spans (`strtool ...`)."""
    text = README.read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        block = re.sub(r"\\\n\s*", " ", block)
        lines += [ln for ln in block.splitlines() if re.search(r"(^|/|\s)strtool\s", ln)]
    lines += [m for m in re.findall(r"`(strtool [^`]+)`", text) if re.search(r"\s-", m)]
    out = []
    for line in lines:
        line = line.split("#")[0].split(">")[0]
        if "pip install" in line or "build_fonts.py" in line:
            continue
        words = shlex.split(line.replace("$HOME", "~"))
        if words[0] == "torchrun":
            out.append(("torchrun", frozenset(), line.strip()))
            continue
        words = words[next(i for i, w in enumerate(words) if w.endswith("strtool")) + 1 :]
        sub = words[0] + (f" {words[1]}" if words[0] in _GROUPS else "")
        opts = frozenset(
            f"--set {words[i + 1].split('=')[0]}" if w == "--set" else w
            for i, w in enumerate(words)
            if w.startswith("-")
        )
        out.append((sub, opts, line.strip()))
    return out


def test_every_readme_command_has_a_test() -> None:
    found = readme_commands()
    assert len(found) >= 30, found
    names = set(globals())
    for sub, opts, line in found:
        tests = COVERAGE.get((sub, opts))
        assert tests, f"README command without a test in {__name__}.COVERAGE: {line}"
        for where in tests:
            path, _, name = where.rpartition("::")
            if path:
                assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), where
            else:
                assert name in names, where
