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
