import pytest
import torch

from strtool.device import available_devices, resolve_device
from strtool.errors import ConfigError


@pytest.fixture
def machine(monkeypatch):
    """Pretend this machine has `n` CUDA devices and MPS or not."""

    def set_(n: int, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_


@pytest.mark.parametrize(
    ("spec", "n", "mps", "expected"),
    [
        ("auto", 0, False, "cpu"),
        ("auto", 0, True, "cpu"),  # MPS only when asked for
        ("auto", 2, False, "cuda:0"),
        ("cpu", 2, False, "cpu"),
        ("CPU ", 0, False, "cpu"),
        ("cuda", 1, False, "cuda:0"),
        ("cuda:1", 2, False, "cuda:1"),
        ("Cuda:0", 1, False, "cuda:0"),
        ("mps", 0, True, "mps"),
    ],
)
def test_resolves(machine, spec, n, mps, expected):
    machine(n, mps)
    assert resolve_device(spec) == torch.device(expected)


def test_local_rank_picks_the_process_gpu(machine):
    machine(4)
    assert resolve_device("auto", local_rank=3) == torch.device("cuda:3")
    assert resolve_device("cuda", local_rank=2) == torch.device("cuda:2")
    assert resolve_device("cuda:0", local_rank=2) == torch.device("cuda:0")


@pytest.mark.parametrize(
    ("spec", "n", "mps", "expected"),
    [
        (
            "tpu",
            0,
            False,
            "device 'tpu': expected auto, cpu, cuda, cuda:N or mps; available here: auto, cpu",
        ),
        ("", 0, False, "device '': expected auto"),
        ("cuda:", 1, False, "device 'cuda:': expected"),
        ("cuda:-1", 1, False, "device 'cuda:-1': expected"),
        ("cpu:0", 1, False, "device 'cpu:0': expected"),
        (
            "cuda",
            0,
            False,
            "device 'cuda': CUDA is not available on this machine; available here: auto, cpu",
        ),
        (
            "cuda:0",
            0,
            True,
            "CUDA is not available on this machine; available here: auto, cpu, mps",
        ),
        (
            "cuda:2",
            2,
            False,
            "device 'cuda:2': this machine has 2 CUDA devices (cuda:0 to cuda:1);"
            " available here: auto, cpu, cuda, cuda:0, cuda:1",
        ),
        ("cuda:1", 1, False, "this machine has 1 CUDA device (cuda:0);"),
        (
            "mps",
            1,
            False,
            "device 'mps': MPS is not available; available here: auto, cpu, cuda, cuda:0",
        ),
    ],
)
def test_errors_say_what_is_available(machine, spec, n, mps, expected):
    machine(n, mps)
    with pytest.raises(ConfigError) as e:
        resolve_device(spec)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_cuda_rank_beyond_count(machine):
    machine(2)
    with pytest.raises(ConfigError, match="has 2 CUDA devices"):
        resolve_device("cuda", local_rank=2)


def test_available_devices(machine):
    machine(0)
    assert available_devices() == ["auto", "cpu"]
    machine(2, True)
    assert available_devices() == ["auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps"]


def test_real_machine_cpu_always_works():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
