"""Device strings (`--device`, `train.device`) -> `torch.device`, checked up front.

Accepted: `auto` (this process's CUDA device when CUDA is available, else the CPU;
MPS is never picked automatically), `cpu`, `cuda` (this process's GPU: `cuda:LOCAL_RANK`
under torchrun), `cuda:N`, `mps`. Anything else, or a device this machine does not have,
is one `ConfigError` line that says what is available here.
"""

from __future__ import annotations

import re

import torch

from strtool.errors import ConfigError

__all__ = ["available_devices", "resolve_device"]

_SPEC = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")


def _cuda_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device strings that work on this machine, e.g. `['auto', 'cpu', 'cuda', 'cuda:0']`."""
    out = ["auto", "cpu"]
    n = _cuda_count()
    if n:
        out += ["cuda", *(f"cuda:{i}" for i in range(n))]
    if _mps_available():
        out.append("mps")
    return out


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    """The `torch.device` for `spec` (`auto|cpu|cuda|cuda:N|mps`, case-insensitive).

    `local_rank` is the process's GPU under torchrun, used by `auto` and a bare `cuda`.
    Raises `ConfigError` (one line, naming the string and what is available) for an
    unknown string, CUDA or MPS absent, or an index beyond the device count."""
    s = str(spec).strip().lower()
    here = ", ".join(available_devices())
    m = _SPEC.match(s)
    if m is None or (m.group(2) is not None and m.group(1) != "cuda"):
        raise ConfigError(
            f"device '{spec}': expected auto, cpu, cuda, cuda:N or mps; available here: {here}"
        )
    kind, index = m.group(1), m.group(2)
    n = _cuda_count()
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "auto":
        return torch.device(f"cuda:{local_rank}") if local_rank < n else torch.device("cpu")
    if kind == "mps":
        if not _mps_available():
            raise ConfigError(f"device '{spec}': MPS is not available; available here: {here}")
        return torch.device("mps")
    if n == 0:
        raise ConfigError(
            f"device '{spec}': CUDA is not available on this machine; available here: {here}"
        )
    i = int(index) if index is not None else local_rank
    if i >= n:
        which = "1 CUDA device (cuda:0)" if n == 1 else f"{n} CUDA devices (cuda:0 to cuda:{n - 1})"
        raise ConfigError(f"device '{spec}': this machine has {which}; available here: {here}")
    return torch.device(f"cuda:{i}")
