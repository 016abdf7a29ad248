"""The hub's offline flags, honoured by every loader that accepts a hub id."""

import os

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DIFFUSERS_OFFLINE")


def offline_by_default() -> bool:
    """True when any offline variable is set: then hub ids resolve from the local cache only."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in OFFLINE_VARIABLES)
