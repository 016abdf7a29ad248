"""`dfkd generate`: the sample store, its manifest, and resuming an interrupted run."""

import numpy as np
import pandas as pd
import pytest
import yaml
from tiny_models import tiny_generate_kit, tiny_pixel_prior

from dfkd_core import DfkdError
from dfkd_core.cli import main
from dfkd_core.errors import Cancelled
from dfkd_core.filter import scores as filtering
from dfkd_core.methods.diffdfkd.config import GenerateConfig
from dfkd_core.methods.diffdfkd.generate import run_generation
from dfkd_core.store import SampleStore
from dfkd_core.teacher.spec import resolve_teacher


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return tiny_generate_kit(tmp_path_factory.mktemp("kit"))


def _config(kit, out, **kw):
    return GenerateConfig.from_dict({"out": str(out), **kit, "per_class": 3, "batch_size": 4,
                                     "guidance": {"steps": 4, "strength": 0.3, **kw}})


def test_interrupted_run_resumes_with_every_sample_once(kit, tmp_path):
    cfg = _config(kit, tmp_path / "run", candidates=1)  # one stop poll per step: 4 per batch
    batches = iter(range(1000))
    with pytest.raises(Cancelled):  # stop inside the second batch
        run_generation(cfg, should_stop=lambda: next(batches) >= 6)
    first = SampleStore(cfg.out).manifest()
    assert len(first) == 4
    run_generation(_config(kit, tmp_path / "run", candidates=1))
    df = SampleStore(cfg.out).manifest()
    assert len(df) == 9 and df["id"].is_unique
    assert sorted(zip(df["target"], df["seed"])) == [(c, 3 * k + c) for c in range(3) for k in range(3)]
    assert all((tmp_path / "run" / f).is_file() for f in df["file"])
    assert not list((tmp_path / "run").rglob("*.tmp"))
    ds = SampleStore(cfg.out).load()
    assert ds.images.shape == (9, 1, 16, 16) and ds.class_names == ["a", "b", "c"]


def test_unguided_samples_differ_across_classes(kit, tmp_path):
    """At strength 0 the class changes nothing: only distinct seeds give distinct images."""
    store = run_generation(_config(kit, tmp_path / "run", strength=0.0))
    images = store.load().images.flatten(1)
    assert len(images) == 9 and len({tuple(row.tolist()) for row in images}) == 9


def test_a_store_from_an_older_seed_plan_is_refused(kit, tmp_path):
    cfg = _config(kit, tmp_path / "run")
    run_generation(cfg)
    manifest = SampleStore(tmp_path / "run").manifest_path
    df = pd.read_csv(manifest)
    df.loc[1, "seed"] = 1000  # as if planned differently
    df.to_csv(manifest, index=False)
    with pytest.raises(DfkdError, match="planned seeds differently"):
        run_generation(cfg)


def test_generated_samples_come_with_their_teacher_features(kit, tmp_path):
    """Scoring a freshly generated store (the Filter tab's first view) needs no teacher pass."""
    cfg = _config(kit, tmp_path / "run")
    run_generation(cfg)
    store, teacher, computed = SampleStore(cfg.out), resolve_teacher(kit["teacher"]), []
    cached = filtering.compute_features(store, teacher, progress=lambda done, total: computed.append(done))
    assert computed == [] and len(cached.ids) == 9
    fresh = filtering.compute_features(store, teacher, cache_dir=tmp_path / "elsewhere",
                                       progress=lambda done, total: computed.append(done))
    assert computed == [9]
    np.testing.assert_allclose(cached.embeddings, fresh.embeddings, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cached.probs, fresh.probs, rtol=1e-5, atol=1e-6)


def test_other_settings_in_the_same_folder_are_refused(kit, tmp_path):
    run_generation(_config(kit, tmp_path / "run"))
    with pytest.raises(DfkdError, match="holds a run with other settings"):
        run_generation(_config(kit, tmp_path / "run", strength=0.9))


def test_a_retrained_backbone_does_not_resume_an_old_run(kit, tmp_path):
    prior = tiny_pixel_prior(tmp_path / "prior")
    run_generation(_config({**kit, "backbone": str(prior)}, tmp_path / "run"))
    (prior / "card.json").write_text("{}")  # a note beside the weights changes nothing
    run_generation(_config({**kit, "backbone": str(prior)}, tmp_path / "run"))
    tiny_pixel_prior(prior, seed=1)  # retrained in place: same folder, same settings, other weights
    with pytest.raises(DfkdError, match="other weights of the backbone"):
        run_generation(_config({**kit, "backbone": str(prior)}, tmp_path / "run"))
    assert len(SampleStore(tmp_path / "run").manifest()) == 9


def test_cli_with_flags_and_with_the_written_config(kit, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["generate", "--teacher", kit["teacher"], "--backbone", kit["backbone"], "--classes", "1", "2",
                 "--per-class", "2", "--steps", "3", "--cutmix-steps", "1", "--candidates", "2", "--out", str(out),
                 "--device", "cpu"]) == 0
    df = pd.read_csv(out / "metadata.csv")
    assert sorted(df["class_name"]) == ["b", "b", "c", "c"] and df["teacher_prob"].between(0, 1).all()
    assert df["cutmix"].str.contains("partner").all()  # two per class in one batch: each has a partner
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["guidance"]["cutmix"] == {"at_steps": [1], "alpha": 1.0} and config["guidance"]["candidates"] == 2
    # The written config reproduces the run: rerunning it resumes with nothing left to do.
    assert main(["generate", "--config", str(out / "config.yaml")]) == 0
    assert len(pd.read_csv(out / "metadata.csv")) == 4
    assert main(["generate", "--config", str(out / "config.yaml"), "--out", str(tmp_path / "cli2")]) == 0
    again = pd.read_csv(tmp_path / "cli2" / "metadata.csv")
    assert (again["teacher_prob"].values == df["teacher_prob"].values).all()


def test_bad_config_gives_a_clear_error(kit, tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("out: x\nper_clas: 3\n")
    assert main(["generate", "--config", str(tmp_path / "c.yaml")]) == 2
    assert "unknown settings 'per_clas' (did you mean 'per_class'?)" in capsys.readouterr().err
