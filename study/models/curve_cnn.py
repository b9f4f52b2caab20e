"""The curve-classification CNN of Xue & Xin (arXiv 1902.07419, §3, Fig. 1).

1×S×S binary image → [conv 3×3, 32 maps, 'same' padding → ReLU → 2×2 max pool, stride 2] × 3 → flatten
(32·(S/8)²) → dense 128, ReLU → output 2 (logits).

With S = 104 (the paper) the dense layer `fc` holds 32·13·13·128 = 692,224 weights (the paper's "700,000"), the
conv layers 288, 9,216 and 9,216 weights (their "about 10,000"). The dense layer is the one RVSM sparsifies.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class CurveCNN(nn.Module):
    """Xue & Xin's CNN. Input (N, 1, S, S) float in [0, 1]; output (N, num_classes) logits.

    Attributes:
        conv1, conv2, conv3: the three 3×3 convolutions (weights (32, C_in, 3, 3)).
        fc: the dense layer, weight (hidden, 32·(S//8)²); `out`: weight (num_classes, hidden).

    Raises:
        ValueError: `image_size` not a positive multiple of 8, or non-positive widths.
    """

    def __init__(self, image_size: int = 104, channels: int = 32, hidden: int = 128, num_classes: int = 2) -> None:
        super().__init__()
        if image_size < 8 or image_size % 8:
            raise ValueError(f"image_size={image_size} must be a positive multiple of 8 (three 2×2 poolings)")
        if channels < 1 or hidden < 1 or num_classes < 2:
            raise ValueError(f"channels={channels}, hidden={hidden} must be >= 1 and num_classes={num_classes} >= 2")
        self.image_size = image_size
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.act = nn.ReLU()
        side = image_size // 8
        self.fc = nn.Linear(channels * side * side, hidden)
        self.out = nn.Linear(hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, S, S) → (N, 32·(S/8)²), the input of the dense layer."""
        for conv in (self.conv1, self.conv2, self.conv3):
            x = self.pool(self.act(conv(x)))
        return torch.flatten(x, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.fc(self.features(x))))

    def conv_layers(self) -> dict[str, nn.Conv2d]:
        """{"conv1": ..., "conv2": ..., "conv3": ...} (for sign-change counts)."""
        return {"conv1": self.conv1, "conv2": self.conv2, "conv3": self.conv3}
