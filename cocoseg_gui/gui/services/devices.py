"""Which compute devices are available, and form defaults that suit them (torch imported lazily)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceChoice:
    name: str  # "cpu", "cuda:0", "mps"
    label: str  # shown in the combo box


def list_devices() -> list[DeviceChoice]:
    """cpu, each CUDA GPU with its name and memory, and mps on Apple silicon."""
    choices = [DeviceChoice("cpu", "cpu")]
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return choices
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gib = props.total_memory / 2**30
            choices.append(DeviceChoice(f"cuda:{i}", f"cuda:{i} - {props.name} ({gib:.0f} GiB)"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        choices.append(DeviceChoice("mps", "mps (Apple GPU)"))
    return choices


@dataclass(frozen=True)
class DeviceDefaults:
    img_size: int
    batch_size: int
    amp: bool
    workers: int


def defaults_for(device: str) -> DeviceDefaults:
    """Form defaults for a device: small and quick on CPU, larger with AMP on a GPU."""
    if device.startswith("cuda"):
        return DeviceDefaults(img_size=512, batch_size=8, amp=True, workers=4)
    if device == "mps":
        return DeviceDefaults(img_size=384, batch_size=4, amp=False, workers=2)
    return DeviceDefaults(img_size=192, batch_size=4, amp=False, workers=0)
