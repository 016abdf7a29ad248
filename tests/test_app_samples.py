"""The Samples tab through gradio_client, on a tiny prior given as a local folder."""

from pathlib import Path

import pytest
from gradio_client import Client

from tiny_models import tiny_pixel_prior


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    return str(tiny_pixel_prior(tmp_path_factory.mktemp("prior")))


def _args(prior, **kw):
    return {**dict(backbone_kind="Local folder", backbone_path=prior, classes=["Trouser", "Bag"], per_class=2,
                   strength=0.5, bn=0.0, steps=6, window_start=0.0, window_end=1.0, mode="x0", candidates=2, every=2,
                   eta=0.0, seed=7, use_cutmix=True, cutmix_step=2, cutmix_alpha=1.0), **kw}


def test_generate_streams_previews_and_compares_with_strength_zero(client, prior):
    job = client.submit(**_args(prior), api_name="/generate_samples")
    outputs = list(job)  # every streamed update
    preview, guided, unguided, cutmix, summary = job.outputs()[-1][:5]
    assert len(outputs) >= 3  # previews came before the result
    assert len(guided) == len(unguided) == 4
    assert guided[0]["caption"].startswith("Trouser: p=") and unguided[3]["caption"].startswith("Bag: p=")
    # each sample has its own seed: the unguided Trouser and Bag samples differ
    assert Path(unguided[0]["image"]).read_bytes() != Path(unguided[2]["image"]).read_bytes()
    assert "guided vs" in summary
    assert len(cutmix) == 8  # partner + result for each of the 4 mixed samples


def test_add_to_sample_set_and_bad_names(client, prior, runs_dir):
    client.predict(**_args(prior, use_cutmix=False, every=1, eta=1.0), api_name="/generate_samples")
    msg = client.predict("demo-set", api_name="/add_to_sample_set")
    assert "Added 4 samples" in msg
    assert len(list((runs_dir / "sample-sets" / "demo-set" / "images").glob("*.png"))) == 4
    with pytest.raises(Exception, match="not allowed"):
        client.predict("../escape", api_name="/add_to_sample_set")


def test_bad_backbone_is_reported(client):
    with pytest.raises(Exception, match="No diffusion model found"):
        client.predict(**_args("/nonexistent/prior"), api_name="/generate_samples")
