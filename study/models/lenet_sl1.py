"""The LeNet-style CNN of Yang et al., "Entropy Error-based Convolutional Neural Network Sparse Optimization and
Application", Table 1 / §2(1).

1×28×28 → conv 5×5, 6 maps (24×24×6) → 2×2 average pool (12×12×6) → conv 5×5, 12 maps (8×8×12) → 2×2 average pool
(4×4×12) → flatten (192) → fully connected 10. 3,898 parameters.
"""

from __future__ import annotations

import torch
import torch.nn as nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


class LeNetSL1(nn.Module):
    """Yang et al.'s CNN. The text says sigmoid after the convolutions, their Table 1 says ReLU: `activation`
    chooses ("relu" or "sigmoid"). Input (N, 1, 28, 28) float; output (N, 10) logits (pre-sigmoid/softmax).

    The fully connected layer `fc` (weight (10, 192)) is what the SL1 penalty sparsifies: column k is the weight
    vector u_k leaving input node k.

    Raises:
        ValueError: unknown `activation`.
    """

    def __init__(self, activation: str = "relu", num_classes: int = 10) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {sorted(ACTIVATIONS)}")
        act = ACTIVATIONS[activation]
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5),
            act(),
            nn.AvgPool2d(2),
            nn.Conv2d(6, 12, kernel_size=5),
            act(),
            nn.AvgPool2d(2),
            nn.Flatten(),
        )
        self.fc = nn.Linear(192, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))
