"""Run a synthesis job over global sample indices: workers, seeding, sharding, writing.

Determinism: sample `i` (0-based global index) draws everything from
`numpy.random.default_rng(SeedSequence([seed, i]))`, and results are written in index
order (`Pool.imap` keeps order), so 1 or N workers give identical image/label/lang
values. Sharding: `--shard k/n` renders the contiguous index range
`[k*N//n, (k+1)*N//n)`, so merging shards 0..n-1 in order (`strtool lmdb merge`)
equals the unsharded LMDB value for value. A job is any picklable object with
`make(i) -> Result`; each worker process receives it once.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import FontError, InputError


@dataclass
class Result:
    """One sample: encoded image (None when skipped), label, language, font label,
    subtype (chars only) and the skip reason."""

    index: int
    label: str
    lang: str
    image: bytes | None = None
    font: str | None = None
    kind: str | None = None
    skip: str | None = None


class Job(Protocol):
    """What the runner needs of a job."""

    def make(self, i: int) -> Result: ...


def sample_rng(seed: int, i: int) -> np.random.Generator:
    """The generator of global sample `i` (independent of workers and shards)."""
    return np.random.default_rng(np.random.SeedSequence([seed, i]))


def parse_shard(spec: str | None) -> tuple[int, int]:
    """`"k/n"` -> (k, n) with 0 <= k < n; None -> (0, 1)."""
    if not spec:
        return 0, 1
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise InputError(f"--shard '{spec}': expected k/n, e.g. 0/4") from None
    if n < 1 or not 0 <= k < n:
        raise InputError(f"--shard '{spec}': need 0 <= k < n")
    return k, n


def shard_range(total: int, k: int, n: int) -> tuple[int, int]:
    """Contiguous global index range [start, stop) of shard k of n."""
    return k * total // n, (k + 1) * total // n


_JOB: list[Job] = []


def _init(job: Job) -> None:
    cv2.setNumThreads(1)
    _JOB[:] = [job]


def _init_worker(job: Job) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the pool
    _init(job)


def _make(i: int) -> Result:
    return _JOB[0].make(i)


def iter_results(job: Job, start: int, stop: int, workers: int = 1) -> Iterator[Result]:
    """Results of indices start..stop-1 in index order; `workers` <= 1 runs inline."""
    if workers <= 1 or stop - start < 2:
        _init(job)
        for i in range(start, stop):
            yield job.make(i)
        return
    chunk = max(1, min(64, (stop - start) // (workers * 8) or 1))
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(job,)) as pool:
        yield from pool.imap(_make, range(start, stop), chunksize=chunk)


@dataclass
class Report:
    """What a run produced (returned to the CLI, also stored in `meta.counts`)."""

    output: str
    requested: int
    written: int = 0
    skipped: int = 0
    per_lang: Counter[str] = field(default_factory=Counter)
    per_font: Counter[str] = field(default_factory=Counter)
    per_kind: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    skipped_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Samples (written or skipped) per second."""
        return (self.written + self.skipped) / self.seconds if self.seconds > 0 else 0.0

    def counts(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "requested": self.requested,
            "written": self.written,
            "skipped": self.skipped,
            "skip_reasons": dict(self.skip_reasons),
            "skipped_examples": self.skipped_examples,
            "per_lang": dict(sorted(self.per_lang.items())),
            "per_font": dict(self.per_font.most_common()),
            **({"per_type": dict(self.per_kind)} if self.per_kind else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (counts, timing, extras)."""
        return {
            "output": self.output,
            **self.counts(),
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 1),
            **self.extra,
        }


def _account(report: Report, r: Result) -> None:
    if r.skip is not None or r.image is None:
        report.skipped += 1
        report.skip_reasons[r.skip or "no-image"] += 1
        if len(report.skipped_examples) < 20 and r.label not in report.skipped_examples:
            report.skipped_examples.append(r.label)
        return
    report.written += 1
    report.per_lang[r.lang] += 1
    report.per_font[r.font or "?"] += 1
    if r.kind:
        report.per_kind[r.kind] += 1


CHECKPOINT_EVERY = 512  # samples between checkpoints of a resumable run


def run(
    job: Job,
    output: str | Path,
    start: int,
    stop: int,
    meta: dict[str, Any],
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    resume: bool = False,
    inputs: Sequence[str | Path] = (),
) -> Report:
    """Render indices [start, stop) and write them, in order, into a new LMDB
    (atomically: nothing appears at `output` unless the run completes). `meta` is
    stored with the counts added under `meta.counts`. Skipped samples are counted;
    when every sample is skipped nothing is written and `FontError` is raised.

    The run fills `<output>.partial` and checkpoints every `CHECKPOINT_EVERY` samples.
    An interrupted run keeps it; `resume=True` continues after the last checkpoint when
    the job is the same (`meta`: config, fonts, corpus, seed; and the range), else
    `InputError` naming what changed. Every index
    is rendered from its own seed, so the result equals an uninterrupted run. Without
    `resume`, an existing `.partial` is an error unless `overwrite` starts again; a run
    stopped before its first checkpoint keeps nothing, and one that failed with an
    error (not Ctrl-C) is named as such by the next run. `overwrite` replaces only an
    LMDB strtool wrote, and never one that is or holds one of `inputs` (corpus files,
    background folder, fonts: `strtool.outputs.check_replaceable`)."""
    output = Path(output)
    report = Report(output=str(output), requested=stop - start)
    t0 = time.perf_counter()
    meta = dict(meta)
    same = {**meta, "start": start, "stop": stop}  # what a resumed run must share
    w = LmdbWriter(output, overwrite=overwrite, meta=meta, job=same, resume=resume,
                   inputs=inputs)  # fmt: skip
    first, previous = _restore(report, w.state) if w.state is not None else (0, 0.0)
    try:
        if progress is not None:
            progress(first, stop - start)
        results = iter_results(job, start + first, stop, workers)
        for done, r in enumerate(results, first + 1):
            _account(report, r)
            if r.skip is None and r.image is not None:
                label = None if w.unlabeled else r.label  # meta `unlabeled`: images only
                w.add(r.image, label, r.lang, extra={"type": r.kind} if r.kind else None)
            if done % CHECKPOINT_EVERY == 0:
                seconds = previous + time.perf_counter() - t0
                w.checkpoint({"done": done, "seconds": seconds, "report": _state(report)})
            if progress is not None and (done % 64 == 0 or done == stop - start):
                progress(done, stop - start)
    except BaseException as e:
        w.suspend(e)
        raise
    report.seconds = previous + time.perf_counter() - t0
    if report.written == 0:
        w.abort()
        raise FontError(
            f"{output}: no sample rendered, all {report.skipped} skipped "
            f"({', '.join(report.skip_reasons)}), e.g. {' '.join(report.skipped_examples[:5])}"
        )
    w.meta["counts"] = report.counts()
    w.close()
    return report


def check_num(num: int) -> None:
    """`InputError` unless `num` (samples of a whole synth job) is at least 1; the
    commands call it before their slow preparation (fonts, corpora)."""
    if num < 1:
        raise InputError(f"--num {num}: must be at least 1")


def run_shard(
    job: Job,
    output: str | Path,
    num: int,
    shard: tuple[int, int],
    meta: dict[str, Any],
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    resume: bool = False,
    inputs: Sequence[str | Path] = (),
) -> Report:
    """`run` over shard `(k, n)`'s contiguous part of `num` samples; `meta` gets the
    shard, its index range and `num_total`, and the report's `extra` the corpus
    statistics of `meta` (`corpus`, `corpus_dropped`) when it has them."""
    check_num(num)
    start, stop = shard_range(num, *shard)
    meta = {**meta, "shard": f"{shard[0]}/{shard[1]}", "index_range": [start, stop],
            "num_total": num}  # fmt: skip
    report = run(job, output, start, stop, meta, workers, overwrite, progress, resume, inputs)
    for key in ("corpus", "corpus_dropped"):
        if key in meta:
            report.extra[key] = meta[key]
    return report


def _state(report: Report) -> dict[str, Any]:
    return {
        "written": report.written, "skipped": report.skipped,
        "per_lang": dict(report.per_lang), "per_font": dict(report.per_font),
        "per_kind": dict(report.per_kind), "skip_reasons": dict(report.skip_reasons),
        "skipped_examples": report.skipped_examples,
    }  # fmt: skip


def _restore(report: Report, state: dict[str, Any]) -> tuple[int, float]:
    """Counts of the interrupted run into `report`; (samples done, seconds spent)."""
    r = state["report"]
    report.written, report.skipped = r["written"], r["skipped"]
    report.skipped_examples = list(r["skipped_examples"])
    for name in ("per_lang", "per_font", "per_kind", "skip_reasons"):
        setattr(report, name, Counter(r[name]))
    return int(state["done"]), float(state["seconds"])
