"""Import a `bench/` script as a module for its tests (bench/ is not a package)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from strtool.paths import REPO_ROOT

BENCH = REPO_ROOT / "bench"


def load_bench(name: str) -> ModuleType:
    """Execute `bench/<name>.py` afresh as the module `name`: registered in
    `sys.modules` (dataclasses look their module up there) and with `bench/` on
    `sys.path`, so its sibling modules (`cputime`, `figures`, ...) import as when the
    script runs."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
