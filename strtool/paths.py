"""Locations of the data shipped beside the package (charsets, fonts, configs).

strtool is installed editable from its repository (see README), so the data folders
sit next to the package. Each can be redirected with an environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def charsets_dir() -> Path:
    """Folder of `<lang>.json` charset files (env `STRTOOL_CHARSETS` overrides)."""
    return Path(os.environ.get("STRTOOL_CHARSETS", REPO_ROOT / "charsets"))


def fonts_dir() -> Path:
    """Folder of shipped fonts and their manifest (env `STRTOOL_FONTS` overrides)."""
    return Path(os.environ.get("STRTOOL_FONTS", REPO_ROOT / "fonts"))


def configs_dir() -> Path:
    """Folder of shipped YAML presets (env `STRTOOL_CONFIGS` overrides)."""
    return Path(os.environ.get("STRTOOL_CONFIGS", REPO_ROOT / "configs"))
