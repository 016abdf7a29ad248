"""Classifiers: the zoo (names.py, zoo.py and one file per family), the checkpoints users
bring (checkpoints.py, cards.py), input bounds and normalisations (inputs.py), SimKD's
student head, and the CLIP image encoder the filter and image variations use."""
