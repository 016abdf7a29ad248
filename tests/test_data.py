import gzip
import struct

import numpy as np
import pytest
import torch
from conftest import needs_fmnist

from dfkd_core import DfkdError
from dfkd_core.data import load_dataset, load_fashion_mnist, random_crop_flip
from dfkd_core.data.idx import read_idx


def _write_idx(path, array: np.ndarray):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if str(path).endswith(".gz") else open)(path, "wb").write(data)


def _fake_fashion_mnist(folder, n_train=60_000, n_test=20):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 255, (n_train, 28, 28))
    train[:, 0, 0] = np.arange(n_train) % 251  # an index mark to check the splits
    _write_idx(folder / "train-images-idx3-ubyte.gz", train)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(n_train) % 10)
    _write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 255, (n_test, 28, 28)))
    _write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(n_test) % 10)
    return train


def test_idx_roundtrip_and_errors(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.idx.gz", a)
    assert (read_idx(tmp_path / "a.idx.gz") == a).all()
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DfkdError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    raw = (tmp_path / "a.idx.gz")
    _write_idx(tmp_path / "t.idx", a)
    (tmp_path / "t.idx").write_bytes((tmp_path / "t.idx").read_bytes()[:-5])
    with pytest.raises(DfkdError, match="truncated"):
        read_idx(tmp_path / "t.idx")
    assert raw.exists()


def test_splits_from_a_named_folder_and_from_DFKD_DATA(tmp_path, monkeypatch):
    train = _fake_fashion_mnist(tmp_path / "fashion-mnist")
    tt = load_fashion_mnist("teacher-train", root=tmp_path / "fashion-mnist")
    pool = load_fashion_mnist("pool", root=tmp_path / "fashion-mnist")
    assert len(tt) == 50_000 and len(pool) == 10_000
    assert tt.images.shape[1:] == (1, 32, 32)  # padded 28 -> 32
    assert pool.images[0, 0, 2, 2] == train[50_000, 0, 0]  # pool starts at train image 50,000
    assert tt.images[-1, 0, 2, 2] == train[49_999, 0, 0]
    monkeypatch.setenv("DFKD_DATA", str(tmp_path))  # its fashion-mnist/ subfolder is searched
    assert len(load_dataset("fashion-mnist", "test")) == 20


def test_missing_dataset_names_the_ways_to_get_it(tmp_path, monkeypatch):
    import dfkd_core.data.fashion_mnist as fm
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "none")
    monkeypatch.setattr(fm, "CACHE_DIR", tmp_path / "none2")
    monkeypatch.delenv("DFKD_DATA", raising=False)
    with pytest.raises(DfkdError) as e:
        load_fashion_mnist("test")
    msg = str(e.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "DFKD_DATA" in msg and "--download" in msg
    with pytest.raises(DfkdError, match="does not exist"):
        load_fashion_mnist("test", root=tmp_path / "missing")
    with pytest.raises(DfkdError, match="Unknown Fashion-MNIST split 'val'"):
        load_fashion_mnist("val")
    with pytest.raises(DfkdError, match="Unknown dataset 'imagenet-22k'"):
        load_dataset("imagenet-22k")


@needs_fmnist
def test_real_fashion_mnist_splits():
    test = load_dataset("fashion-mnist", "test")
    assert len(test) == 10_000 and test.images.shape[1:] == (1, 32, 32)
    assert test.class_names[0] == "T-shirt/top"
    assert torch.bincount(test.labels).tolist() == [1000] * 10


def test_image_folder(tmp_path):
    from PIL import Image
    for cls in ("cat", "dog"):
        (tmp_path / "train" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((20, 20, 3), 40 * i, np.uint8)).save(tmp_path / "train" / cls / f"{i}.png")
    (tmp_path / "train" / "dog" / "notes.txt").write_text("ignored")
    ds = load_dataset(str(tmp_path), "train", image_size=16)
    assert ds.class_names == ["cat", "dog"] and len(ds) == 6 and ds.images.shape == (6, 3, 16, 16)
    (tmp_path / "train" / "cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DfkdError, match="Could not read image .*broken.png"):
        load_dataset(str(tmp_path), "train")


def test_random_crop_flip_shifts_within_the_pad():
    x = torch.zeros(64, 1, 8, 8)
    x[:, :, 4, 4] = 1
    out = random_crop_flip(x, pad=2, flip=True, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.all(out.sum((1, 2, 3)) == 1)
    ys, xs = out[:, 0].nonzero(as_tuple=True)[1:]
    assert ys.min() >= 2 and ys.max() <= 6 and len(set(xs.tolist())) > 3
