"""Real datasets (datasets.py: one entry point; Fashion-MNIST, CIFAR, image folders), the
in-memory image dataset, WebDataset shards, and reading images users upload (uploads.py)."""

from .datasets import load_dataset, load_image_folder
from .fashion_mnist import CLASSES as FASHION_MNIST_CLASSES
from .fashion_mnist import load_fashion_mnist
from .image_dataset import ImageDataset, random_crop_flip

__all__ = ["load_dataset", "load_image_folder", "load_fashion_mnist", "FASHION_MNIST_CLASSES",
           "ImageDataset", "random_crop_flip"]
