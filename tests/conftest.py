import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(min(2, os.cpu_count() or 1))

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def runs_dir():
    """Where the app writes runs and sample sets during the tests (DFKD_RUNS_DIR)."""
    return Path(os.environ["DFKD_RUNS_DIR"])


def pytest_configure(config):
    import tempfile
    os.environ.setdefault("DFKD_RUNS_DIR", tempfile.mkdtemp(prefix="dfkd-test-runs-"))


def fashion_mnist_available() -> bool:
    from dfkd_core import DfkdError
    from dfkd_core.data.fashion_mnist import locate
    try:
        locate()
        return True
    except DfkdError:
        return False


# CI installs Fashion-MNIST (.ci/run); elsewhere these tests say why they skipped.
needs_fmnist = pytest.mark.skipif(not fashion_mnist_available(),
                                  reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")


@pytest.fixture(scope="session")
def app_url():
    """The app of app.py, served once per test session on a free localhost port."""
    import socket
    import sys
    sys.path.insert(0, str(ROOT))
    from app import build_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_app()
    demo.queue(default_concurrency_limit=2)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def two_class_folder(root: Path, counts: dict) -> Path:
    """An ImageFolder of 16x16 greys, classes "dark" and "light", counts {split: images}; returns root."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, n in counts.items():
        for cls, value in (("dark", 40), ("light", 210)):
            (root / split / cls).mkdir(parents=True)
            for i in range(n // 2):
                img = np.clip(value + rng.normal(0, 20, (16, 16)), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(root / split / cls / f"{i}.png")
    return root
