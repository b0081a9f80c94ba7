"""Reader and writer for the de-facto scene-text LMDB schema.

Keys (all values bytes):

- `num-samples`: decimal count N.
- `image-%09d`: encoded image bytes (PNG, JPEG, ...), 1-based index 1..N.
- `label-%09d`: UTF-8 label, NFC, logical order.
- `lang-%09d` (optional, strtool): language code or group name of the sample.
- `meta` (optional, strtool): JSON object (source, languages, normalisation, unit,
  tool and version, counts).

An **unlabeled** LMDB (crops for semi-supervised training, `strtool.data.unlabeled`)
has no `label-*` keys and says so in `meta` (`"unlabeled": true`, `UNLABELED`); its
writer refuses labels and its reader refuses to return any (`DataError`).

The reader accepts LMDBs written by other tools, which lack `lang-*` and `meta`. The
writer fills a temporary folder beside `path` (`strtool.outputs.new_temp_dir`) and
swaps it onto `path` only on a successful `close()` (`strtool.outputs.replace_dir`),
so an interrupted run never leaves an LMDB that looks complete and a failed run leaves
the old `path` as it was. An existing `path` is replaced only with `overwrite` and
only when it is an LMDB strtool wrote (`strtool.outputs.check_replaceable`, kind
`lmdb`), never when it is one of the writer's `inputs`. A resumable writer (`job=...`,
see `make_lmdb`) fills `partial_path(path)` and keeps it when interrupted:
`checkpoint(state)` commits the pending samples together with a `strtool-progress`
record (and `strtool-part-*` records of the caller) in one transaction, and a later
writer of the same job with `resume=True` continues from the last checkpoint.
`close()` deletes these records. A run that stops before its first checkpoint leaves
nothing; one that stops with an error (not Ctrl-C) after it records the error
(`strtool-stopped`), so the next run says so instead of "interrupted".
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb

from strtool import __version__
from strtool.errors import DataError, InputError
from strtool.outputs import (
    Kind,
    check_output,
    check_replaceable,
    ensure_parent,
    lmdb_files_problem,
    new_temp_dir,
    replace_dir,
)
from strtool.text.normalize import nfc

INITIAL_MAP_SIZE = 1 << 26  # 64 MiB; grows by doubling when full
NUM_KEY = b"num-samples"
META_KEY = b"meta"
PROGRESS_KEY = b"strtool-progress"
PART_PREFIX = b"strtool-part-"
STOPPED_KEY = b"strtool-stopped"
SYNC_EVERY = 10.0  # seconds between fsyncs of a resumable writer's checkpoints
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


class LmdbWriter:
    """Write samples into a new LMDB atomically (context manager).

    `add()` buffers samples and commits them `batch` at a time in one transaction
    (`putmulti`); the map grows by doubling when full. `close()` writes `num-samples`
    and `meta`, syncs, and renames the temporary directory onto `path`. Leaving the
    `with` block through an exception removes the temporary directory instead.
    """

    def __init__(
        self,
        path: str | Path,
        overwrite: bool = False,
        map_size: int = INITIAL_MAP_SIZE,
        meta: dict[str, Any] | None = None,
        batch: int = 2000,
        job: dict[str, Any] | None = None,
        resume: bool = False,
        inputs: Sequence[str | Path] = (),
    ) -> None:
        self.path = Path(path)
        self.inputs = [Path(p) for p in inputs]
        check_output(self.path, LMDB_KIND, self.inputs, overwrite)
        self.overwrite = overwrite
        self.meta: dict[str, Any] = dict(meta or {})
        self.unlabeled = bool(self.meta.get(UNLABELED))  # `add(image, None)` only
        self.batch = batch
        #: A resumable writer's job: what must be equal for `resume` to continue.
        self.job = _json_form(job) if job is not None else None
        self.resumable = job is not None
        self._pending: list[tuple[bytes, bytes]] = []
        self.count = 0
        self.langs: Counter[str] = Counter()
        #: The caller's state of the last checkpoint when resuming, else None.
        self.state: dict[str, Any] | None = None
        self._checkpointed = False
        self._synced = time.monotonic()
        self._map_size = map_size
        self._env: lmdb.Environment | None = None
        self._lock: tuple[Path, int] | None = None
        if not self.resumable:
            self.tmp = new_temp_dir(self.path)
            try:
                self._env = self._open(self.tmp)
            except InputError:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise
            return
        self.tmp = partial_path(self.path)
        check_replaceable(self.tmp, "partial", self.inputs)
        ensure_parent(self.tmp)
        self._lock = _lock(self.tmp.with_name(self.tmp.name + ".lock"), self.path)
        if self.tmp.exists() and not (resume or overwrite):
            why = _stopped_reason(self.tmp)
            self._unlock()
            raise InputError(f"{self.tmp} holds {why} for {self.path}: continue it with "
                             "--resume, or start again with --overwrite")  # fmt: skip
        if resume and self.tmp.exists():
            self._env = self._open(self.tmp)
            with self._env.begin() as txn:
                raw = txn.get(PROGRESS_KEY)
            if raw is not None:
                record = json.loads(raw)
                self._checkpointed = True  # a refused resume keeps the folder
                self._check_job(record.get("job", {}))
                self.count, self.langs = record["count"], Counter(record["langs"])
                self.state = record["state"]
                return
            self._env.close()  # interrupted before its first checkpoint: start again
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self._env = self._open(self.tmp)

    def _check_job(self, stored: dict[str, Any]) -> None:
        """`InputError` naming the keys in which `stored` differs from `self.job`."""
        job = self.job or {}
        changed = [k for k in job if stored.get(k) != job[k]]
        changed += [k for k in stored if k not in job]
        if changed:
            self.suspend()
            raise InputError(
                f"--resume: {self.tmp} was made by another job ({', '.join(changed)} "
                "changed); use --overwrite to start again"
            )

    def _unlock(self) -> None:
        if self._lock is not None:
            lock_path, fd = self._lock
            lock_path.unlink(missing_ok=True)
            os.close(fd)  # releases the flock
            self._lock = None

    def _open(self, path: Path) -> lmdb.Environment:
        try:
            env = lmdb.open(str(path), map_size=self._map_size, sync=False, metasync=False,
                            lock=False)  # fmt: skip
        except lmdb.Error as e:
            self._unlock()
            raise InputError(f"cannot write {path}: {e}") from None
        self._map_size = max(self._map_size, env.info()["map_size"])
        return env

    def add(
        self,
        image: bytes,
        label: str | None,
        lang: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> int:
        """Append one sample (label stored NFC, UTF-8); returns its 1-based index.
        `label` is None exactly when the writer's meta says `unlabeled`.

        `extra` maps a per-sample key prefix to a value, stored as `<prefix>-%09d`
        (e.g. `{"type": "letter"}` -> `type-000000001`); readers of other tools ignore
        such keys."""
        if self._env is None:
            raise DataError(f"{self.path}: writer is closed")
        if (label is None) != self.unlabeled:
            raise ValueError(f"{self.path}: label {label!r} in a writer with unlabeled="
                             f"{self.unlabeled}")  # fmt: skip
        self.count += 1
        i = self.count
        self._pending.append((image_key(i), bytes(image)))
        if label is not None:
            self._pending.append((label_key(i), nfc(label).encode("utf-8")))
        if lang is not None:
            self._pending.append((lang_key(i), lang.encode("utf-8")))
            self.langs[lang] += 1
        for prefix, value in (extra or {}).items():
            if prefix in ("image", "label", "lang", "num", "meta") or not prefix.isidentifier():
                raise ValueError(f"invalid per-sample key prefix '{prefix}'")
            self._pending.append((b"%s-%09d" % (prefix.encode(), i), value.encode("utf-8")))
        if len(self._pending) >= self.batch * 2:
            self._flush()
        return i

    def add_many(self, samples: Iterable[tuple[bytes, str, str | None]]) -> int:
        """Append `(image, label, lang)` samples in order, like `add` but without its
        per-call overhead; returns the number of samples written so far."""
        if self._env is None:
            raise DataError(f"{self.path}: writer is closed")
        if self.unlabeled:
            raise ValueError(f"{self.path}: add_many writes labels; this writer is unlabeled")
        pending, langs, i = self._pending, self.langs, self.count
        for image, label, lang in samples:
            i += 1
            pending.append((b"image-%09d" % i, image))
            pending.append((b"label-%09d" % i, nfc(label).encode("utf-8")))
            if lang is not None:
                pending.append((b"lang-%09d" % i, lang.encode("utf-8")))
                langs[lang] += 1
        self.count = i
        if len(pending) >= self.batch * 2:
            self._flush()
        return i

    def _flush(self, extra: list[tuple[bytes, bytes]] | None = None) -> None:
        items = self._pending + (extra or [])
        assert self._env is not None
        while True:
            try:
                with self._env.begin(write=True) as txn:
                    txn.cursor().putmulti(items, dupdata=False, overwrite=True)
                break
            except lmdb.MapFullError:
                self._map_size *= 2
                self._env.set_mapsize(self._map_size)
        self._pending = []

    def checkpoint(self, state: dict[str, Any], parts: dict[str, bytes] | None = None) -> None:
        """Commit the pending samples, `parts` (stored as `strtool-part-<name>`) and a
        progress record holding `state` in one transaction; fsync at most every
        `SYNC_EVERY` seconds. A writer opened with `resume=True` gets `state` back."""
        if self._env is None:
            raise DataError(f"{self.path}: writer is closed")
        record = {"count": self.count, "langs": dict(self.langs), "job": self.job,
                  "state": state}  # fmt: skip
        extra = [(PART_PREFIX + k.encode(), v) for k, v in (parts or {}).items()]
        self._flush(extra + [(PROGRESS_KEY, json.dumps(record, ensure_ascii=False).encode())])
        self._checkpointed = True
        if time.monotonic() - self._synced >= SYNC_EVERY:
            self._env.sync(True)
            self._synced = time.monotonic()

    def parts(self) -> dict[str, bytes]:
        """The `checkpoint` parts stored so far (name -> value), in key order."""
        assert self._env is not None
        out: dict[str, bytes] = {}
        with self._env.begin() as txn:
            cur = txn.cursor()
            if cur.set_range(PART_PREFIX):
                for key, value in cur:
                    if not key.startswith(PART_PREFIX):
                        break
                    out[key[len(PART_PREFIX) :].decode()] = bytes(value)
        return out

    def suspend(self, error: BaseException | None = None) -> None:
        """Stop a resumable writer and keep its directory: samples up to the last
        `checkpoint` survive for `resume=True`; later ones are dropped. Without any
        checkpoint there is nothing to keep: the directory is removed. `error` (not a
        `KeyboardInterrupt`) is recorded, so that the next run says the run failed
        rather than that it was interrupted."""
        if not self._checkpointed:
            self.abort()
            return
        if self._env is not None:
            if error is not None and not isinstance(error, KeyboardInterrupt):
                why = f"{type(error).__name__}: {error}"[:300]
                with self._env.begin(write=True) as txn:
                    txn.put(STOPPED_KEY, why.encode("utf-8"))
            self._env.sync(True)
            self._env.close()
            self._env = None
        self._unlock()

    def close(self) -> Path:
        """Finish: write `num-samples` and `meta`, sync, rename onto `path`."""
        if self._env is None:
            return self.path
        try:  # the output may have appeared since the writer started
            check_output(self.path, LMDB_KIND, self.inputs, self.overwrite)
        except InputError:
            self.suspend() if self.resumable else self.abort()
            raise
        if self.resumable:
            self._drop_progress()
        meta = {
            "tool": "strtool",
            "version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "normalisation": "NFC",
            **self.meta,
            "num_samples": self.count,
            "languages": dict(sorted(self.langs.items())),
        }
        extra = [
            (NUM_KEY, str(self.count).encode()),
            (META_KEY, json.dumps(meta, ensure_ascii=False).encode("utf-8")),
        ]
        self._flush(extra)
        self._env.sync(True)
        self._env.close()
        self._env = None
        release(self.path)
        replace_dir(self.tmp, self.path)
        self._unlock()
        return self.path

    def _drop_progress(self) -> None:
        assert self._env is not None
        with self._env.begin(write=True) as txn:
            txn.delete(PROGRESS_KEY)
            txn.delete(STOPPED_KEY)
            cur = txn.cursor()
            if cur.set_range(PART_PREFIX):
                while cur.key().startswith(PART_PREFIX):
                    if not cur.delete():
                        break

    def abort(self) -> None:
        """Discard everything written so far (removes the temporary directory)."""
        if self._env is not None:
            self._env.close()
            self._env = None
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._unlock()

    def __enter__(self) -> LmdbWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _json_form(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples -> lists, paths -> str), so a job
    compares equal to the one stored in a progress record."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _lock(lock_path: Path, target: Path) -> tuple[Path, int] | None:
    """An exclusive `flock` on `lock_path` (POSIX; elsewhere no lock): a second
    process writing the same resumable output gets `InputError`. The kernel releases
    the lock when the process dies, so a killed run never blocks its `--resume`."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    if lock_path.is_symlink() or (lock_path.exists() and not _is_lock_file(lock_path)):
        raise InputError(f"{lock_path} exists and is not a strtool lock file (an empty file); "
                         "remove it yourself or choose another output")  # fmt: skip
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InputError(f"{target}: another process is writing it ({lock_path})") from None
    return lock_path, fd


def _is_lock_file(path: Path) -> bool:
    return path.is_file() and path.stat().st_size == 0


def _stopped_reason(partial: Path) -> str:
    """How the run that left `partial` ended, for the refusal message."""
    raw = None
    try:
        env = lmdb.open(str(partial), readonly=True, lock=False)
        try:
            with env.begin() as txn:
                raw = txn.get(STOPPED_KEY)
        finally:
            env.close()
    except lmdb.Error:
        pass
    if raw is None:
        return "an interrupted run"
    return f"a run that stopped with an error ({raw.decode('utf-8', 'replace')})"


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
