"""ONNX export of a checkpoint, for the families that have an exportable module
(`Task.onnx_module`): input `images` (N, C, H, W) float32 in [-1, 1], output `logits`
(N, T, classes), dynamic batch axis; for a CTC model that reads wide crops at their
own width (`Task.read_transform`) the width and the frames are free too. What decodes
the logits is stored in the ONNX metadata (e.g. `strtool_tokenizer`, JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from strtool.engine.onnx_runtime import export_graph, reads_wide
from strtool.engine.reader import open_reader
from strtool.errors import InputError
from strtool.outputs import Kind, check_output, temp_path

MIN_OPSET, MAX_OPSET = 11, 20


def _onnx_problem(path: Path) -> str | None:
    """Why `path` is not an ONNX file strtool exported (its metadata names strtool)."""
    try:
        import onnx

        props = onnx.load(str(path), load_external_data=False).metadata_props
    except Exception:  # noqa: BLE001 - anything unreadable is not ours
        return "it is not a readable ONNX file"
    if not any(p.key.startswith("strtool_") for p in props):
        return "its metadata does not say strtool exported it"
    return None


#: What `export onnx --overwrite` may replace.
ONNX_KIND = Kind("an ONNX file exported by strtool", _onnx_problem)


def export_onnx(
    model: str | Path,
    output: str | Path,
    opset: int = 17,
    check: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Export checkpoint `model` to `output` (written atomically; an existing `output`
    needs `overwrite` and must be an ONNX file strtool exported; never the checkpoint
    itself); with `check`, compare against PyTorch on a random batch with onnxruntime.
    Returns paths, shapes, `max_abs_diff`. Needs `onnx` (`pip install 'strtool[onnx]'`)."""
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise InputError(f"--opset {opset}: supported opsets are {MIN_OPSET} to {MAX_OPSET}")
    try:
        import onnx
    except ImportError:
        raise InputError(
            "ONNX export needs the onnx package: pip install 'strtool[onnx]' (onnx and onnxruntime)"
        ) from None
    output = Path(output)
    if output.is_dir():
        raise InputError(f"--output {output}: is a folder; give the .onnx file to write")
    if not output.parent.is_dir():
        raise InputError(f"--output {output}: folder {output.parent} does not exist")
    check_output(output, ONNX_KIND, [model], overwrite)
    rec = open_reader(model, "cpu")
    module, metadata = rec.task.onnx_module()
    m = rec.config.model
    x = torch.rand(2, m.channels, m.height, m.width) * 2 - 1
    wide = reads_wide(rec.task)  # a free width: wide crops are read at their own width
    tmp = temp_path(output)
    try:
        export_graph(module, x, str(tmp), opset, dynamic_width=wide)
        proto = onnx.load(str(tmp))
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(tmp))
        tmp.replace(output)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"--output {output}: cannot write ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - exporter failures are reported in one line
        tmp.unlink(missing_ok=True)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise InputError(f"ONNX export of {model} failed: {first}") from None
    result: dict[str, Any] = {"model": str(model), "output": str(output), "opset": opset,
                              "family": rec.family, "input": list(x.shape[1:]),
                              "max_width": rec.task.read_transform.max_width if wide else None,
                              "max_abs_diff": None}  # fmt: skip
    if check:
        result["max_abs_diff"] = _compare(output, module, x, wide)
    return result


def _compare(path: Path, model: torch.nn.Module, x: torch.Tensor, wide: bool) -> float | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = [torch.cat([x, x[:1]])]  # a different batch size checks the dynamic axis
    if wide:  # and a wider input the free width
        inputs.append(torch.cat([x, x], dim=3)[:1])
    worst = 0.0
    for xi in inputs:
        (got,) = sess.run(["logits"], {"images": xi.numpy()})
        with torch.inference_mode():
            ref = model(xi).numpy()
        worst = max(worst, float(abs(got - ref).max()))
    return worst
