"""A second, drawn image domain for the demo prior's unlabelled pool: outlined and filled
ellipses, rectangles, triangles, lines and crosses on a dark background, 28x28 grayscale
(like Fashion-MNIST), deterministic for a seed. The prior learns it beside clothing, so
unguided samples are a mixture and the teacher's guidance must pull them into its domain."""

import numpy as np
from PIL import Image, ImageDraw


def draw_shapes(n: int, seed: int = 0, size: int = 28) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        img = Image.new("L", (size, size), 0)
        d = ImageDraw.Draw(img)
        for _ in range(rng.integers(1, 4)):
            x0, y0 = rng.integers(1, size // 2, 2)
            x1, y1 = x0 + rng.integers(6, size // 2), y0 + rng.integers(6, size // 2)
            shade, width = int(rng.integers(120, 256)), int(rng.integers(1, 4))
            fill = shade if rng.random() < 0.5 else None
            kind = rng.integers(0, 5)
            if kind == 0:
                d.ellipse([x0, y0, x1, y1], outline=shade, fill=fill, width=width)
            elif kind == 1:
                d.rectangle([x0, y0, x1, y1], outline=shade, fill=fill, width=width)
            elif kind == 2:
                d.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], outline=shade, fill=fill, width=width)
            elif kind == 3:
                d.line([(x0, y0), (x1, y1)], fill=shade, width=width + 1)
            else:
                d.line([(x0, y0), (x1, y1)], fill=shade, width=width)
                d.line([(x0, y1), (x1, y0)], fill=shade, width=width)
        out[i] = np.asarray(img)
    return out
