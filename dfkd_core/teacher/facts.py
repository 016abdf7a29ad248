"""What a checkpoint says about itself before it is loaded as a teacher: the architecture
(a card names it; bare weights are matched against the zoo's layouts) and the class count
(the card's, or the rows of the matched classifier head). The app fills its Architecture
and Number-of-classes fields with these, so that loading works as they stand."""

from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.models.checkpoints import guess_architectures, read_card, read_state_dict
from dfkd_core.models.zoo import build_model


def checkpoint_facts(path) -> dict:
    """{"arch": zoo name or None, "num_classes": int or None, "matches": [zoo names]} of a card
    (.json) or a weights file; nothing is guessed that the file does not show."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        card = read_card(path)
        return {"arch": card.get("arch"), "num_classes": card.get("num_classes"), "matches": []}
    try:
        state = read_state_dict(path)
    except DfkdError:
        return {"arch": None, "num_classes": None, "matches": []}  # the load itself will say what is wrong
    matches = guess_architectures(state)
    classes = None
    if matches:
        head = f"{build_model(matches[0], 10, 3).head_name}.weight"
        classes = int(state[head].shape[0])
    return {"arch": matches[0] if len(matches) == 1 else None, "num_classes": classes, "matches": matches}
