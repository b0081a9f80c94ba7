"""The de-facto scene-text LMDB schema and its reader.

Keys (all values bytes):

- `num-samples`: decimal count N.
- `image-%09d`: encoded image bytes (PNG, JPEG, ...), 1-based index 1..N.
- `label-%09d`: UTF-8 label, NFC, logical order.
- `lang-%09d` (optional, strtool): language code or group name of the sample.
- `meta` (optional, strtool): JSON object (source, languages, normalisation, unit,
  tool and version, counts).

An **unlabeled** LMDB (crops for semi-supervised training, `strtool.data.unlabeled`)
has no `label-*` keys and says so in `meta` (`"unlabeled": true`, `UNLABELED`); its
reader refuses to return labels (`DataError`).

The reader accepts LMDBs written by other tools, which lack `lang-*` and `meta`. The
writer is `strtool.data.lmdb_writer.LmdbWriter`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb

from strtool.errors import DataError
from strtool.outputs import Kind, lmdb_files_problem
from strtool.text.normalize import nfc

NUM_KEY = b"num-samples"
META_KEY = b"meta"
#: `meta` key marking an LMDB of images without labels (value `true`).
UNLABELED = "unlabeled"


def partial_path(path: str | Path) -> Path:
    """The folder a resumable writer of `path` fills: `<path>.partial`."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def image_key(i: int) -> bytes:
    """Key of the 1-based image `i`."""
    return b"image-%09d" % i


def label_key(i: int) -> bytes:
    """Key of the 1-based label `i`."""
    return b"label-%09d" % i


def lang_key(i: int) -> bytes:
    """Key of the 1-based language tag `i`."""
    return b"lang-%09d" % i


@dataclass
class Sample:
    """One sample: encoded image bytes, NFC label, optional language tag."""

    image: bytes
    label: str
    lang: str | None = None


#: Read-only environments of this process, by resolved path (py-lmdb allows one per
#: process). Handles inherited through fork are never used: a child closes them
#: (read-only without lock file, so this only unmaps them in the child) and reopens.
_ENVS: dict[str, lmdb.Environment] = {}
_ENVS_PID = [os.getpid()]


def open_readonly(path: Path) -> lmdb.Environment:
    """The shared read-only environment of `path` in this process (opened once)."""
    if _ENVS_PID[0] != os.getpid():  # forked: drop the parent's handles in this process
        for inherited in _ENVS.values():
            inherited.close()  # read-only, lock=False: only unmaps in this process
        _ENVS.clear()
        _ENVS_PID[0] = os.getpid()
    key = str(path.resolve())
    env = _ENVS.get(key)
    if env is None:
        env = _ENVS[key] = _open_env(path)
    return env


def stored_meta(path: Path) -> dict[str, Any] | None:
    """The `meta` JSON of the LMDB `path` ({} when it has none), or None when it is
    not a readable LMDB. An environment this process had not opened is closed again."""
    was_open = _ENVS_PID[0] == os.getpid() and str(path.resolve()) in _ENVS
    try:
        with open_readonly(path).begin() as txn:
            raw = txn.get(META_KEY)
    except (DataError, lmdb.Error):
        return None
    finally:
        if not was_open:
            release(path)
    try:
        return _parse_meta(raw, path)
    except DataError:
        return {}


def lmdb_kind_problem(path: Path) -> str | None:
    """Why `path` is not an LMDB strtool wrote (only `data.mdb`/`lock.mdb`, and a `meta`
    key naming strtool as the tool), or None."""
    why = lmdb_files_problem(path)
    if why is not None:
        return why
    meta = stored_meta(path)
    if meta is None:
        return "it is not a readable LMDB"
    if meta.get("tool") != "strtool":
        return "its meta key does not say strtool wrote it"
    return None


#: What `--overwrite` may replace where an LMDB is the output.
LMDB_KIND = Kind("an LMDB written by strtool", lmdb_kind_problem)


def release(path: Path) -> None:
    """Close the shared environment of `path` (before replacing or deleting it)."""
    env = _ENVS.pop(str(path.resolve()), None) if _ENVS_PID[0] == os.getpid() else None
    if env is not None:
        env.close()


def _open_env(path: Path) -> lmdb.Environment:
    """Open an LMDB read-only, checking that it exists and is not truncated."""
    if not path.exists():
        raise DataError(f"{path}: no such LMDB")
    data = path / "data.mdb" if path.is_dir() else path
    if not data.is_file():
        raise DataError(f"{path}: not an LMDB (no data.mdb)")
    try:
        env = lmdb.open(
            str(path),
            readonly=True,
            lock=False,
            readahead=False,
            meminit=False,
            subdir=path.is_dir(),
        )
    except lmdb.Error as e:
        raise DataError(f"{path}: not a readable LMDB ({e})") from None
    need = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    if data.stat().st_size < need:
        env.close()
        raise DataError(
            f"{path}: data.mdb is truncated ({data.stat().st_size} bytes, needs {need})"
        )
    return env


class LmdbReader:
    """Random access to an STR LMDB (0-based `__getitem__`).

    The constructor validates the LMDB (exists, not truncated, has `num-samples` >= 1)
    and closes it again; the environment is re-opened lazily in each process on first
    access, so a reader can be pickled into DataLoader workers. Labels are returned
    NFC (LMDBs from other tools may store other forms).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        env = open_readonly(self.path)
        try:
            with env.begin() as txn:
                self._n = _read_count(txn, self.path)
                raw_meta = txn.get(META_KEY)
                cur = txn.cursor()
                self.has_langs = cur.set_range(b"lang-") and cur.key().startswith(b"lang-")
        except lmdb.Error as e:
            raise DataError(f"{self.path}: unreadable LMDB ({e})") from None
        self.meta: dict[str, Any] = _parse_meta(raw_meta, self.path)
        #: Images without labels (`meta` `unlabeled`): `label()` is a `DataError`.
        self.unlabeled = bool(self.meta.get(UNLABELED))
        self._txn: lmdb.Transaction | None = None
        self._pid = -1

    def __len__(self) -> int:
        return self._n

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_txn=None, _pid=-1)
        return state

    def _get_txn(self) -> lmdb.Transaction:
        if self._txn is None or self._pid != os.getpid():
            self._txn = open_readonly(self.path).begin(buffers=False)
            self._pid = os.getpid()
        return self._txn

    def get_raw(self, key: bytes) -> bytes | None:
        """Raw value of `key` (None if absent)."""
        try:
            value = self._get_txn().get(key)
        except lmdb.Error as e:
            raise DataError(f"{self.path}: cannot read key {key.decode()} ({e})") from None
        return None if value is None else bytes(value)  # buffers=False: already bytes

    def image(self, i: int) -> bytes:
        """Encoded bytes of sample `i` (0-based)."""
        data = self.get_raw(image_key(self._check(i) + 1))
        if data is None:
            raise DataError(f"{self.path}: key image-{i + 1:09d} is missing")
        return data

    def label(self, i: int) -> str:
        """NFC label of sample `i` (0-based); `DataError` for an unlabeled LMDB."""
        if self.unlabeled:
            raise DataError(
                f"{self.path}: an unlabeled LMDB (meta '{UNLABELED}'): it has no labels "
                "(use it as data.unlabeled)"
            )
        raw = self.get_raw(label_key(self._check(i) + 1))
        if raw is None:
            raise DataError(f"{self.path}: key label-{i + 1:09d} is missing")
        try:
            return nfc(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise DataError(f"{self.path}: label-{i + 1:09d} is not UTF-8") from None

    def lang(self, i: int) -> str | None:
        """Language tag of sample `i` (0-based), or None when not stored."""
        if not self.has_langs:
            return None
        raw = self.get_raw(lang_key(self._check(i) + 1))
        return raw.decode("utf-8") if raw is not None else None

    def __getitem__(self, i: int) -> Sample:
        return Sample(self.image(i), self.label(i), self.lang(i))

    def __iter__(self) -> Iterator[Sample]:
        for i in range(self._n):
            yield self[i]

    def labels(self) -> Iterator[str]:
        """All labels in order."""
        for i in range(self._n):
            yield self.label(i)

    def langs(self) -> list[str | None]:
        """Per-sample language tags (all None when the LMDB has no `lang-*` keys)."""
        return [self.lang(i) for i in range(self._n)]

    def _check(self, i: int) -> int:
        if not 0 <= i < self._n:
            raise IndexError(f"sample index {i} out of range 0..{self._n - 1}")
        return i

    def close(self) -> None:
        """End this reader's read transaction (it restarts on next access)."""
        if self._txn is not None and self._pid == os.getpid():
            self._txn.abort()
        self._txn, self._pid = None, -1


def _read_count(txn: lmdb.Transaction, path: Path) -> int:
    raw = txn.get(NUM_KEY)
    if raw is None:
        raise DataError(f"{path}: not an STR LMDB (no 'num-samples' key)")
    try:
        n = int(bytes(raw).decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise DataError(f"{path}: 'num-samples' is not an integer ({raw[:20]!r})") from None
    if n <= 0:
        raise DataError(f"{path}: empty LMDB (num-samples = {n})")
    return n


def _parse_meta(raw: bytes | None, path: Path) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: key 'meta' is not valid JSON ({e})") from None
    return meta if isinstance(meta, dict) else {"value": meta}
