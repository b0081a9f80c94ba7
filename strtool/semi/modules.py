"""The modules of semi-supervised training: the teacher (an EMA or snapshot copy of
the recogniser, never trained by gradients) and the student (the recogniser plus,
for contrastive learning, a projection head), which the training loop wraps in DDP
and optimises as one module."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from strtool.semi.losses import window_pool


class Teacher:
    """A frozen copy of a model, in eval mode, moved toward the student by
    `update(student, decay)`: every floating-point parameter becomes
    `decay * teacher + (1 - decay) * student` (Mean Teacher, Tarvainen & Valpola
    2017); buffers (BatchNorm statistics) are copied. `decay=0` is a snapshot."""

    def __init__(self, model: nn.Module) -> None:
        self.model = copy.deepcopy(model)
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, student: nn.Module, decay: float) -> None:
        params = dict(student.named_parameters())
        for name, t in self.model.named_parameters():
            s = params[name].detach()
            if t.dtype.is_floating_point:
                t.mul_(decay).add_(s.to(t.dtype), alpha=1.0 - decay)
            else:
                t.copy_(s)
        buffers = dict(student.named_buffers())
        for name, b in self.model.named_buffers():
            b.copy_(buffers[name].detach())

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        return self.model(images)

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)


class Student(nn.Module):
    """The trained module: `model` (a CTC recogniser with a `head` whose input is the
    encoder's (N, T, D) frame sequence) and an optional `proj` head (contrastive).

    `forward(images, project_from, windows)` -> `(logits (N, T, C), z | None)`: `z`
    (K * windows, proj_dim) projects the encoder frames of rows `project_from:` pooled
    into `windows` instances each (`losses.window_pool`); None for `project_from` < 0.
    The projection runs inside `forward`, so DDP sees every parameter in use."""

    def __init__(self, model: nn.Module, proj_dim: int | None) -> None:
        super().__init__()
        self.model = model
        head = model.get_submodule("head")
        self.proj: nn.Module | None = None
        if proj_dim is not None:
            dim = _in_features(head)
            self.proj = nn.Sequential(
                nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, proj_dim)
            )
        self._frames: list[Tensor] = []
        self._capture = False  # only inside `forward`, never in validation or reading
        head.register_forward_pre_hook(self._keep_frames)

    def _keep_frames(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if self._capture:
            self._frames.append(args[0])

    def forward(
        self, images: Tensor, project_from: int = -1, windows: int = 1
    ) -> tuple[Tensor, Tensor | None]:
        self._frames.clear()
        self._capture = project_from >= 0
        try:
            logits = self.model(images)
        finally:
            self._capture = False
        if project_from < 0:
            return logits, None
        if self.proj is None or len(self._frames) != 1:
            raise ValueError("contrastive frames need a projection head and one head call")
        frames = self._frames.pop()[project_from:]
        return logits, self.proj(window_pool(frames, windows))


def _in_features(head: nn.Module) -> int:
    """Input size of a CTC head (`CTCHead.fc`, or any module ending in a Linear)."""
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model's head has no Linear layer to read its input size from")
    return linears[0].in_features
