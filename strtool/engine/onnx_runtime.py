"""Reading through ONNX Runtime instead of PyTorch (`strtool predict --runtime onnx`).

The task's exportable module (`Task.onnx_module`, the module its `read` calls) is
exported in memory and run by an `onnxruntime.InferenceSession` on the CPU, wrapped in
an `nn.Module` so the task decodes its output exactly as it decodes PyTorch's logits
(charset restriction, CTC decoding, confidences). At batch 1 the graph runtime skips
most of PyTorch's per-operator overhead: see `bench/infer_speed.py`. Export costs a
few seconds per process, so it pays off from a few hundred crops on, or in a server
that keeps the reader.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import torch
from torch import Tensor, nn

from strtool.errors import InputError
from strtool.tasks.base import Task

RUNTIMES: tuple[str, ...] = ("torch", "onnx")


class OrtModule(nn.Module):
    """`forward(images) -> logits` by an ONNX Runtime session (float32 CPU tensors)."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session

    def forward(self, images: Tensor) -> Tensor:
        x = images.detach().to("cpu", torch.float32).contiguous().numpy()
        (logits,) = self.session.run(["logits"], {"images": x})
        return torch.from_numpy(logits)


def export_graph(
    module: nn.Module, example: Tensor, target: str | io.BytesIO, opset: int,
    dynamic_width: bool = False,
) -> None:  # fmt: skip
    """`torch.onnx.export` of an images -> logits module in the form strtool uses
    everywhere: input `images`, output `logits`, dynamic batch axis (with
    `dynamic_width`, also the image width and the logits' frames: a CTC model that
    reads wide crops at their own width), TorchScript exporter. `target` is a file
    path or a buffer."""
    images = {0: "batch", 3: "width"} if dynamic_width else {0: "batch"}
    logits = {0: "batch", 1: "frames"} if dynamic_width else {0: "batch"}
    torch.onnx.export(
        module, (example,), target,  # type: ignore[arg-type]  # a BytesIO works (dynamo=False)
        input_names=["images"], output_names=["logits"],
        dynamic_axes={"images": images, "logits": logits},
        opset_version=opset, dynamo=False,
    )  # fmt: skip


def reads_wide(task: Task) -> bool:
    """Whether the task reads crops wider than its training width at their own width
    (`Task.read_transform`): its graph is exported with a free width."""
    return task.read_transform.max_width > task.cfg.model.width


def use_onnx_runtime(task: Task, threads: int | None = None, opset: int = 17) -> None:
    """Replace `task.model` by an ONNX Runtime session of the same module (CPU).
    `InputError` when onnxruntime is missing or the family's read does not go through
    its exportable module."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise InputError("--runtime onnx needs onnxruntime: pip install 'strtool[onnx]'") from None
    module, _ = task.onnx_module()
    if module is not task.model:
        raise InputError(f"--runtime onnx: a {task.family} checkpoint reads through PyTorch only")
    m = task.cfg.model
    x = torch.rand(1, m.channels, m.height, m.width) * 2 - 1
    buf = io.BytesIO()
    module = module.to("cpu").eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shape checks: not for users
            export_graph(module, x, buf, opset, dynamic_width=reads_wide(task))
    except Exception as e:  # noqa: BLE001 - exporter failures are reported in one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise InputError(f"--runtime onnx: the export failed ({first})") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    # PyTorch's OpenMP threads run the resize and the decoding around each call; ORT
    # threads that spin-wait between calls would fight them for the cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
    task.model = OrtModule(session)
