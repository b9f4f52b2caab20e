"""Back-propagation written out: Tomasi, "Training Convolutional Neural Networks" (2019), §3, Algorithm 1 and the
Appendix ("The Jacobians for back-propagation"), for a small CNN, checked against `torch.autograd` and central
finite differences.

The network has K = 2 layers in the notes' form  x^(k) = π(f^(k)(a^(k))),  a^(k) = W^(k) x̃^(k-1)  (x̃ = x with the
bias folded in):

* layer 1: a valid 2-D convolution (stride 1, shared r×r kernels, one bias per map), ReLU f, r_p×r_p max pooling π;
* layer 2: a dense (fully connected) map, soft-max f, no pooling; its output is p;
* loss ℓ(y, p) = -log p_y (natural log, nats; §2.2).

Every layer exposes the two Jacobian matrices of eq. (5) as explicit dense matrices (float64 by default):

* ``jac_w`` = ∂x^(k)/∂w^(k) = D^(k) ∂a^(k)/∂w^(k),  shape (d_k, j_k);
* ``jac_x`` = ∂x^(k)/∂x^(k-1) = D^(k) ∂a^(k)/∂x^(k-1), shape (d_k, d_{k-1});

with D^(k) = ∂x^(k)/∂a^(k): for ReLU + max pooling, row i holds f'(a_q̂) at the column q̂ = argmax of the pooling
window P(i) (the Appendix's argmax rule: ∂x_i/∂W_qj = δ_qq̂ f'(a_q̂) x̃_j, ∂x_i/∂x_j = f'(a_q̂) W_q̂j); for the
soft-max, diag(p) - p pᵀ. `backprop` is Algorithm 1 line by line: per sample, a forward pass that stores the layer
outputs, g = ∂ℓ/∂p (eq. 4), then for k = K..1 the parameter gradient g ∂x^(k)/∂w^(k) (eq. 2) and the recursion
g <- g ∂x^(k)/∂x^(k-1) (eq. 3), and the running average of the per-sample gradients.

Conventions: ReLU'(a) = 1 for a >= 0 (the notes' Appendix); ties in a pooling window go to the first maximum in
row-major order (the notes' footnote 7 allows any of the tied inputs; PyTorch also takes the first). Both choices
matter only on sets of measure zero.

Note on Algorithm 1 as printed: its backward loop runs k = K..2, which would leave out ∂ℓ_n/∂w^(1); the parameter
gradient is needed for k = K..1 and only the recursion (3) stops at k = 2. `backprop` does the former.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

Tensor = torch.Tensor

PARAM_NAMES = ("conv.weight", "conv.bias", "fc.weight", "fc.bias")


# ------------------------------------------------------------------------------------------------------------ layers
@dataclass
class ConvReLUMaxPool:
    """Layer 1: x = maxpool(relu(conv(x_prev))). Input flat (C_in·H·W,), output flat (C_out·H_p·W_p,).

    Args:
        weight: (C_out, C_in, r, r) kernels; bias: (C_out,).
        in_shape: (C_in, H, W) of the input; pool: the pooling window (and stride) r_p >= 1.
    """

    weight: Tensor
    bias: Tensor
    in_shape: tuple[int, int, int]
    pool: int = 2
    cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        c_out, c_in, r, r2 = self.weight.shape
        C, H, W = self.in_shape
        if r != r2 or c_in != C:
            raise ValueError(f"weight shape {tuple(self.weight.shape)} does not fit in_shape {self.in_shape}")
        if self.pool < 1:
            raise ValueError(f"pool={self.pool} must be >= 1")
        self.Ho, self.Wo = H - r + 1, W - r + 1
        if self.Ho < self.pool or self.Wo < self.pool:
            raise ValueError(f"input {self.in_shape} too small for kernel {r} and pool {self.pool}")
        self.Hp, self.Wp = self.Ho // self.pool, self.Wo // self.pool
        # idx[p, (c,u,v)] = flat input index of x[c, i+u, j+v] for output position p = (i, j)  (im2col table)
        i = torch.arange(self.Ho).view(-1, 1, 1, 1, 1)
        j = torch.arange(self.Wo).view(1, -1, 1, 1, 1)
        c = torch.arange(C).view(1, 1, -1, 1, 1)
        u = torch.arange(r).view(1, 1, 1, -1, 1)
        v = torch.arange(r).view(1, 1, 1, 1, -1)
        self.idx = (c * H * W + (i + u) * W + (j + v)).reshape(self.Ho * self.Wo, C * r * r)
        # pooling windows: win[i_p, m] = flat index (o, i, j) in the conv output of member m of window P(i_p)
        o = torch.arange(c_out).view(-1, 1, 1, 1, 1)
        ip = torch.arange(self.Hp).view(1, -1, 1, 1, 1)
        jp = torch.arange(self.Wp).view(1, 1, -1, 1, 1)
        du = torch.arange(self.pool).view(1, 1, 1, -1, 1)
        dv = torch.arange(self.pool).view(1, 1, 1, 1, -1)
        self.win = (o * self.Ho * self.Wo + (ip * self.pool + du) * self.Wo + (jp * self.pool + dv)).reshape(
            c_out * self.Hp * self.Wp, self.pool * self.pool
        )

    @property
    def d_in(self) -> int:
        return self.in_shape[0] * self.in_shape[1] * self.in_shape[2]

    @property
    def d_out(self) -> int:
        return self.weight.shape[0] * self.Hp * self.Wp

    def forward(self, x: Tensor) -> Tensor:
        """x (d_in,) -> pooled output (d_out,); stores the patches, a and the argmax q̂ of every window."""
        c_out = self.weight.shape[0]
        patches = x[self.idx]  # (Ho·Wo, C r r)
        a = (self.weight.reshape(c_out, -1) @ patches.T + self.bias[:, None]).reshape(-1)  # (C_out·Ho·Wo,)
        h = torch.clamp(a, min=0)  # ReLU
        hw = h[self.win]  # (d_out, r_p²)
        q_hat = self.win.gather(1, hw.argmax(1, keepdim=True)).squeeze(1)  # first maximum of each window
        self.cache = {"x": x, "patches": patches, "a": a, "q_hat": q_hat}
        return h[q_hat]

    def d_act(self) -> Tensor:
        """D = ∂x/∂a, (d_out, C_out·Ho·Wo): row i has f'(a_q̂) = 1[a_q̂ >= 0] at column q̂ (argmax rule)."""
        a, q_hat = self.cache["a"], self.cache["q_hat"]
        D = torch.zeros(self.d_out, a.numel(), dtype=a.dtype)
        D[torch.arange(self.d_out), q_hat] = (a[q_hat] >= 0).to(a.dtype)
        return D

    def da_dw(self) -> Tensor:
        """∂a/∂w, (C_out·Ho·Wo, C_out·C_in·r·r + C_out): the patch of position p in kernel o's block, 1 in bias o."""
        c_out = self.weight.shape[0]
        P = self.cache["patches"]  # (n_pos, k)
        n_pos, k = P.shape
        J = torch.zeros(c_out, n_pos, c_out, k, dtype=P.dtype)
        for o in range(c_out):
            J[o, :, o, :] = P
        Jb = torch.eye(c_out, dtype=P.dtype).repeat_interleave(n_pos, dim=0)  # (c_out·n_pos, c_out)
        return torch.cat([J.reshape(c_out * n_pos, c_out * k), Jb], dim=1)

    def da_dx(self) -> Tensor:
        """∂a/∂x_prev, (C_out·Ho·Wo, d_in): the convolution as a (Toeplitz) matrix, W_o,(c,u,v) at input idx."""
        c_out = self.weight.shape[0]
        n_pos, k = self.idx.shape
        J = torch.zeros(c_out, n_pos, self.d_in, dtype=self.weight.dtype)
        Wf = self.weight.reshape(c_out, 1, k).expand(c_out, n_pos, k)
        J.scatter_(2, self.idx.unsqueeze(0).expand(c_out, n_pos, k), Wf)  # each row hits distinct columns
        return J.reshape(c_out * n_pos, self.d_in)

    def jac_w(self) -> Tensor:
        """∂x/∂w (eq. 5), (d_out, j) with w = [conv.weight.flatten(), conv.bias]."""
        return self.d_act() @ self.da_dw()

    def jac_x(self) -> Tensor:
        """∂x/∂x_prev (eq. 5), (d_out, d_in)."""
        return self.d_act() @ self.da_dx()


@dataclass
class DenseSoftmax:
    """Layer K: p = softmax(W x_prev + b). Input (d_in,), output p (d_out,)."""

    weight: Tensor
    bias: Tensor
    cache: dict = field(default_factory=dict, repr=False)

    def forward(self, x: Tensor) -> Tensor:
        a = self.weight @ x + self.bias
        p = torch.softmax(a, dim=0)
        self.cache = {"x": x, "a": a, "p": p}
        return p

    def d_act(self) -> Tensor:
        """Soft-max Jacobian ∂p/∂a = diag(p) - p pᵀ, (d_out, d_out)."""
        p = self.cache["p"]
        return torch.diag(p) - torch.outer(p, p)

    def da_dw(self) -> Tensor:
        """∂a_i/∂W_qj = δ_iq x_j and ∂a_i/∂b_q = δ_iq: (d_out, d_out·d_in + d_out)."""
        x = self.cache["x"]
        eye = torch.eye(self.weight.shape[0], dtype=x.dtype)
        return torch.cat([torch.kron(eye, x[None, :]), eye], dim=1)

    def jac_w(self) -> Tensor:
        return self.d_act() @ self.da_dw()

    def jac_x(self) -> Tensor:
        return self.d_act() @ self.weight


# ------------------------------------------------------------------------------------------------------- the network
def init_params(
    in_shape: tuple[int, int, int] = (1, 14, 14),
    channels: int = 4,
    kernel: int = 3,
    pool: int = 2,
    classes: int = 10,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> dict[str, Tensor]:
    """Random parameters of the small CNN (He-style scale; biases uniform in ±0.1 so that no bias is exactly 0).

    Returns:
        {"conv.weight": (channels, C_in, kernel, kernel), "conv.bias": (channels,),
         "fc.weight": (classes, channels·H_p·W_p), "fc.bias": (classes,)}.

    Raises:
        ValueError: a non-positive size, or an input too small for the kernel and the pooling.
    """
    for name, v in (("channels", channels), ("kernel", kernel), ("pool", pool), ("classes", classes)):
        if v < 1:
            raise ValueError(f"{name}={v} must be >= 1")
    C, H, W = in_shape
    Hp, Wp = (H - kernel + 1) // pool, (W - kernel + 1) // pool
    if Hp < 1 or Wp < 1:
        raise ValueError(f"in_shape={in_shape} too small for kernel={kernel} and pool={pool}")
    d1 = channels * Hp * Wp
    g = generator
    return {
        "conv.weight": torch.randn(channels, C, kernel, kernel, generator=g, dtype=dtype)
        * (2.0 / (C * kernel**2)) ** 0.5,
        "conv.bias": (torch.rand(channels, generator=g, dtype=dtype) - 0.5) * 0.2,
        "fc.weight": torch.randn(classes, d1, generator=g, dtype=dtype) * (1.0 / d1) ** 0.5,
        "fc.bias": (torch.rand(classes, generator=g, dtype=dtype) - 0.5) * 0.2,
    }


def _check(params: dict[str, Tensor], X: Tensor, y: Tensor) -> None:
    missing = set(PARAM_NAMES) - set(params)
    if missing:
        raise ValueError(f"params lacks {sorted(missing)}; expected {PARAM_NAMES}")
    if X.dim() != 4:
        raise ValueError(f"X must be (N, C, H, W), got shape {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    classes = params["fc.weight"].shape[0]
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise ValueError(f"labels must lie in [0, {classes - 1}], got range [{int(y.min())}, {int(y.max())}]")


def layers(params: dict[str, Tensor], in_shape: tuple[int, ...], pool: int = 2) -> list:
    """The K = 2 layers [ConvReLUMaxPool, DenseSoftmax] sharing the tensors of `params`."""
    return [
        ConvReLUMaxPool(params["conv.weight"], params["conv.bias"], tuple(in_shape), pool),  # type: ignore[arg-type]  # (C, H, W): unpacked, checked in __post_init__
        DenseSoftmax(params["fc.weight"], params["fc.bias"]),
    ]


def backprop(params: dict[str, Tensor], X: Tensor, y: Tensor, *, pool: int = 2) -> tuple[float, dict[str, Tensor]]:
    """Algorithm 1: the risk L_T = (1/N) Σ -ln p_{y_n} and its gradient by explicit Jacobian products, per sample.

    Args:
        params: see `init_params` (dtype sets the arithmetic; use float64 for gradient checks).
        X: inputs (N, C, H, W); y: int64 labels (N,) in [0, classes).
        pool: max-pooling window of layer 1.

    Returns:
        (risk in nats, {name: gradient with the shape of params[name]}).

    Raises:
        ValueError: missing parameters, bad shapes or labels out of range.
    """
    _check(params, X, y)
    net = layers(params, tuple(X.shape[1:]), pool)
    dtype = params["fc.weight"].dtype
    sizes = [
        params["conv.weight"].numel() + params["conv.bias"].numel(),
        params["fc.weight"].numel() + params["fc.bias"].numel(),
    ]
    grad = torch.zeros(sum(sizes), dtype=dtype)  # ∇L_T = zeros(size(w))
    risk = 0.0
    for n in range(len(X)):
        x = X[n].reshape(-1).to(dtype)  # x^(0) = x_n
        for layer in net:  # forward propagation (stored)
            x = layer.forward(x)
        p = x
        q = torch.zeros_like(p)
        q[y[n]] = 1.0  # one-hot q
        loss_n = -torch.log(p[y[n]])
        g = (-q / p)[None, :]  # g = ∂ℓ/∂p  (eq. 4), a row
        grad_n: list[Tensor] = []
        for k in range(len(net) - 1, -1, -1):  # back-propagation, k = K..1
            grad_n.insert(0, (g @ net[k].jac_w()).squeeze(0))  # eq. (2)
            if k > 0:
                g = g @ net[k].jac_x()  # eq. (3)
        grad = (n * grad + torch.cat(grad_n)) / (n + 1)  # accumulate the average
        risk += (float(loss_n) - risk) / (n + 1)
    return risk, unflatten(grad, params)


def unflatten(vec: Tensor, params: dict[str, Tensor]) -> dict[str, Tensor]:
    """Split a flat vector ordered [conv.weight, conv.bias, fc.weight, fc.bias] into tensors shaped like `params`."""
    out, i = {}, 0
    for name in PARAM_NAMES:
        m = params[name].numel()
        out[name] = vec[i : i + m].reshape(params[name].shape)
        i += m
    if i != vec.numel():
        raise ValueError(f"vector has {vec.numel()} entries, the parameters {i}")
    return out


def flatten(grads: dict[str, Tensor]) -> Tensor:
    return torch.cat([grads[name].reshape(-1) for name in PARAM_NAMES])


# ------------------------------------------------------------------------------------------------------- references
def risk_torch(params: dict[str, Tensor], X: Tensor, y: Tensor, *, pool: int = 2) -> Tensor:
    """The same network with torch.nn.functional (reference forward): mean cross-entropy in nats, a scalar."""
    h = F.conv2d(X.to(params["conv.weight"].dtype), params["conv.weight"], params["conv.bias"])
    h = F.max_pool2d(F.relu(h), pool)
    logits = F.linear(h.flatten(1), params["fc.weight"], params["fc.bias"])
    return F.cross_entropy(logits, y)


def autograd_gradients(
    params: dict[str, Tensor], X: Tensor, y: Tensor, *, pool: int = 2
) -> tuple[float, dict[str, Tensor]]:
    """Risk and its gradient by `torch.autograd` on `risk_torch`."""
    _check(params, X, y)
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    L = risk_torch(leaves, X, y, pool=pool)
    gs = torch.autograd.grad(L, [leaves[k] for k in PARAM_NAMES])
    return float(L.detach()), dict(zip(PARAM_NAMES, gs))


@torch.no_grad()
def finite_differences(
    params: dict[str, Tensor], X: Tensor, y: Tensor, *, h: float = 1e-6, pool: int = 2, risk: Callable | None = None
) -> dict[str, Tensor]:
    """Central differences (L(w + h e_i) - L(w - h e_i)) / 2h for every parameter entry.

    Error O(h²) from truncation plus O(ε L / h) from rounding; h = 1e-6 in float64 balances them (~1e-10).

    Raises:
        ValueError: h not positive.
    """
    if not h > 0:
        raise ValueError(f"h={h} must be > 0")
    _check(params, X, y)
    risk = risk or (lambda prm: risk_torch(prm, X, y, pool=pool))
    w = {k: v.detach().clone() for k, v in params.items()}
    out = {}
    for name in PARAM_NAMES:
        flat = w[name].view(-1)
        g = torch.empty_like(flat)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + h
            up = float(risk(w))
            flat[i] = old - h
            down = float(risk(w))
            flat[i] = old
            g[i] = (up - down) / (2 * h)
        out[name] = g.view_as(w[name])
    return out


def relative_error(a: Tensor, b: Tensor, *, floor: float = 1e-8) -> float:
    """max_i |a_i - b_i| / max(|a_i|, |b_i|, floor): the largest entrywise relative error (dimensionless).

    The floor keeps entries that are zero in both (dead ReLUs, unpooled positions) from dividing 0 by 0.

    Raises:
        ValueError: shapes differ or floor not positive.
    """
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if not floor > 0:
        raise ValueError(f"floor={floor} must be > 0")
    a, b = a.double(), b.double()
    den = torch.maximum(torch.maximum(a.abs(), b.abs()), torch.tensor(floor, dtype=torch.float64))
    return float(((a - b).abs() / den).max()) if a.numel() else 0.0


def normwise_error(a: Tensor, b: Tensor) -> float:
    """‖a - b‖₂ / max(‖a‖₂, ‖b‖₂) (0 when both are zero)."""
    a, b = a.double().reshape(-1), b.double().reshape(-1)
    den = max(float(a.norm()), float(b.norm()))
    return float((a - b).norm()) / den if den > 0 else 0.0
