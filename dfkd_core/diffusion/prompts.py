"""Prompt templates of text-conditioned backbones (Stable Diffusion): `{class}` is replaced
by the target's class name."""

CLASS_PROMPT = "a photo of a {class}"
PLAIN_PROMPT = "a realistic photo."
