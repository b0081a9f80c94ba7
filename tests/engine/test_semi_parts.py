"""Semi-supervised building blocks against hand-computed values: EMA teacher update,
confidence masking, ramp-up, window pooling, NT-Xent; views that keep CTC frames
aligned and are reproducible from (seed, position)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from strtool.semi.config import AffineConfig, StrongViewConfig, ViewConfig
from strtool.semi.losses import frame_consistency, nt_xent, ramp_up, window_pool
from strtool.semi.modules import Student, Teacher
from strtool.semi.views import make_views, view_generator


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 1, bias=False)
        self.bn = nn.BatchNorm1d(1)
        self.head = nn.Linear(1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, T, 2) -> (N, T, 3)
        y = self.bn(self.lin(x).transpose(1, 2)).transpose(1, 2)
        return self.head(y)


def test_ema_teacher_update_by_hand() -> None:
    student = _Net()
    with torch.no_grad():
        student.lin.weight.copy_(torch.tensor([[1.0, 2.0]]))
    teacher = Teacher(student)
    assert not any(p.requires_grad for p in teacher.model.parameters())
    assert not teacher.model.training
    with torch.no_grad():
        teacher.model.lin.weight.zero_()
        student.bn.running_mean.fill_(0.25)
    teacher.update(student, 0.9)  # 0.9 * 0 + 0.1 * [1, 2]
    torch.testing.assert_close(teacher.model.lin.weight, torch.tensor([[0.1, 0.2]]))
    assert float(teacher.model.bn.running_mean) == 0.25  # buffers copied
    with torch.no_grad():
        student.lin.weight.copy_(torch.tensor([[3.0, 4.0]]))
    teacher.update(student, 0.9)  # 0.9 * [0.1, 0.2] + 0.1 * [3, 4] = [0.39, 0.58]
    torch.testing.assert_close(teacher.model.lin.weight, torch.tensor([[0.39, 0.58]]))
    teacher.update(student, 0.0)  # a snapshot
    torch.testing.assert_close(teacher.model.lin.weight, student.lin.weight)
    assert student.lin.weight.requires_grad  # the student is untouched


def test_confidence_mask_and_loss_by_hand() -> None:
    # frame 0: teacher p = (0.95, 0.05) -> target 0, kept; frame 1: (0.6, 0.4) -> masked
    teacher = torch.log(torch.tensor([[[0.95, 0.05], [0.6, 0.4]]]))
    student = torch.tensor([[[0.0, 0.0], [5.0, -5.0]]], requires_grad=True)
    loss, mask = frame_consistency(student, teacher, 0.9)
    assert mask.tolist() == [[True, False]]
    assert float(loss.detach()) == pytest.approx(
        math.log(2) / 2, abs=1e-6
    )  # CE(uniform) / 2 frames
    loss.backward()
    assert student.grad is not None and student.grad[0, 1].abs().sum() == 0  # masked frame
    # threshold 0: both frames; frame 1 CE = -log softmax(5, -5)[0]
    loss, mask = frame_consistency(student, teacher, 0.0)
    ce1 = -math.log(math.exp(5) / (math.exp(5) + math.exp(-5)))
    assert bool(mask.all()) and float(loss.detach()) == pytest.approx(
        (math.log(2) + ce1) / 2, abs=1e-6
    )
    loss, mask = frame_consistency(student, teacher, 0.99)
    assert float(loss.detach()) == 0.0 and not bool(mask.any())


def test_blank_weight_by_hand() -> None:
    # three frames, class 0 = blank: the teacher reads blank, blank, 1 (all confident)
    teacher = torch.log(torch.tensor([[[0.95, 0.05], [0.97, 0.03], [0.02, 0.98]]]))
    student = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]])
    ce = [math.log(2), math.log(1 + math.exp(-2)), math.log(1 + math.exp(-1))]
    loss, _ = frame_consistency(student, teacher, 0.9)  # blank_weight 1: the plain mean
    assert float(loss) == pytest.approx(sum(ce) / 3, abs=1e-6)
    loss, _ = frame_consistency(student, teacher, 0.9, blank_weight=0.25)
    assert float(loss) == pytest.approx((0.25 * (ce[0] + ce[1]) + ce[2]) / 1.5, abs=1e-6)
    loss, _ = frame_consistency(student, teacher, 0.9, blank_weight=0.0)
    assert float(loss) == pytest.approx(ce[2], abs=1e-6)  # the character frame only


def test_ramp_up_by_hand() -> None:
    assert ramp_up(0, 10) == pytest.approx(math.exp(-5))
    assert ramp_up(5, 10) == pytest.approx(math.exp(-1.25))  # 0.2865
    assert ramp_up(10, 10) == 1.0 and ramp_up(50, 10) == 1.0
    assert ramp_up(3, 0) == 1.0


def test_window_pool_by_hand() -> None:
    frames = torch.tensor([[[1.0], [2.0], [3.0], [4.0]], [[0.0], [0.0], [2.0], [2.0]]])
    out = window_pool(frames, 2)
    assert out.shape == (4, 1)
    assert out[:, 0].tolist() == [1.5, 3.5, 0.0, 2.0]


def _nt_xent_by_hand(z1: list[list[float]], z2: list[list[float]], tau: float) -> float:
    rows = z1 + z2
    rows = [[v / math.sqrt(sum(x * x for x in r)) for v in r] for r in rows]
    m, total = len(z1), 0.0
    for i, a in enumerate(rows):
        pos = (i + m) % (2 * m)
        sims = {j: sum(x * y for x, y in zip(a, b, strict=True)) / tau
                for j, b in enumerate(rows) if j != i}  # fmt: skip
        total += -math.log(math.exp(sims[pos]) / sum(math.exp(s) for s in sims.values()))
    return total / (2 * m)


def test_nt_xent_by_hand() -> None:
    eye = [[1.0, 0.0], [0.0, 1.0]]
    # identical views, orthogonal instances, tau 1: log(1 + 2/e) for every row
    got = float(nt_xent(torch.tensor(eye), torch.tensor(eye), 1.0))
    assert got == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    z1 = [[1.0, 2.0, 0.5], [-1.0, 0.3, 2.0], [0.2, -0.7, 1.1]]
    z2 = [[0.9, 2.2, 0.1], [-0.5, 0.1, 1.0], [1.0, 1.0, -1.0]]
    got = float(nt_xent(torch.tensor(z1), torch.tensor(z2), 0.5))
    assert got == pytest.approx(_nt_xent_by_hand(z1, z2, 0.5), abs=1e-5)


def _bar_image(col: int) -> torch.Tensor:
    """(1, 3, 32, 100) in [-1, 1]: light background, a dark 4-px bar at `col`."""
    x = torch.full((1, 3, 32, 100), 0.8)
    x[..., col : col + 4] = -0.8
    return x


def _bar_column(img: torch.Tensor) -> float:
    """Centre of the bar in px: centroid of the columns' deviation from the background
    (any polarity; the median column is background)."""
    dev = (img - img.median()).abs().mean(dim=(0, 1, 2))
    dev = (dev - dev.median()).clamp(min=0)
    dev = torch.where(dev > 0.5 * dev.max(), dev, torch.zeros_like(dev))
    return float((dev * torch.arange(len(dev))).sum() / dev.sum())


def test_views_share_geometry_so_frames_stay_aligned() -> None:
    images = torch.cat([_bar_image(20), _bar_image(60)])
    affine = AffineConfig(rotate=0.0, shear=0.0, scale=0.0, translate=0.15)
    strong = StrongViewConfig(invert=1.0)  # polarity flipped too: alignment only
    for seed in range(5):
        weak, s1, s2 = make_views(images, affine, [ViewConfig(), strong, strong],
                                  view_generator(seed, 3, 0))  # fmt: skip
        for k in range(2):
            cols = [_bar_column(v[k : k + 1]) for v in (weak, s1, s2)]
            # the same place in every view (a CRNN frame is 4 px wide)
            assert max(cols) - min(cols) < 0.5, (seed, k, cols)
        assert weak.shape == s1.shape == images.shape and float(s1.abs().max()) <= 1.0
    moved = [_bar_column(make_views(images[:1], affine, [ViewConfig()],
                                    view_generator(s, 0, 0))[0]) for s in range(8)]  # fmt: skip
    assert max(moved) - min(moved) > 3  # the shared affine does move the crop (all views)
    # identity geometry and no photometric change: the crop itself
    none = ViewConfig(brightness=0, contrast=0)
    zero = AffineConfig(rotate=0, shear=0, scale=0, translate=0)
    (same,) = make_views(images, zero, [none], view_generator(0, 0, 0))
    torch.testing.assert_close(same, images, atol=1e-5, rtol=0)


def test_views_reproducible_from_seed_and_position() -> None:
    images = torch.rand(3, 3, 32, 100) * 2 - 1
    cfgs = [ViewConfig(), StrongViewConfig()]
    a = make_views(images, AffineConfig(), cfgs, view_generator(7, 11, 1))
    b = make_views(images, AffineConfig(), cfgs, view_generator(7, 11, 1))
    c = make_views(images, AffineConfig(), cfgs, view_generator(7, 12, 1))
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a[1], c[1])


def test_student_projects_encoder_frames_in_windows() -> None:
    net = _Net()
    student = Student(net, proj_dim=4)
    x = torch.rand(5, 6, 2)
    logits, z = student(x, project_from=2, windows=3)
    assert logits.shape == (5, 6, 3) and z is not None and z.shape == (3 * 3, 4)
    logits2, none = student(x)
    assert none is None and torch.equal(logits2, net(x))
    net.eval()
    net(x)  # reading outside the student keeps no frames
    assert student._frames == []
