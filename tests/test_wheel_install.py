"""A non-editable install works from any folder: the package is built as a wheel
(offline, `--no-build-isolation`), installed into a fresh target folder, and run from an
unrelated working directory: presets by name, shipped charsets and fonts, a synth run,
a tiny training run and prediction all come from the installed package data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import strtool
from strtool.paths import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (REPO_ROOT / "pyproject.toml").is_file():
        pytest.fail("needs the source checkout (run from the repository)")
    root = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
             "-w", str(root / "dist"), str(REPO_ROOT)]  # fmt: skip
    subprocess.run(build, check=True, capture_output=True, timeout=600)
    wheel = next((root / "dist").glob("strtool-*.whl"))
    target = root / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
               "--target", str(target), str(wheel)]  # fmt: skip
    subprocess.run(install, check=True, capture_output=True, timeout=600)
    return target


def run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m strtool ARGS` with the installed copy first on the path, in `cwd`."""
    env = {**os.environ, "PYTHONPATH": str(target)}
    for key in ("STRTOOL_CHARSETS", "STRTOOL_FONTS", "STRTOOL_CONFIGS"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-m", "strtool", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def test_installed_package_runs_from_another_folder(installed: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(installed)}
    where = subprocess.run(
        [sys.executable, "-c", "import strtool, strtool.paths as p; print(strtool.__file__);"
         "print(p.configs_dir()); print(p.fonts_dir())"],
        cwd=cwd, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(x.startswith(str(installed)) for x in where), where
    assert Path(strtool.__file__).resolve() != Path(where[0]).resolve()
    for sub in ("configs/tiny.yaml", "configs/synth/default.yaml", "charsets/hi.json",
                "fonts/manifest.json"):  # fmt: skip
        assert (installed / "strtool" / sub).is_file(), sub
    res = run(installed, cwd, "synth", "words", "--lang", "en,hi", "-n", "48", "-o", "w.lmdb",
              "--workers", "1", "--quiet", "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["written"] == 48
    res = run(installed, cwd, "train", "-c", "tiny", "-o", "run", "--set", "data.train=[w.lmdb]",
              "--set", "train.steps=3", "--set", "train.batch_size=8", "--set", "data.workers=0",
              "--quiet", "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["step"] == 3
    res = run(installed, cwd, "train", "-c", "configs/tiny.yaml", "-o", "run2",
              "--set", "data.train=[w.lmdb]", "--set", "train.steps=1", "--set",
              "train.batch_size=8", "--set", "data.workers=0", "--quiet")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (installed / "strtool" / "weights" / "default.pt").is_file()
    assert (installed / "strtool" / "weights" / "lines.pt").is_file()  # predict --segment's
    crop = REPO_ROOT / "examples" / "crops" / "jpn_3.png"
    res = run(installed, cwd, "predict", str(crop), "--json", "--quiet")  # the shipped model
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)[0]["text"] == "どん底"
    res = run(installed, cwd, "fonts", "list", "--json")
    assert res.returncode == 0 and len(json.loads(res.stdout)["fonts"]) > 50, res.stderr
