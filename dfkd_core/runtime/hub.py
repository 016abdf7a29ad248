"""The hub's offline flags, honoured by every loader that accepts a hub id."""

import os
from pathlib import Path

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DIFFUSERS_OFFLINE")


def offline_by_default() -> bool:
    """True when any offline variable is set: then hub ids resolve from the local cache only."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in OFFLINE_VARIABLES)


FILE_SUFFIXES = (".pth", ".pt", ".safetensors", ".json", ".bin", ".ckpt", ".onnx", ".yaml", ".yml")


def looks_like_hub_id(source) -> bool:
    """`owner/name` and nothing that reads as a local path: no leading / ./ ../ ~, one slash,
    no file suffix (.pth, .safetensors, ...), and no folder here named like the owner. A
    missing local file is then reported as missing at once, never looked up on the hub."""
    text = str(source)
    parts = text.split("/")
    if len(parts) != 2 or not all(parts) or text.startswith(("~", ".")) or "\\" in text:
        return False
    owner, name = parts
    return not name.lower().endswith(FILE_SUFFIXES) and not Path(owner).expanduser().exists()
