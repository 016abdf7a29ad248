"""Concurrent writers to one sample store, threads and processes: every row that a caller
is told was added is there, and a clash is refused to exactly the callers that lose it."""

import multiprocessing
import threading

import pytest
import torch

from dfkd_core.errors import DfkdError
from dfkd_core.store import LabelledBatch, SampleStore

NAMES = ["a", "b", "c"]


def _batch(targets, seeds):
    images = torch.rand(len(targets), 1, 8, 8, generator=torch.Generator().manual_seed(seeds[0]))
    return LabelledBatch(images, torch.tensor(targets), list(seeds), torch.full((len(targets), 3), 1 / 3), "test")


def _add(root, seeds, outcomes):
    try:
        SampleStore(root).add(_batch([s % 3 for s in seeds], seeds), NAMES, {"class_names": NAMES, "s": seeds[0]})
        outcomes.append("added")
    except DfkdError as e:
        outcomes.append(str(e))


def _run_threads(root, seed_lists) -> list:
    outcomes, barrier = [], threading.Barrier(len(seed_lists))

    def work(seeds):
        barrier.wait()  # all start together
        _add(root, seeds, outcomes)

    threads = [threading.Thread(target=work, args=(seeds,)) for seeds in seed_lists]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_eight_threads_adding_to_one_set_keep_every_row(tmp_path):
    outcomes = _run_threads(tmp_path / "set", [[2 * k, 2 * k + 1] for k in range(8)])
    assert outcomes == ["added"] * 8
    store = SampleStore(tmp_path / "set")
    df = store.manifest()
    assert sorted(df["seed"]) == list(range(16)) and df["id"].is_unique
    assert store.load().images.shape == (16, 1, 8, 8)
    assert len(store.settings()) == 8


def test_threads_adding_the_same_samples_one_wins_the_others_are_told(tmp_path):
    outcomes = _run_threads(tmp_path / "set", [[0, 1]] * 6)
    assert outcomes.count("added") == 1
    assert all("already holds 2 of these samples" in o for o in outcomes if o != "added")
    assert SampleStore(tmp_path / "set").manifest()["id"].tolist() == ["c000-s0", "c001-s1"]


def _process(root, first, batches, queue):
    outcomes = []
    for b in range(batches):
        _add(root, [first + 2 * b, first + 2 * b + 1], outcomes)
    queue.put(outcomes)


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_adding_to_one_set_keep_every_row(tmp_path, processes):
    ctx = multiprocessing.get_context("fork")
    queue, batches = ctx.Queue(), 4
    workers = [ctx.Process(target=_process, args=(str(tmp_path / "set"), 100 * p, batches, queue))
               for p in range(processes)]
    for w in workers:
        w.start()
    outcomes = [o for _ in workers for o in queue.get(timeout=120)]
    for w in workers:
        w.join(timeout=60)
    assert outcomes == ["added"] * processes * batches
    df = SampleStore(tmp_path / "set").manifest()
    assert len(df) == 2 * processes * batches and df["id"].is_unique
