"""Sample preparation for `make_lmdb`: read and check images, normalise labels and
choose language tags, a chunk (index range) at a time, in this process or in worker
processes.

Per entry, in this order: a gt issue stays an issue; a sample whose group is outside
`--lang` is `filtered` (its image is not read); the image is read (`missing`) and
checked (`corrupt`: `imgcheck.header_problem`, or the full decode with `--check`);
the label is converted (`--compat`) and normalised (`empty_label`; line breaks of a
multi-line label kept, `normalize_label(multiline=True)`) and checked for
suspicious characters (`strtool.text.suspicious`: flagged, or with `--strict` skipped
as `suspicious_label`); the tag is the sample's own language (tsv language column, MLT Script,
`lang-*` key of a source LMDB) or else the `--lang` tag.

With `workers` > 1 the chunks are prepared by a process pool (fork where available, so
the entry list is inherited, not sent) and come back in order, at most `2 * workers`
chunks in flight; the caller writes one chunk while the workers prepare the next ones.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult
from pathlib import Path

from strtool.data import gt_formats as gtf
from strtool.data.cll import COMPAT
from strtool.data.iam import crop_image
from strtool.data.imgcheck import image_problem
from strtool.data.lmdb_io import LmdbReader, image_key
from strtool.text.langs import GROUPS
from strtool.text.normalize import normalize_label
from strtool.text.suspicious import describe, find_suspicious

#: Entries per chunk (one task for a worker process).
CHUNK = 256
#: Most processes `auto_workers` picks.
MAX_AUTO_WORKERS = 4


@dataclass(frozen=True)
class BuildIssue:
    """A skipped sample: kind, gt file (or LMDB) and 1-based line, image, reason."""

    kind: str
    source: str
    line: int
    image: str | None
    message: str


@dataclass(frozen=True)
class Rules:
    """How entries become samples: decode-check images, label conversion, the groups
    kept (None: all) and the tag of samples without a language of their own."""

    decode: bool = False
    compat: str | None = None
    allowed: frozenset[str] | None = None
    tag: str | None = None
    strict: bool = False


@dataclass
class Prepared:
    """One prepared chunk: samples `(image, label, lang)` in order, issues in order,
    flagged (written) samples with suspicious labels, and the number of samples
    filtered by `--lang`."""

    samples: list[tuple[bytes, str, str | None]] = field(default_factory=list)
    issues: list[BuildIssue] = field(default_factory=list)
    flags: list[BuildIssue] = field(default_factory=list)
    filtered: int = 0


def group_tag(group: str) -> str:
    """Tag of a group: its language when unique (`ARA` -> `ar`), else the group."""
    langs = GROUPS[group]
    return langs[0] if len(langs) == 1 else group


def read_image(path: str) -> tuple[bytes | None, str | None]:
    """(bytes, None) or (None, why the file cannot be read). Plain `os` calls: half
    the cost of `open().read()` for the small files of STR datasets."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None, "image file not found"
    except OSError as e:
        return None, f"cannot read image: {e.strerror}"
    except ValueError:  # a NUL character in the path
        return None, "invalid image path (NUL character)"
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)  # one read when the size is right
        if len(data) != size:  # the file changed size since fstat
            parts = [data]
            while more := os.read(fd, 1 << 20):
                parts.append(more)
            data = b"".join(parts)
        return data, None
    except OSError as e:
        return None, f"cannot read image: {e.strerror}"
    finally:
        os.close(fd)


class Preparer:
    """Prepares index ranges of a source: a list of `GtEntry | GtIssue`, or the path
    of an LMDB (read through a per-process `LmdbReader`)."""

    def __init__(self, source: list[gtf.GtItem] | Path, rules: Rules) -> None:
        self.items = source if isinstance(source, list) else None
        self.reader = None if isinstance(source, list) else LmdbReader(source)
        self.rules = rules
        self._convert: Callable[[str], str] | None = COMPAT[rules.compat] if rules.compat else None

    def __call__(self, lo: int, hi: int) -> Prepared:
        """Prepare entries `lo..hi-1` (0-based)."""
        out = Prepared()
        if self.items is not None:
            for e in self.items[lo:hi]:
                self._gt(e, out)
        else:
            for i in range(lo, hi):
                self._lmdb(i, out)
        return out

    def _gt(self, e: gtf.GtItem, out: Prepared) -> None:
        if isinstance(e, gtf.GtIssue):
            out.issues.append(BuildIssue(e.kind, e.source, e.line, e.image, e.message))
            return
        allowed = self.rules.allowed
        if allowed is not None and e.group is not None and e.group not in allowed:
            out.filtered += 1
            return
        data, why = read_image(e.image)
        kind = "missing"
        if data is not None:
            why, kind = image_problem(data, self.rules.decode), "corrupt"
        if why is not None:
            out.issues.append(BuildIssue(kind, e.source, e.line, e.image, why))
            return
        assert data is not None  # read_image gives the bytes or the reason it cannot
        if e.crop is not None:
            data = crop_image(data, e.crop)
            if data is None:
                why = f"crop {e.crop} lies outside the image or it does not decode"
                out.issues.append(BuildIssue("corrupt", e.source, e.line, e.image, why))
                return
        own = e.lang or (group_tag(e.group) if e.group else None)
        self._add(data, e.label, own, e.source, e.line, e.image, out)

    def _lmdb(self, i: int, out: Prepared) -> None:
        assert self.reader is not None
        s, src, key = self.reader[i], str(self.reader.path), image_key(i + 1).decode()
        why = image_problem(s.image, self.rules.decode)
        if why is not None:
            out.issues.append(BuildIssue("corrupt", src, i + 1, key, why))
            return
        self._add(s.image, s.label, s.lang, src, i + 1, key, out)

    def _add(
        self, data: bytes, raw: str, own: str | None, src: str, line: int, image: str, out: Prepared
    ) -> None:
        label = normalize_label(self._convert(raw) if self._convert else raw, multiline=True)
        if not label:
            out.issues.append(BuildIssue("empty_label", src, line, image, "empty label"))
            return
        found = find_suspicious(label)
        if found:
            why = f"label {label!r}: {describe(found)}"
            issue = BuildIssue("suspicious_label", src, line, image, why)
            if self.rules.strict:
                out.issues.append(issue)
                return
            out.flags.append(issue)
        out.samples.append((data, label, own or self.rules.tag))


def auto_workers() -> int:
    """Processes worth using now: the CPU cores not already busy (1-minute load
    average, this process counted as one of its own), 1..MAX_AUTO_WORKERS. On a
    saturated machine extra processes only add fork and transfer costs."""
    cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except OSError:  # pragma: no cover - no load average on this platform
        busy = 0
    return max(1, min(MAX_AUTO_WORKERS, cores, cores - busy + 1))


_WORKER: list[Preparer] = []  # the Preparer of a worker process


def _init_worker(prep: Preparer) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the pool
    _WORKER[:] = [prep]


def _run(bounds: tuple[int, int]) -> Prepared:
    return _WORKER[0](*bounds)


def prepared_chunks(
    source: list[gtf.GtItem] | Path,
    total: int,
    rules: Rules,
    workers: int,
    chunk: int = CHUNK,
    start: int = 0,
) -> Iterator[tuple[int, Prepared]]:
    """Yield `(entries done, Prepared)` for consecutive chunks of `source` from entry
    `start` on, in order.

    `workers` = 0 means `auto_workers()`. With `workers` > 1 (and at least 3 chunks)
    `workers - 1` forked processes take
    chunks (each at most 2 ahead) and this process shares the work dynamically: while
    the next chunk to yield is not ready, it prepares the next unassigned chunk itself
    (and the caller writes between yields). Nothing waits that could work."""
    prep = Preparer(source, rules)
    bounds = [(lo, min(lo + chunk, total)) for lo in range(start, total, chunk)]
    workers = auto_workers() if workers == 0 and len(bounds) >= 3 else workers
    if workers <= 1 or len(bounds) < 3:
        for lo, hi in bounds:
            yield hi, prep(lo, hi)
        return
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers - 1, _init_worker, (prep,)) as pool:
        done: dict[int, Prepared] = {}
        sent: dict[int, AsyncResult[Prepared]] = {}
        nxt = 0  # first chunk not yet assigned
        for k in range(len(bounds)):
            while k not in done:
                while len(sent) < 2 * (workers - 1) and nxt < len(bounds):
                    sent[nxt] = pool.apply_async(_run, (bounds[nxt],))
                    nxt += 1
                if k in sent and (sent[k].ready() or nxt == len(bounds)):
                    done[k] = sent.pop(k).get()
                else:  # k is not ready (or k == nxt): prepare chunk nxt here
                    done[nxt] = prep(*bounds[nxt])
                    nxt += 1
            yield bounds[k][1], done.pop(k)
