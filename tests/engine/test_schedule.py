import math

import pytest
import torch

from strtool.engine.schedule import build_optimizer, build_scheduler


@pytest.mark.parametrize("steps,pct", [(1, 0.1), (2, 0.3), (10, 0.1), (11, 0.1), (100, 0.05)])
def test_one_cycle_short_runs(steps, pct):
    model = torch.nn.Linear(3, 2)
    opt = build_optimizer(model, 1e-3, 0.01)
    sched = build_scheduler(opt, 1e-3, steps, pct)
    lrs = []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert all(lr > 0 for lr in lrs)
    assert max(lrs) <= 1e-3 + 1e-12


def _lrs_used(lr: float, steps: int, pct: float) -> list[float]:
    """The learning rate each of `steps` optimiser steps runs with (read before the step,
    as the trainer does: `opt.step()` then `sched.step()`)."""
    opt = build_optimizer(torch.nn.Linear(3, 2), lr, 0.01)
    sched = build_scheduler(opt, lr, steps, pct)
    used = []
    for _ in range(steps):
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return used


@pytest.mark.parametrize("steps,pct", [(100, 0.3), (200, 0.05), (10, 0.1)])
def test_one_cycle_warms_up_to_the_peak_at_pct_start_then_anneals_to_almost_zero(steps, pct):
    """Cosine warm-up from lr/25 to lr over the first pct_start of the steps, then
    cosine annealing to ~0: the shape, not only the signs, of the schedule."""
    lr = 1e-3
    used = _lrs_used(lr, steps, pct)
    peak = max(range(steps), key=used.__getitem__)
    # the peak is reached at the end of the warm-up (short runs: at least two steps)
    assert peak == round(max(pct, 2 / steps) * steps) - 1, (peak, used[:8])
    assert used[peak] == pytest.approx(lr, rel=1e-9)
    assert used[0] == pytest.approx(lr / 25, rel=1e-9)
    rise, fall = used[: peak + 1], used[peak:]
    assert all(a < b for a, b in zip(rise, rise[1:], strict=False)), rise
    assert all(a > b for a, b in zip(fall, fall[1:], strict=False)), fall[-5:]
    assert used[-1] < lr * 1e-4  # annealed to (nearly) zero, not left at a plateau
    # both phases are cosine (not linear) ramps: lr/25 -> lr -> lr/25/1e4
    low, end = lr / 25, lr / 25 / 1e4
    for k, got in enumerate(used):
        if k <= peak:
            want = low + (lr - low) / 2 * (1 - math.cos(math.pi * k / peak))
        else:
            t = (k - peak) / (steps - 1 - peak)
            want = end + (lr - end) / 2 * (1 + math.cos(math.pi * t))
        assert got == pytest.approx(want, rel=1e-6), (k, got, want)
