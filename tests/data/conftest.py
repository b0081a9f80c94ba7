"""Fixtures for the data tests: tiny images and LMDBs built in tmp_path."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import lmdb
import pytest
from PIL import Image


def png_bytes(w: int = 40, h: int = 16, color=(255, 255, 255), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def jpg_bytes(w: int = 40, h: int = 16, color=(200, 100, 50)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "JPEG")
    return buf.getvalue()


def raw_lmdb(path: Path, items: dict[bytes, bytes]) -> Path:
    """An LMDB written with plain puts (as other tools do)."""
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for k, v in items.items():
            txn.put(k, v)
    env.close()
    return path


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    """A folder with good PNG/JPEG images, a truncated PNG and an empty file."""
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(4):
        (d / f"ok{i}.png").write_bytes(png_bytes(30 + i, 16, (i * 40, 10, 10)))
    (d / "ok.jpg").write_bytes(jpg_bytes())
    (d / "trunc.png").write_bytes(png_bytes()[:-30])
    (d / "empty.png").write_bytes(b"")
    return d


class Stop(Exception):
    """Raised by `stop_after` to interrupt a resumable build."""


def stop_after(calls: int) -> Callable[[int, int], None]:
    """A progress callback that raises `Stop` at its `calls`-th call."""
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == calls:
            raise Stop

    return progress
