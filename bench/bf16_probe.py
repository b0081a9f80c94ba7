"""Why bf16 autocast on CPU did not learn: compare its gradients with fp32's, layer by layer.

One batch of the default model's training stream (grey 32x192, the full charset) goes
through the same model (the same dropout masks each time) in fp32 and under
`torch.autocast("cpu", torch.bfloat16)`, in contiguous and channels_last memory
formats, optionally with parts of the model forced back to fp32 (`--fp32 neck,head`).
For every parameter tensor the script prints the
cosine similarity and the relative norm error of the bf16 gradient against the fp32
one, then the loss and the step time of each setting. A gradient whose cosine is far
below 1 (or whose norm is off by a large factor) is where learning breaks.

    .venv/bin/python bench/bf16_probe.py [--ckpt strtool/weights/default.pt]
        [--batch 96] [--threads 2] [--preset default_model] [--quick]

Without `--ckpt` the model is freshly initialised (seed 0); with it, the weights come
from the checkpoint (the regime where learning happens). Figures are for one batch.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from strtool.config import load_config
from strtool.data.dataset import collate_train
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import RunConfig, config_from_dict
from strtool.engine.data import build_stream, with_stream_charset
from strtool.tasks.registry import build_task


@contextlib.contextmanager
def fp32_parts(model: nn.Module, names: list[str]) -> Iterator[None]:
    """Run the named submodules outside autocast (inputs cast to float32)."""
    handles = []
    for name in names:
        mod = model.get_submodule(name)
        orig = mod.forward

        def fwd(*args: Tensor, _orig=orig) -> Tensor:  # type: ignore[no-untyped-def]
            with torch.autocast("cpu", enabled=False):
                return _orig(*(a.float() if torch.is_tensor(a) else a for a in args))

        mod.forward = fwd  # type: ignore[method-assign]
        handles.append((mod, orig))
    try:
        yield
    finally:
        for mod, orig in handles:
            mod.forward = orig  # type: ignore[method-assign]


def grads(
    task, model: nn.Module, batch, bf16: bool, fp32: list[str]
) -> tuple[dict[str, Tensor], float, float]:  # type: ignore[no-untyped-def]
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)  # the same dropout / drop-path masks in every setting
    t0 = time.perf_counter()
    ctx = torch.autocast("cpu", torch.bfloat16) if bf16 else contextlib.nullcontext()
    with ctx, fp32_parts(model, fp32 if bf16 else []):
        loss = task.loss(model, batch, torch.device("cpu"))
    loss.backward()
    dt = time.perf_counter() - t0
    out = {
        n: p.grad.detach().float().clone()
        for n, p in model.named_parameters()
        if p.grad is not None
    }
    return out, float(loss), dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt")
    ap.add_argument("--preset", default="default_model")
    ap.add_argument("--batch", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fp32", default="", help="submodules kept in fp32, e.g. neck,head")
    ap.add_argument("--quick", action="store_true", help="batch 8, fewer rows")
    args = ap.parse_args()
    if args.quick:
        args.batch = 8
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = load_config(RunConfig, args.preset, [])
    ckpt = load_checkpoint(args.ckpt) if args.ckpt else None
    if ckpt is not None:
        cfg = config_from_dict(ckpt["config"])
    cfg = with_stream_charset(cfg)
    task = build_task(cfg, ckpt)
    if ckpt is not None:
        task.model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
    model = task.model.train()
    stream = build_stream(cfg, task.transform, task.label_chars, cfg.data.unit)
    images, labels, langs, _ = collate_train([stream[i] for i in range(args.batch)])
    batch = (images, labels, langs)
    fp32 = [s for s in args.fp32.split(",") if s]
    for fmt in ("contiguous", "channels_last"):
        model.to(
            memory_format=torch.channels_last if fmt == "channels_last" else torch.contiguous_format
        )
        ref, loss32, t32 = grads(task, model, batch, False, [])
        _, _, t32 = grads(task, model, batch, False, [])  # warm timing
        got, loss16, t16 = grads(task, model, batch, True, fp32)
        _, _, t16 = grads(task, model, batch, True, fp32)
        print(
            f"\n== {fmt}: loss fp32 {loss32:.4f} bf16 {loss16:.4f}; "
            f"step fp32 {t32 * 1000:.0f} ms, bf16 {t16 * 1000:.0f} ms ({t32 / t16:.2f}x)"
        )
        print(f"{'parameter':<44} {'cos':>7} {'|g16|/|g32|':>11}")
        worst = 1.0
        for name, g in ref.items():
            h = got[name]
            cos = float(torch.nn.functional.cosine_similarity(g.flatten(), h.flatten(), dim=0))
            ratio = float(h.norm() / g.norm().clamp_min(1e-12))
            worst = min(worst, cos)
            if not args.quick or cos < 0.99:
                print(f"{name:<44} {cos:7.4f} {ratio:11.3f}")
        print(f"lowest cosine: {worst:.4f}")


if __name__ == "__main__":
    main()
