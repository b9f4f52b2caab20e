"""The study's networks, one file per family (as in torchvision.models), each citing its paper."""

from .lenet_sl1 import LeNetSL1
from .mi_cnn import ResNet18MI, ShallowCNN

__all__ = ["LeNetSL1", "ShallowCNN", "ResNet18MI"]
