"""The judges' figures for a batch the Samples tab made, and the warning when the teacher is
sure but the texture-proof judges do not see the class (dfkd_core/judges explains why a
teacher's confidence alone says little)."""

import threading

from dfkd_core.errors import DfkdError

from .settings import ReferenceSettings

SURE = 0.9  # the teacher calls the batch its target at least this often ...
DOUBTFUL = 0.5  # ... while the texture-proof judges agree at most this often: warn
_panels: dict = {}
_lock = threading.Lock()


def demo_panel(teacher):
    """The demo kit's judge panel for `teacher`, fitted once (cached on disk by the judges)
    and kept in memory per teacher. DfkdError when it cannot judge (no Fashion-MNIST, or a
    teacher of other classes)."""
    from dfkd_core.judges import JudgePanel  # heavy: keeps torch off importing judges.batch

    with _lock:
        if id(teacher) not in _panels:
            names = list(getattr(teacher, "class_names", []))
            panel = JudgePanel.for_demo(teacher=teacher, settings=ReferenceSettings())
            if names and names != list(panel.class_names):
                raise DfkdError("The judges know Fashion-MNIST's classes only; this teacher's classes differ, "
                                "so its samples cannot be judged here.")
            _panels[id(teacher)] = (teacher, panel)  # the teacher is kept so its id stays unique
        return _panels[id(teacher)][1]


def judge_batch(teacher, batch) -> dict:
    """Agreement with the target per judge ({label, kind, agreement}) and the warning."""
    result = demo_panel(teacher).judge(batch.images, batch.targets)
    judges = [{"label": j["label"], "kind": j["kind"], "agreement": j["agreement"]}
              for j in result["judges"].values()]
    return {"judges": judges, "chance": result["chance"], "warning": recognisability_warning(result["judges"])}


def recognisability_warning(judges: dict) -> str | None:
    """A warning when the teacher is sure (>= SURE) but the texture-proof judges agree with
    the target at most DOUBTFUL of the time on average: likely adversarial textures."""
    teacher = judges.get("teacher", {}).get("agreement")
    proof = [j["agreement"] for j in judges.values() if j["kind"] == "texture-proof"]
    if teacher is None or not proof or teacher < SURE or sum(proof) / len(proof) > DOUBTFUL:
        return None
    return (f"The teacher calls {teacher:.0%} of these images their class, but the texture-proof judges agree "
            f"only {sum(proof) / len(proof):.0%} of the time: the guidance may have painted textures the teacher "
            "reads as the class rather than making the class recognisable. Try a lower strength or the sweep.")
