"""Device names: what 'auto' means, and how cards and results name the hardware."""

import torch


def resolve_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def device_label(device: str) -> str:
    if str(device).startswith("cuda"):
        return torch.cuda.get_device_name()
    return f"cpu ({torch.get_num_threads()} threads)"
