"""Synthetic regular vs shaky curves: letters and planar shapes (Xue & Xin, arXiv 1902.07419, §3, Figs. 3 and 6).

The paper renders the 52 Latin letters in a normal font and in a "Parkinson's" font (dafont.com), and draws
random triangles/quadrangles with and without noise. The Parkinson's font cannot be downloaded here, so we make
the shaky class ourselves:

* **letters** -- the outline of each glyph (matplotlib's `TextPath` on the DejaVu fonts shipped with matplotlib,
  13 faces) is resampled at uniform arc length; class 1 moves every outline point along the outline's normal by a
  smooth tremor d(s) = Σ_k A_k sin(2π s / L_k + φ_k) (`n_waves` components; amplitudes A_k and wavelengths L_k
  uniform in `amplitude` and `wavelength`, in units of the glyph's size). Class 0 keeps the outline. The glyph is
  filled (even-odd rule, so holes stay holes).
* **shapes** -- random triangles and quadrangles (vertices in random order around their centroid: simple, not
  necessarily convex polygons), drawn as closed curves with a random stroke width; class 1 adds the same kind of
  tremor and (``match_ink``) a stroke thinned by the curve's length gain, so ink per class matches (units: the image side). Shapes are rescaled so their larger side is 0.55-0.75 of the image.

Both classes then get a random affine map (rotation, shear, scale, translation: `torchvision.transforms.v2.
RandomAffine`) and an elastic distortion (Simard et al. 2003: `torchvision.transforms.v2.ElasticTransform`), and are
binarised at 0.5. Drawing uses PIL at `supersample` × the final size, then area-averaging down (anti-aliasing before
the geometric transforms). Each data set is balanced, seeded, and cached as ``data/curves/<name>-<hash>.pt`` with a
manifest (``.json``) of all generator parameters and the seed: a rerun with the same parameters loads the file.
Both files are written whole (unique temporary name, then rename), so several processes may call `generate`
with the same parameters at once: each may generate, none ever reads a partial file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from . import REPO_ROOT

Tensor = torch.Tensor
CACHE_DIR = REPO_ROOT / "data" / "curves"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DATASETS = ("letters", "shapes")
CLASS_NAMES = ("regular", "shaky")
GENERATOR_VERSION = 1  # bump when the generator's code changes meaning (invalidates the cache)


@dataclass(frozen=True)
class CurveParams:
    """Parameters of one synthetic data set (all lengths are fractions of the glyph's size (larger side of its bounding box,
    which fills 1/1.4 of the image side) for letters and of the image side for shapes (which fill 0.55-0.75 of it); angles in degrees; sizes in pixels).

    Attributes:
        dataset: "letters" or "shapes".
        image_size: side S of the square binary images (pixels).
        n_train, n_test: images per split (each balanced: half regular, half shaky).
        amplitude: (min, max) amplitude of each tremor component.
        wavelength: (min, max) wavelength of each tremor component.
        n_waves: number of superposed sinusoids in the tremor (multi-frequency).
        spacing: arc-length spacing of the resampled outline.
        stroke: (min, max) stroke width of shapes, pixels at the final size.
        degrees: RandomAffine rotation range ±degrees; shear: ±shear degrees; scale: (min, max); translate:
            max fraction of the side.
        elastic_alpha, elastic_sigma: ElasticTransform's magnitude and smoothness (pixels at the final size).
        supersample: drawing resolution factor before area-averaging down.
        match_ink: shapes only: divide a shaky curve's stroke width by its length gain (perturbed / clean
            perimeter), so that both classes carry the same ink on average (a shaky curve is longer: without this,
            mean ink alone separates the classes).
    """

    dataset: str = "letters"
    image_size: int = 48
    n_train: int = 5000
    n_test: int = 1000
    amplitude: tuple[float, float] = (0.006, 0.012)
    wavelength: tuple[float, float] = (0.05, 0.12)
    n_waves: int = 3
    spacing: float = 0.004
    stroke: tuple[float, float] = (1.4, 2.8)
    degrees: float = 15.0
    shear: float = 10.0
    scale: tuple[float, float] = (0.85, 1.05)
    translate: float = 0.06
    elastic_alpha: float = 20.0
    elastic_sigma: float = 4.0
    supersample: int = 2
    match_ink: bool = True
    version: int = GENERATOR_VERSION

    def validate(self) -> CurveParams:
        """Raise ValueError naming the first bad field."""
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset={self.dataset!r} is not one of {DATASETS}")
        if self.image_size < 8 or self.image_size % 8:
            raise ValueError(f"image_size={self.image_size} must be a positive multiple of 8")
        for name in ("n_train", "n_test"):
            v = getattr(self, name)
            if v < 2 or v % 2:
                raise ValueError(f"{name}={v} must be an even number >= 2 (balanced classes)")
        for name in ("amplitude", "wavelength", "stroke", "scale"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name}=({lo}, {hi}) must satisfy 0 < min <= max")
        if self.n_waves < 1:
            raise ValueError(f"n_waves={self.n_waves} must be >= 1")
        if not 0 < self.spacing < self.wavelength[0] / 2:
            raise ValueError(f"spacing={self.spacing} must be in (0, wavelength_min/2 = {self.wavelength[0] / 2})")
        if self.supersample < 1:
            raise ValueError(f"supersample={self.supersample} must be >= 1")
        return self


@dataclass
class CurveSet:
    """A generated data set: images uint8 {0, 1} of shape (N, 1, S, S), labels int64 (N,) with 0 = regular,
    1 = shaky, and `meta` (glyph/shape id per image) for both splits."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    params: CurveParams
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    cached: bool = False

    def float(self, split: str) -> tuple[Tensor, Tensor]:
        """(images float32 in {0., 1.} (N, 1, S, S), labels int64 (N,)) of "train" or "test"."""
        if split not in ("train", "test"):
            raise ValueError(f"split={split!r} must be 'train' or 'test'")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        return x.float(), y


# ---------------------------------------------------------------------------------------------------- geometry
def font_files() -> list[Path]:
    """The DejaVu TrueType faces shipped with matplotlib (regular, bold, oblique; Sans, Serif, Mono), sorted."""
    import matplotlib

    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    files = sorted(p for p in d.glob("DejaVu*.ttf") if "Display" not in p.name)
    if not files:
        raise FileNotFoundError(f"no DejaVu fonts in {d}")
    return files


@cache
def glyph_contours(char: str, font_file: str) -> tuple[np.ndarray, ...]:
    """Closed outline contours of one glyph, as (M_i, 2) float arrays, centred, scaled so that the larger side of
    the glyph's bounding box is 1 (every glyph fills the frame alike, lower and upper case).

    Uses matplotlib's `TextPath` (Bézier curves flattened to polygons)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), char, size=1.0, prop=FontProperties(fname=font_file))
    polys = [np.asarray(p, dtype=np.float64) for p in path.to_polygons(closed_only=True) if len(p) >= 3]  # type: ignore[arg-type]  # polygons are arrays
    if not polys:
        raise ValueError(f"glyph {char!r} of {font_file} has no closed contour")
    allp = np.concatenate(polys)
    centre = (allp.min(0) + allp.max(0)) / 2
    size = (allp.max(0) - allp.min(0)).max()
    return tuple((p - centre) / size for p in polys)


@cache
def glyph_outline(char: str, font_file: str, spacing: float) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """`glyph_contours` resampled at uniform arc length: ((points, normals), ...) per contour (cached)."""
    return tuple(resample_closed(c, spacing) for c in glyph_contours(char, font_file))


def resample_closed(poly: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points at uniform arc length along a closed polygon (M, 2) and the unit outward-or-inward normals there.

    Returns (points (K, 2), normals (K, 2)), K = max(8, round(perimeter / spacing))."""
    closed = np.vstack([poly, poly[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    per = s[-1]
    k = max(8, int(round(per / spacing)))
    t = np.linspace(0.0, per, k, endpoint=False)
    pts = np.stack([np.interp(t, s, closed[:, 0]), np.interp(t, s, closed[:, 1])], axis=1)
    tangent = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-12
    normals = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    return pts, normals


def tremor(
    pts: np.ndarray,
    normals: np.ndarray,
    rng: np.random.Generator,
    amplitude: tuple[float, float],
    wavelength: tuple[float, float],
    n_waves: int,
    spacing: float,
) -> np.ndarray:
    """Move each point along its normal by d(s) = Σ_k A_k sin(2π s/L_k + φ_k) (A_k ~ U(amplitude), L_k ~
    U(wavelength), φ_k ~ U(0, 2π)); s is the arc length. Returns the perturbed points (K, 2)."""
    s = np.arange(len(pts)) * spacing
    amp = rng.uniform(*amplitude, size=n_waves)
    lam = rng.uniform(*wavelength, size=n_waves)
    phase = rng.uniform(0, 2 * np.pi, size=n_waves)
    d = (amp[:, None] * np.sin(2 * np.pi * s[None, :] / lam[:, None] + phase[:, None])).sum(0)
    return pts + d[:, None] * normals


def random_polygon(rng: np.random.Generator) -> np.ndarray:
    """A random triangle or quadrangle (equal odds) in [-0.4, 0.4]², vertices in angular order around their
    centroid (a simple polygon, convex or not), with area >= 0.04 and no side shorter than 0.15. (V, 2)."""
    while True:
        v = rng.uniform(-0.4, 0.4, size=(int(rng.integers(3, 5)), 2))
        c = v.mean(0)
        v = v[np.argsort(np.arctan2(v[:, 1] - c[1], v[:, 0] - c[0]))]
        x, y = v[:, 0], v[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        sides = np.linalg.norm(v - np.roll(v, -1, axis=0), axis=1)
        if area >= 0.04 and sides.min() >= 0.15:
            return v


# ---------------------------------------------------------------------------------------------------- drawing
def _to_pixels(pts: np.ndarray, side: int, extent: float) -> list[tuple[float, float]]:
    """Map coordinates in [-extent/2, extent/2]² (y up) to pixel coordinates of a side×side canvas (y down)."""
    px = (pts[:, 0] / extent + 0.5) * side
    py = (0.5 - pts[:, 1] / extent) * side
    return list(zip(px.tolist(), py.tolist()))


def draw_filled(contours: list[np.ndarray], side: int, extent: float) -> np.ndarray:
    """Fill contours with the even-odd rule (XOR of each filled contour). Returns (side, side) float in {0, 1}."""
    acc = np.zeros((side, side), dtype=bool)
    for c in contours:
        img = Image.new("1", (side, side), 0)
        ImageDraw.Draw(img).polygon(_to_pixels(c, side, extent), fill=1)
        acc ^= np.asarray(img, dtype=bool)
    return acc.astype(np.float32)


def draw_closed_curve(pts: np.ndarray, side: int, extent: float, width: float) -> np.ndarray:
    """Stroke a closed curve with the given width (pixels of this canvas). Returns (side, side) float in {0, 1}."""
    img = Image.new("L", (side, side), 0)
    xy = _to_pixels(np.vstack([pts, pts[:1]]), side, extent)
    ImageDraw.Draw(img).line(xy, fill=255, width=max(1, int(round(width))), joint="curve")
    return (np.asarray(img, dtype=np.float32) > 127).astype(np.float32)


def _perimeter(pts: np.ndarray) -> float:
    return float(np.linalg.norm(pts - np.roll(pts, 1, axis=0), axis=1).sum())


def draw_one(p: CurveParams, label: int, item: int, rng: np.random.Generator) -> np.ndarray:
    """One clean (pre-augmentation) image, (S, S) float in [0, 1] after area-averaging from the supersampled canvas.

    `item` picks the glyph (letters: index into letters × fonts) and is ignored for shapes."""
    side = p.image_size * p.supersample
    if p.dataset == "letters":
        fonts = font_files()
        char, font = LETTERS[item % len(LETTERS)], fonts[(item // len(LETTERS)) % len(fonts)]
        if label == 0:
            return _regular_glyph(char, str(font), p.image_size, p.supersample, p.spacing).copy()
        contours = []
        for pts, nrm in glyph_outline(char, str(font), p.spacing):
            if label == 1:
                pts = tremor(pts, nrm, rng, p.amplitude, p.wavelength, p.n_waves, p.spacing)
            contours.append(pts)
        img = draw_filled(contours, side, extent=1.4)
    else:
        poly = random_polygon(rng)
        poly = (poly - (poly.min(0) + poly.max(0)) / 2) / np.ptp(poly, axis=0).max() * rng.uniform(0.55, 0.75)
        pts, nrm = resample_closed(poly, p.spacing)
        width = rng.uniform(*p.stroke) * p.supersample
        if label == 1:
            length0 = _perimeter(pts)
            pts = tremor(pts, nrm, rng, p.amplitude, p.wavelength, p.n_waves, p.spacing)
            if p.match_ink:
                width *= length0 / _perimeter(pts)
        img = draw_closed_curve(pts, side, extent=1.0, width=width)
    if p.supersample > 1:
        img = img.reshape(p.image_size, p.supersample, p.image_size, p.supersample).mean(axis=(1, 3))
    return img


@lru_cache(maxsize=4096)
def _regular_glyph(char: str, font_file: str, size: int, supersample: int, spacing: float) -> np.ndarray:
    """The clean regular glyph image (cached: there are only 52 × 13 of them per size)."""
    side = size * supersample
    img = draw_filled([pts for pts, _ in glyph_outline(char, font_file, spacing)], side, extent=1.4)
    return img.reshape(size, supersample, size, supersample).mean(axis=(1, 3)) if supersample > 1 else img


def augment(images: Tensor, p: CurveParams, seed: int) -> Tensor:
    """Random affine map then elastic distortion, each image its own draw, then binarised at 0.5.
    images: (N, 1, S, S) float in [0, 1] → uint8 {0, 1} (N, 1, S, S).

    Vectorised version of `augment_v2` (torchvision's `RandomAffine` and `ElasticTransform` draw one parameter set
    per call, so they must loop over images: ~5-20 ms each here). Same recipe: rotation ~ U(±degrees), shear
    ~ U(±shear) on both axes, scale ~ U(scale), translation ~ U(±translate·S); the elastic displacement is uniform
    noise in [-1, 1] per pixel and axis, blurred by `torchvision.transforms.v2.functional.gaussian_blur` (kernel
    8σ+1, at most S−1, σ = elastic_sigma) and scaled by alpha/S (torchvision's ElasticTransform). Both maps are composed into
    one sampling grid (`torch.nn.functional.grid_sample`, bilinear, zeros outside)."""
    from torchvision.transforms.v2 import functional as TF

    n, _, S, _ = images.shape
    g = torch.Generator().manual_seed(seed)
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)  # noqa: E731
    rot = torch.deg2rad(u(-p.degrees, p.degrees))
    shx = torch.deg2rad(u(-p.shear, p.shear))
    shy = torch.deg2rad(u(-p.shear, p.shear))
    sc = u(*p.scale)
    tx, ty = u(-p.translate, p.translate) * 2, u(-p.translate, p.translate) * 2  # in [-1, 1] grid units
    # forward map A = R(rot) · Shear(shx, shy) · scale; grid_sample needs the inverse (output -> input)
    R = torch.stack(
        [torch.stack([torch.cos(rot), -torch.sin(rot)], -1), torch.stack([torch.sin(rot), torch.cos(rot)], -1)], -2
    )
    Sh = torch.stack(
        [
            torch.stack([torch.ones(n, dtype=torch.float64), torch.tan(shx)], -1),
            torch.stack([torch.tan(shy), torch.ones(n, dtype=torch.float64)], -1),
        ],
        -2,
    )
    A = R @ Sh * sc[:, None, None]
    Ainv = torch.linalg.inv(A)
    t = torch.stack([tx, ty], -1).unsqueeze(-1)
    theta = torch.cat([Ainv, -Ainv @ t], dim=2).float()  # (n, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (n, S, S, 2)
    ks = min(int(8 * p.elastic_sigma + 1) | 1, S - 1 if S % 2 == 0 else S)  # reflect padding needs ks//2 < S
    noise = torch.rand((n, 2, S, S), generator=g) * 2 - 1
    disp = TF.gaussian_blur(noise, [ks, ks], [p.elastic_sigma, p.elastic_sigma]) * (p.elastic_alpha / S)
    grid = grid + disp.permute(0, 2, 3, 1)
    out = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (out > 0.5).to(torch.uint8)


def augment_v2(images: Tensor, p: CurveParams, seed: int) -> Tensor:
    """Reference implementation of `augment` with `torchvision.transforms.v2.RandomAffine` then
    `v2.ElasticTransform`, one call per image (slow: used to check `augment` and to show the library's version)."""
    from torchvision.transforms import v2

    affine = v2.RandomAffine(
        degrees=p.degrees,
        translate=(p.translate, p.translate),
        scale=p.scale,
        shear=(-p.shear, p.shear, -p.shear, p.shear),
        interpolation=v2.InterpolationMode.BILINEAR,
    )
    elastic = v2.ElasticTransform(
        alpha=p.elastic_alpha, sigma=p.elastic_sigma, interpolation=v2.InterpolationMode.BILINEAR
    )
    out = torch.empty(images.shape, dtype=torch.uint8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(len(images)):
            out[i] = (elastic(affine(images[i])) > 0.5).to(torch.uint8)
    return out


def _generate_split(p: CurveParams, n: int, seed: int, split_id: int) -> tuple[Tensor, Tensor, np.ndarray]:
    rng = np.random.default_rng([seed, split_id])
    labels = np.repeat([0, 1], n // 2)
    rng.shuffle(labels)
    n_items = len(LETTERS) * len(font_files()) if p.dataset == "letters" else 1
    items = rng.integers(0, n_items, size=n)
    clean = np.stack([draw_one(p, int(l), int(it), rng) for l, it in zip(labels, items)])  # noqa: E741
    x = augment(torch.from_numpy(clean).unsqueeze(1), p, seed * 7919 + split_id)
    return x, torch.from_numpy(labels).long(), items


def cache_key(p: CurveParams, seed: int) -> str:
    """A short hash of the parameters and the seed (the cache file's name)."""
    blob = json.dumps({"params": asdict(p), "seed": seed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def generate(
    p: CurveParams, seed: int = 0, *, cache_dir: Path | str | None = CACHE_DIR, progress: bool = True
) -> CurveSet:
    """Generate (or load from the cache) a balanced train/test set of regular vs shaky curves.

    Args:
        p: the generator's parameters (`CurveParams`); seed: non-negative integer.
        cache_dir: folder for ``<dataset>-<hash>.pt`` + ``.json`` manifest; None disables caching. Safe for
            concurrent callers (files written whole, see `_write_whole`).

    Returns:
        `CurveSet` (x uint8 {0, 1} (N, 1, S, S), y int64 (N,)); `.seconds` is the generation (or load) time and
        `.cached` says whether it was loaded.

    Raises:
        ValueError: bad parameters (see `CurveParams.validate`) or a negative seed.
    """
    p.validate()
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    t0 = time.perf_counter()
    key = cache_key(p, seed)
    if cache_dir is not None:
        f = Path(cache_dir) / f"{p.dataset}-{key}.pt"
        if f.exists():
            d = torch.load(f, weights_only=False)
            return CurveSet(
                d["x_train"],
                d["y_train"],
                d["x_test"],
                d["y_test"],
                p,
                seed,
                d["meta"],
                time.perf_counter() - t0,
                cached=True,
            )
    x_tr, y_tr, it_tr = _generate_split(p, p.n_train, seed, 0)
    x_te, y_te, it_te = _generate_split(p, p.n_test, seed, 1)
    meta = {"item_train": it_tr.tolist(), "item_test": it_te.tolist()}
    cs = CurveSet(x_tr, y_tr, x_te, y_te, p, seed, meta, time.perf_counter() - t0, cached=False)
    if cache_dir is not None:
        d = Path(cache_dir)
        d.mkdir(parents=True, exist_ok=True)
        manifest = {
            "params": asdict(p),
            "seed": seed,
            "file": f"{p.dataset}-{key}.pt",
            "generation_seconds": round(cs.seconds, 2),
            "fonts": [f.name for f in font_files()] if p.dataset == "letters" else None,
            "shape": list(x_tr.shape),
        }
        # manifest first, data file last: whoever sees the .pt also finds its manifest
        _write_whole(d / f"{p.dataset}-{key}.json", lambda f: f.write(json.dumps(manifest, indent=2).encode()))
        _write_whole(
            d / f"{p.dataset}-{key}.pt",
            lambda f: torch.save({"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te, "meta": meta}, f),
        )
    return cs


def _write_whole(path: Path, write: Callable[[Any], None]) -> None:
    """Write `path` whole: `write(binary file)` into a temporary file of a unique name in the same folder, then
    rename it over `path` (atomic on POSIX). Two processes generating the same set at once (e.g. two workers of a
    sweep) each write their own temporary file; the last rename wins and a reader sees either no file or a
    complete one, never a partial one. Their data are identical (same parameters and seed). The file gets the
    usual permissions of a new file (umask), as with `open`."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.part"
    try:
        with open(tmp, "xb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def ink_giveaway(cs: CurveSet) -> dict[str, float]:
    """Is the task solvable from the amount of ink alone? Mean ink (fraction of on-pixels) per class, and the test
    accuracy of the best single threshold on ink (either direction) chosen on the training set.

    Returns {"ink_regular", "ink_shaky" (fractions), "ink_threshold_accuracy" (fraction; 0.5 = no give-away)}."""
    ink_tr = cs.x_train.float().mean(dim=(1, 2, 3))
    ink_te = cs.x_test.float().mean(dim=(1, 2, 3))
    cands = torch.quantile(ink_tr, torch.linspace(0.01, 0.99, 99))
    best, best_t, best_dir = -1.0, 0.0, 1
    for t in cands:
        for direction in (1, -1):
            acc = (((ink_tr > t).long() if direction == 1 else (ink_tr <= t).long()) == cs.y_train).float().mean()
            if acc > best:
                best, best_t, best_dir = acc.item(), t.item(), direction
    pred = (ink_te > best_t).long() if best_dir == 1 else (ink_te <= best_t).long()
    return {
        "ink_regular": ink_te[cs.y_test == 0].mean().item(),
        "ink_shaky": ink_te[cs.y_test == 1].mean().item(),
        "ink_threshold_accuracy": (pred == cs.y_test).float().mean().item(),
    }
