"""Writer of the scene-text LMDB schema (keys: `strtool.data.lmdb_io`).

An **unlabeled** LMDB (crops for semi-supervised training, `strtool.data.unlabeled`)
has no `label-*` keys and says so in `meta` (`"unlabeled": true`, `UNLABELED`); its
writer refuses labels.

The writer fills a temporary folder beside `path` (`strtool.outputs.new_temp_dir`) and
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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import lmdb

from strtool import __version__
from strtool.data.lmdb_io import (
    LMDB_KIND,
    META_KEY,
    NUM_KEY,
    UNLABELED,
    image_key,
    label_key,
    lang_key,
    partial_path,
    release,
)
from strtool.errors import DataError, InputError
from strtool.outputs import (
    check_output,
    check_replaceable,
    ensure_parent,
    new_temp_dir,
    replace_dir,
)
from strtool.text.normalize import nfc

INITIAL_MAP_SIZE = 1 << 26  # 64 MiB; grows by doubling when full
PROGRESS_KEY = b"strtool-progress"
PART_PREFIX = b"strtool-part-"
STOPPED_KEY = b"strtool-stopped"
SYNC_EVERY = 10.0  # seconds between fsyncs of a resumable writer's checkpoints


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
