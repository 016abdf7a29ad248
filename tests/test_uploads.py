"""Uploads are bounded before any work: HiDFD images by pixels (read off the header, before
decoding), zip members by their declared size (never read) and while read, a minimum size
(one tiny image does not shrink the others: each is resized to the teacher's input); an
uploaded checkpoint leaves nothing on disk; names with control characters are refused."""

import shutil
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from dfkd_core import DfkdError
from dfkd_core.data.uploads import MAX_FILE_BYTES, read_image_files, read_zip
from dfkd_core.paths import checked_name

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _png(path, size, mode="L"):
    Image.new(mode, size, 128).save(path)
    return path


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    big = _png(tmp_path / "big.png", (4100, 4100))  # 16.8 M pixels, a few KB of PNG
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded before the size check"))
    with pytest.raises(DfkdError, match=r"big.png.*4100x4100 pixels.*at most 16,777,216 pixels"):
        read_image_files([big])


def test_a_zip_member_declaring_1000_mb_is_refused_without_being_read(tmp_path, monkeypatch):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.png", b"tiny")
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000 * 1024 ** 2)  # the central directory's file size
    path.write_bytes(bytes(data))
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: pytest.fail("a member was read"))
    with pytest.raises(DfkdError, match=r"a.png.*1000 MB.*at most 64 MB"):
        read_zip(path)


def test_a_member_that_lies_about_its_size_is_bounded_while_read(tmp_path):
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.png", bytes(MAX_FILE_BYTES + 1024))  # inflates past the limit; compresses to ~65 KB
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header and central directory
        struct.pack_into("<I", data, data.find(sig) + offset, 1000)  # ... both claim 1,000 bytes
    path.write_bytes(bytes(data))
    with pytest.raises(DfkdError):  # refused (size or CRC), never a MemoryError or a traceback
        read_zip(path)


def test_one_tiny_image_is_refused_and_mixed_sizes_take_the_teachers_size(tmp_path):
    paths = [_png(tmp_path / "a.png", (28, 28)), _png(tmp_path / "b.png", (64, 48), "RGB")]
    with pytest.raises(DfkdError, match=r"tiny.png.*1x1 pixels.*at least 8x8"):
        read_image_files([*paths, _png(tmp_path / "tiny.png", (1, 1))])
    small = _png(tmp_path / "small.png", (12, 12))
    assert read_image_files([*paths, small], size=32).images.shape == (3, 3, 32, 32)


def test_a_small_upload_does_not_blur_the_others_hidfd_reads_them_at_the_teachers_size(tmp_path):
    import numpy as np

    from dfkd_core.methods.hidfd.collect import collect
    from dfkd_core.teacher.demo import demo_teacher

    teacher = demo_teacher()  # 32 px
    squares = (np.indices((64, 64)) // 8).sum(0) % 2 * 255  # a checkerboard of 8-px squares
    board = tmp_path / "board.png"
    Image.fromarray(squares.astype(np.uint8)).save(board)
    got = collect(teacher, [str(board), str(_png(tmp_path / "small.png", (9, 9)))], count=2)
    images = got.images.images.float()
    assert images.shape[-1] == teacher.input_size
    board_at_32 = images[[i for i, k in enumerate(got.indices) if k == 0][0]]
    assert board_at_32.std() > 100  # its 4-px squares survive (through 9 px first they were a grey blur)


def test_an_uploaded_checkpoint_leaves_nothing_on_disk_and_stays_usable(tmp_path):
    from components.common import session_teacher
    from components.teacher_tab import UPLOAD, _load
    from dfkd_core.paths import TEACHER

    files = [shutil.copy(TEACHER, tmp_path), shutil.copy(TEACHER.with_suffix(".safetensors"), tmp_path)]
    before = set(Path(tempfile.gettempdir()).glob("dfkd-upload-*"))
    teacher, spec = _load(UPLOAD, files, None, None)
    assert set(Path(tempfile.gettempdir()).glob("dfkd-upload-*")) == before  # the staged copy is gone
    assert session_teacher(spec) is teacher and not Path(spec["source"]).exists()
    with pytest.raises(DfkdError, match="not a checkpoint"):
        _load(UPLOAD, [str(_png(tmp_path / "x.png", (8, 8)))], None, None)
    assert set(Path(tempfile.gettempdir()).glob("dfkd-upload-*")) == before  # also after a refusal


@pytest.mark.parametrize("name", ["my-set\n", "my-set\r", "my\tset", "set\x00", ""])
def test_names_with_control_characters_are_refused(name):
    with pytest.raises(DfkdError, match="not allowed"):
        checked_name(name)
