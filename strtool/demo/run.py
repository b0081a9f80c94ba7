"""The demo's steps (see `strtool.demo` for the whole flow): render the data, plan the
steps from a measured speed, train with a time guard, then evaluate and report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from strtool.data.lmdb_io import LmdbReader
from strtool.demo.data import Vocabulary, build_vocabulary, render_set
from strtool.demo.report import evaluate_and_report
from strtool.demo.settings import DemoResult, DemoSettings, Event, TimeUp
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import RunConfig, config_from_dict, load_run_config
from strtool.engine.curves import read_jsonl
from strtool.engine.loop import train
from strtool.models import ModelSpec, build_model
from strtool.paths import configs_dir
from strtool.tasks.ctc import ctc_loss, resolve_chars


def _threads(s: DemoSettings) -> int:
    return s.threads if s.threads > 0 else torch.get_num_threads()


def base_config(data: Path, s: DemoSettings) -> RunConfig:
    """The `tiny` preset on the demo LMDBs (steps set later by `plan_steps`)."""
    sets = [
        f"data.train=[{data / 'train.lmdb'}]", f"data.val=[{data / 'val.lmdb'}]",
        "model.keep_ratio=true", f"model.arch={s.arch}", f"train.batch_size={s.batch_size}",
        f"train.lr={s.lr}", f"train.threads={_threads(s)}", f"train.seed={s.seed}",
        "train.log_every=10", "train.pct_start=0.15", "data.workers=1", "train.device=cpu",
        "eval.metric=ned",
    ]  # fmt: skip
    return load_run_config(configs_dir() / "tiny.yaml", sets)


def measure_img_s(cfg: RunConfig, num_classes: int, seconds: float = 4.0) -> float:
    """Training images/s of `cfg`'s model on random batches (forward, CTC, backward,
    AdamW), after two warm-up steps; at least 3 timed steps."""
    torch.set_num_threads(cfg.train.threads)
    m = cfg.model
    spec = ModelSpec(m.channels, (m.height, m.width), num_classes)
    model = build_model(m.arch, spec, **m.options)
    # Module.to's overloads omit memory_format, which it accepts (torch._C._nn._parse_to).
    model = model.to(memory_format=torch.channels_last).train()  # type: ignore[call-overload]
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    n = cfg.train.batch_size
    x = torch.randn(n, m.channels, m.height, m.width).contiguous(memory_format=torch.channels_last)
    targets = torch.randint(1, num_classes, (n * 4,))
    lengths = torch.full((n,), 4, dtype=torch.long)
    done, t0 = -2, 0.0
    while done < 3 or time.perf_counter() - t0 < seconds:
        if done == 0:
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.train.amp == "bf16"):
            logits = model(x)
        loss = ctc_loss(logits, targets, lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done += 1
    return done * n / (time.perf_counter() - t0)


def pick_speed(cfg: RunConfig, num_classes: int) -> float:
    """Measure `cfg.train.threads` and 1 thread (on a busy machine one thread can be
    several times faster), each in float32 and bf16 autocast (about 2x on CPUs with
    AVX512-BF16/AMX, slower where emulated); keep the fastest in `cfg` and return its
    images/s."""
    threads = sorted({cfg.train.threads, 1}, reverse=True)
    best = (0.0, cfg.train.threads, "none")
    for t in threads:
        for amp in ("none", "bf16"):
            cfg.train.threads, cfg.train.amp = t, amp
            best = max(best, (measure_img_s(cfg, num_classes, 2.5), t, amp))
    cfg.train.threads, cfg.train.amp = best[1], best[2]
    return best[0]


def plan_steps(cfg: RunConfig, img_s: float, s: DemoSettings) -> RunConfig:
    """Steps filling `s.minutes` at `img_s` (8% kept for data loading and validation)."""
    steps = max(20, int(0.92 * img_s * s.minutes * 60 / cfg.train.batch_size))
    cfg.train.steps = steps
    cfg.train.val_every = max(10, steps // max(1, s.evals))
    cfg.train.ckpt_every = max(10, steps // 20)
    return cfg


def make_data(data: Path, vocab: Vocabulary, s: DemoSettings, emit: Event) -> dict[str, Any]:
    """Render (or reuse) the three LMDBs; returns per-set counts."""
    n_langs = len(vocab.train)
    plan = {
        "train": (s.train_images, vocab.train, s.seed),
        "val": (s.val_per_lang * n_langs, vocab.train, s.seed + 1),
        "unseen": (s.unseen_per_lang * n_langs, vocab.unseen, s.seed + 2),
    }
    out: dict[str, Any] = {}
    for name, (num, words, seed) in plan.items():

        def progress(done: int, total: int, name: str = name) -> None:
            emit({"kind": "synth", "set": name, "done": done, "total": total})

        rep = render_set(data / f"{name}.lmdb", num, words, seed, s.workers, name, progress)
        if rep is None:
            counts = LmdbReader(data / f"{name}.lmdb").meta.get("counts", {})
            out[name] = {"reused": True, **counts}
        else:
            out[name] = {"reused": False, **rep.counts(), "seconds": rep.seconds}
        emit({"kind": "synth_done", "set": name, **out[name]})
    return out


def run_training(run: Path, cfg: RunConfig, s: DemoSettings, emit: Event) -> dict[str, Any]:
    """Train (or resume) into `run`; stop at 1.5x the budget (+30 s) at the latest."""
    last = run / "last.pt"
    resume = last.is_file()
    if resume:
        cfg = config_from_dict(load_checkpoint(last)["config"])
    else:
        (run / "metrics.jsonl").unlink(missing_ok=True)
        cfg = plan_steps(cfg, pick_speed(cfg, len(resolve_chars(cfg)) + 1), s)
    emit({"kind": "train_start", "steps": cfg.train.steps, "resume": resume,
          "threads": cfg.train.threads, "amp": cfg.train.amp})  # fmt: skip
    limit = time.perf_counter() + 1.5 * s.minutes * 60 + 30

    def on_event(e: dict[str, Any]) -> None:
        emit(e)
        if e["kind"] == "train" and time.perf_counter() > limit and e["step"] < e["total_steps"]:
            raise TimeUp

    stopped = False
    try:
        result = train(cfg, run, resume=resume, on_event=on_event)
        step = result.step
    except TimeUp:
        stopped = True
        step = load_checkpoint(last)["step"] if last.is_file() else 0
    rate = median_img_s(run / "metrics.jsonl")
    return {"step": step, "total_steps": cfg.train.steps, "stopped_early": stopped,
            "img_s": rate, "batch_size": cfg.train.batch_size, "threads": cfg.train.threads,
            "amp": cfg.train.amp}  # fmt: skip


def median_img_s(log: Path) -> float:
    """Median training images/s over the `train` records of a run's metrics log."""
    rates = sorted(r["img_s"] for r in read_jsonl(log) if r.get("kind") == "train")
    return rates[len(rates) // 2] if rates else 0.0


def run_demo(
    output: str | Path, settings: DemoSettings | None = None, on_event: Event | None = None
) -> DemoResult:
    """Run the whole demo into `output` (see the module docstring)."""
    s = settings or DemoSettings()
    emit = on_event or (lambda e: None)
    out = Path(output)
    data, run = out / "data", out / "run"
    run.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    emit({"kind": "stage", "message": f"vocabulary: {s.words} words x {len(s.langs)} languages"})
    vocab = build_vocabulary(s.langs, s.words, s.min_len, s.max_len, s.unseen_per_lang)
    counts = make_data(data, vocab, s, emit)
    t1 = time.perf_counter()
    training = run_training(run, base_config(data, s), s, emit)
    t2 = time.perf_counter()
    emit({"kind": "stage", "message": "evaluating and writing the report"})
    seconds = {"data": t1 - t0, "train": t2 - t1}
    return evaluate_and_report(out, vocab, s, counts, training, seconds, emit)


__all__ = ["run_demo"]
