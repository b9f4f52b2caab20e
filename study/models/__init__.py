"""The study's networks, one file per family (as in torchvision.models), each citing its paper."""
from .lenet_sl1 import LeNetSL1

__all__ = ["LeNetSL1"]
