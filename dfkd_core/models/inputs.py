"""What a classifier's input may be: the usual normalisations, and the bounds a file or a
request may declare (a size or class count past them is refused before anything is built)."""

NORMALISATIONS = {"cifar10": ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]),
                  "cifar100": ([0.5071, 0.4867, 0.4408], [0.2675, 0.2565, 0.2761]),
                  "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])}
MAX_INPUT_SIZE = 2048  # side in pixels; bounds what one generated image may cost
MAX_CLASSES = 100_000
