"""Locations of the data shipped inside the package (charsets, fonts, configs, weights).

They are package data (`strtool/charsets`, `strtool/fonts`, `strtool/configs`), found
through `importlib.resources`, so a wheel or a plain `pip install .` works from any
working directory. Each folder can be redirected with an environment variable.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(str(files("strtool")))
# The source checkout (tools/, bench/, tests/): meaningful only in an editable install.
REPO_ROOT = PACKAGE_DIR.parent


def charsets_dir() -> Path:
    """Folder of `<lang>.json` charset files (env `STRTOOL_CHARSETS` overrides)."""
    return Path(os.environ.get("STRTOOL_CHARSETS", PACKAGE_DIR / "charsets"))


def fonts_dir() -> Path:
    """Folder of shipped fonts and their manifest (env `STRTOOL_FONTS` overrides)."""
    return Path(os.environ.get("STRTOOL_FONTS", PACKAGE_DIR / "fonts"))


def configs_dir() -> Path:
    """Folder of shipped YAML presets (env `STRTOOL_CONFIGS` overrides)."""
    return Path(os.environ.get("STRTOOL_CONFIGS", PACKAGE_DIR / "configs"))


def weights_dir() -> Path:
    """Folder of shipped model weights (`default.pt`; env `STRTOOL_WEIGHTS` overrides)."""
    return Path(os.environ.get("STRTOOL_WEIGHTS", PACKAGE_DIR / "weights"))
