"""ONNX export of a recogniser checkpoint: input `images` (N, C, H, W) float32 in
[-1, 1], output `logits` (N, T, classes); the batch axis is dynamic. The charset and
tokenizer settings are stored in the ONNX metadata (`strtool_tokenizer`, JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from strtool.engine.evaluate import load_recognizer
from strtool.errors import InputError


def export_onnx(
    model: str | Path, output: str | Path, opset: int = 17, check: bool = True
) -> dict[str, Any]:
    """Export checkpoint `model` to `output`; with `check` and onnxruntime installed,
    compare against PyTorch on a random batch. Returns paths, shapes, `max_abs_diff`."""
    rec = load_recognizer(model, "cpu")
    m = rec.config.model
    x = torch.rand(2, m.channels, m.height, m.width) * 2 - 1
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        torch.onnx.export(
            rec.model, (x,), str(tmp), input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=opset, dynamo=False,
        )  # fmt: skip
    except Exception as e:  # noqa: BLE001 - report exporter failures as user errors
        tmp.unlink(missing_ok=True)
        raise InputError(f"ONNX export of {model} failed: {e}") from None
    _add_metadata(tmp, rec.tokenizer.to_dict())
    tmp.replace(output)
    result: dict[str, Any] = {"model": str(model), "output": str(output), "opset": opset,
                              "input": list(x.shape[1:]), "max_abs_diff": None}  # fmt: skip
    if check:
        result["max_abs_diff"] = _compare(output, rec.model, x)
    return result


def _add_metadata(path: Path, tokenizer: dict[str, Any]) -> None:
    try:
        import onnx
    except ImportError:
        return
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "strtool_tokenizer", json.dumps(tokenizer, ensure_ascii=False)
    onnx.save(proto, str(path))


def _compare(path: Path, model: torch.nn.Module, x: torch.Tensor) -> float | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x3 = torch.cat([x, x[:1]])  # a different batch size checks the dynamic axis
    (got,) = sess.run(["logits"], {"images": x3.numpy()})
    with torch.inference_mode():
        ref = model(x3).numpy()
    return float(abs(got - ref).max())
