"""The online student of adversarial guidance keeps its state in the generation folder as
safetensors (io.save_state): a rerun starts from the student it had, and a checkpoint of an
older version (a torch pickle) is refused rather than silently started over."""

import pytest
import torch
from dda_kit import small_teacher

from dfkd_core.errors import DfkdError
from dfkd_core.methods.online_student import OnlineStudent


def test_the_online_student_resumes_from_its_safetensors_and_refuses_an_older_pickle(tmp_path):
    torch.manual_seed(0)
    teacher = small_teacher()
    path = tmp_path / "online_student.safetensors"
    taught = OnlineStudent(teacher, "resnet8", seed=1, checkpoint=path)
    taught.learn(torch.rand(8, 1, 32, 32))
    again = OnlineStudent(teacher, "resnet8", seed=2, checkpoint=path)  # another start: the file decides
    assert again.batches == 1
    for a, b in zip(taught.model.state_dict().values(), again.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(taught.optimizer.state_dict()["state"][0]["exp_avg"],
                       again.optimizer.state_dict()["state"][0]["exp_avg"])
    (tmp_path / "old").mkdir()
    torch.save({"batches": 1}, tmp_path / "old" / "online_student.pt")
    with pytest.raises(DfkdError, match="older version.*new output folder"):
        OnlineStudent(teacher, "resnet8", checkpoint=tmp_path / "old" / "online_student.safetensors")
