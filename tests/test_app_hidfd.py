"""The HiDFD tab through gradio_client: upload a few images, train the GAN with streamed
curves and per-class grids, send its samples to a sample set; errors for bad uploads."""

import re
import zipfile

import pytest
from conftest import needs_fmnist
from gan_toy import write_pngs
from gradio_client import Client, handle_file


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


UPLOAD, DEMO_POOL = "Upload images or a .zip", "Demo pool (Fashion-MNIST, never seen by the teacher)"


def _args(files, **kw):
    base = {"source_kind": UPLOAD, "files": files, "how_many": 12, "mode": "in total", "steps": 4, "batch_size": 8,
            "oh": 1.0, "adc": 1.0, "bn": 0.0, "ms": 0.0, "feature_integration": True, "cfs": True, "g_ch": 8, "seed": 0}
    return {**base, **kw}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("few")
    pngs = write_pngs(folder / "png", 12, size=28)
    path = folder / "few.zip"
    with zipfile.ZipFile(path, "w") as z:
        for p in pngs:
            z.write(p, p.name)
    return path


def test_train_streams_curves_and_grids_then_sends_samples(client, archive, runs_dir):
    job = client.submit(**_args([handle_file(str(archive))]), api_name="/hidfd_train")
    outputs = list(job)
    status, freq, curves, grid = job.outputs()[-1][:4]
    assert len(outputs) >= 4  # collected, steps, grids, done
    assert "Done after **4** steps" in status
    assert sum(freq["data"][i][1] for i in range(10)) == 12  # teacher's count column sums to the images
    assert freq["headers"][:3] == ["class", "images", "mean p"]  # short: the table fits a phone
    assert all(re.fullmatch(r"\d+\.\d %", row[2]) for row in freq["data"] if row[1])  # confidence in %
    assert curves is not None and grid.count('role="rowheader"') == 10  # one labelled row per class
    assert all(f'role="rowheader">{name}</div>' in grid for name in ["T-shirt/top", "Trouser", "Ankle boot"])
    assert "<table" not in grid  # no table borders: a CSS grid
    assert list((runs_dir / "hidfd-app").glob("*/generator.json"))  # the trained generator is kept
    msg = client.predict("hidfd-app-set", 20, True, api_name="/hidfd_send")
    assert "Added 20 samples" in msg
    assert len(list((runs_dir / "sample-sets" / "hidfd-app-set" / "images").glob("*.png"))) == 20
    assert len(list((runs_dir / "sample-sets" / "hidfd-app-set-real" / "images").glob("*.png"))) == 12
    with pytest.raises(Exception, match="not allowed"):
        client.predict("../escape", 5, False, api_name="/hidfd_send")


def test_bad_uploads_are_reported(client, tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("notes.md", "no images")
    with pytest.raises(Exception, match="No images"):
        client.predict(**_args([handle_file(str(empty))]), api_name="/hidfd_train")
    with pytest.raises(Exception, match="Upload some images"):
        client.predict(**_args([]), api_name="/hidfd_train")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(Exception, match="Invalid file type"):
        client.predict(**_args([handle_file(str(tmp_path / "notes.txt"))]), api_name="/hidfd_train")


@needs_fmnist
def test_demo_pool_per_class(client):
    args = _args(None, source_kind=DEMO_POOL, how_many=2, mode="per teacher-predicted class", steps=2)
    status, freq, _, grid = client.predict(**args, api_name="/hidfd_train")[:4]
    assert [row[1] for row in freq["data"]] == [2] * 10
    assert "Done after **2** steps" in status and grid.count('role="rowheader"') == 10


def test_a_short_run_has_whole_steps_on_its_loss_chart():
    """Finding (screenshot): a 2-step run drew steps 1.2, 1.4, ... on the chart's axis."""
    from components.hidfd_tab import loss_figure

    row = {"loss_d": 1.0, "loss_g": 1.0, "teacher_ce": 1.0, "teacher_acc": 0.5}
    assert loss_figure([{**row, "step": 1}, {**row, "step": 2}]).layout.xaxis.dtick == 1
    assert loss_figure([{**row, "step": 10}, {**row, "step": 3000}]).layout.xaxis.dtick is None  # plotly's own


def test_the_target_rate_axis_keeps_its_zero_off_the_step_axis():
    """Finding (phone screenshot): the right axis's "0" touched the step axis's last label."""
    from components.hidfd_tab import loss_figure

    row = {"loss_d": 1.0, "loss_g": 1.0, "teacher_ce": 1.0, "teacher_acc": 0.5, "step": 1}
    axis = loss_figure([row, {**row, "step": 2}]).layout.yaxis2
    assert axis.range[0] < 0 < 1 <= axis.range[1] and axis.tickformat == ".0%"
