"""The two networks of Zaugg et al., "Cross-Entropy Regularization with Mutual Information in Training CNNs"
(WIVACE 2024), §4.2.

* `ShallowCNN` -- "four hidden layers. The first two layers perform a convolution followed by a max pooling, and the
  last two are fully connected linear layers. A rectified linear (ReLU) activation function terminates each hidden
  layer. The prediction layer [...] is fully connected. [...] approximately 44K network parameters." The paper gives no
  layer sizes; ours (the classic PyTorch MNIST sizes) give 44,050 parameters:

  1×28×28 → conv 5×5, 10 maps (10×24×24) → max pool 2 (10×12×12) → ReLU
          → conv 5×5, 20 maps (20×8×8)   → max pool 2 (20×4×4)   → ReLU → flatten (320)
          → fc 320→100 → ReLU → fc 100→60 → ReLU → fc 60→10 (prediction layer, logits)

* `ResNet18MI` -- `torchvision.models.resnet18(weights=None, num_classes=10)` (He et al. 2016; the paper's ref. [9]).
  ``stem="paper"``: the paper feeds 3×224×224 images, so 1×28×28 inputs are resized to 224 px (bilinear, antialiased,
  `torchvision.transforms.v2.functional.resize`) and the channel is repeated 3×; torchvision's stem is unchanged.
  ``stem="small"``: for 28×28 inputs on CPU, the 7×7 stride-2 stem and its max pool are replaced by a 3×3 stride-1
  convolution with 1 input channel and no max pool (the usual CIFAR-style adaptation); everything else is
  torchvision's.
"""

from __future__ import annotations

import torch
import torch.nn as nn

STEMS = ("small", "paper")


class ShallowCNN(nn.Module):
    """Zaugg et al.'s shallow CNN (§4.2), 44,050 parameters. Input (N, 1, 28, 28) float; output (N, 10) logits.

    `hidden(x)` returns the activations of the four hidden layers and the prediction layer (for the information
    plane), in order: conv1 block (N, 10, 12, 12), conv2 block (N, 20, 4, 4), fc1 (N, 100), fc2 (N, 60), logits
    (N, 10).
    """

    layer_names = ("conv1", "conv2", "fc1", "fc2", "logits")

    def __init__(
        self, num_classes: int = 10, channels: tuple[int, int] = (10, 20), hidden: tuple[int, int] = (100, 60)
    ) -> None:
        super().__init__()
        c1, c2 = channels
        h1, h2 = hidden
        self.block1 = nn.Sequential(nn.Conv2d(1, c1, kernel_size=5), nn.MaxPool2d(2), nn.ReLU())
        self.block2 = nn.Sequential(nn.Conv2d(c1, c2, kernel_size=5), nn.MaxPool2d(2), nn.ReLU())
        self.fc1 = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 4 * 4, h1), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(h1, h2), nn.ReLU())
        self.head = nn.Linear(h2, num_classes)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        a1 = self.block1(x)
        a2 = self.block2(a1)
        a3 = self.fc1(a2)
        a4 = self.fc2(a3)
        return [a1, a2, a3, a4, self.head(a4)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.fc2(self.fc1(self.block2(self.block1(x)))))

    def last_hidden(self) -> tuple[str, torch.Tensor]:
        """("fc2", its weight (60, 100)): the last hidden layer, whose training `study.train.cos_init` checks."""
        return "fc2", self.fc2[0].weight  # type: ignore[return-value]  # fc2[0] is an nn.Linear


class ResNet18MI(nn.Module):
    """torchvision's ResNet18 (random init, 10 classes) for 1×28×28 inputs; `stem` as in the module docstring.

    Input (N, 1, 28, 28) float; output (N, 10) logits. ``self.net`` is the torchvision model.

    Raises:
        ValueError: unknown `stem` or `image_size` < 32 with stem "paper".
    """

    def __init__(self, stem: str = "small", num_classes: int = 10, image_size: int = 224) -> None:
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"stem={stem!r} is not one of {STEMS}")
        if stem == "paper" and image_size < 32:
            raise ValueError(f"image_size={image_size} must be >= 32 for the paper stem")
        self.stem, self.image_size = stem, image_size
        from torchvision.models import resnet18  # here, not at import: torchvision costs ~1 s in every worker process

        self.net = resnet18(weights=None, num_classes=num_classes)
        if stem == "small":
            self.net.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1, bias=False)
            self.net.maxpool = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stem == "paper":
            from torchvision.transforms.v2 import functional as TF

            x = TF.resize(x, [self.image_size, self.image_size], antialias=True)
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
        return self.net(x)

    def last_hidden(self) -> tuple[str, torch.Tensor]:
        """("layer4", the weight (512, 512, 3, 3) of the last convolution of the last residual block): the last
        hidden layer before the pooled features, whose training `study.train.cos_init` checks."""
        return "layer4", self.net.layer4[-1].conv2.weight


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_table(model: nn.Module) -> list[tuple[str, str, int]]:
    """(name, module, parameters) for every leaf module with parameters, in order (for printing the sizes)."""
    return [
        (name, repr(m), sum(p.numel() for p in m.parameters()))
        for name, m in model.named_modules()
        if len(list(m.children())) == 0 and sum(p.numel() for p in m.parameters()) > 0
    ]
