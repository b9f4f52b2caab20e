"""MNIST and Fashion-MNIST as in-memory tensors, filled from a local mirror when there is no network.

The loaders are torchvision's (`torchvision.datasets.MNIST` / `FashionMNIST`, ``download=False``); this module only
makes sure that ``<root>/MNIST/raw/`` and ``<root>/FashionMNIST/raw/`` hold the four uncompressed IDX files with
their canonical MD5 sums, trying in order:

1. the files already in ``<root>`` (checked),
2. a mirror folder of gzipped IDX files: ``$STUDY_DATA_MIRROR``, else ``../shared/data`` next to the repository
   (layout ``mnist/*.gz``, ``fashion-mnist/*.gz``),
3. Debian's ``/usr/share/datasets/fashion-mnist/`` (package ``dataset-fashion-mnist``; Fashion-MNIST only),
4. torchvision's own download (needs the network).

Every file is written under a temporary name and renamed when complete, so an interrupted fill leaves nothing
half-written. Each split is decoded once into a uint8 tensor and kept in memory; batches are sliced from tensors,
never decoded per sample.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO_ROOT / "data"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

#: Canonical MD5 sums of the *uncompressed* IDX files (LeCun et al.; Xiao et al. 2017).
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}
#: torchvision's folder name under root for each data set.
TV_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


class DataError(RuntimeError):
    """A data file is missing or corrupt; the message names the file, the expected MD5 and how to supply it."""


def _check_name(name: str) -> str:
    if name not in MD5:
        raise ValueError(f"dataset={name!r} is not known; accepted: {sorted(MD5)}")
    return name


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    """MD5 hex digest of a file's bytes."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def raw_folder(name: str, root: Path | str = DEFAULT_ROOT) -> Path:
    """``<root>/MNIST/raw`` or ``<root>/FashionMNIST/raw``: where torchvision reads the IDX files."""
    return Path(root) / TV_FOLDER[_check_name(name)] / "raw"


def mirror_candidates(name: str) -> list[Path]:
    """Folders of gzipped IDX files to copy from, in the order they are tried."""
    out = []
    env = os.environ.get("STUDY_DATA_MIRROR")
    if env:
        out.append(Path(env) / name)
    else:
        shared = REPO_ROOT.parent / "shared" / "data"
        if shared.exists():
            out.append(shared / name)
    if name == "fashion-mnist":
        out.append(DEBIAN_FASHION)
    return out


def _how_to_supply(name: str, root: Path) -> str:
    return (f"Supply it by one of: (a) setting STUDY_DATA_MIRROR to a folder holding '{name}/<file>.gz' "
            f"(the repository's sibling ../shared/data is used by default); "
            + ("(b) `apt-get install dataset-fashion-mnist`; " if name == "fashion-mnist" else "")
            + f"(c) running with network access so torchvision downloads it; "
            f"(d) copying the uncompressed file into {raw_folder(name, root)}/. Then run `make data`.")


def _atomic_decompress(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dst.name + ".", suffix=".part", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, (gzip.open(src, "rb") if src.suffix == ".gz" else open(src, "rb")) as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verify(name: str, root: Path | str = DEFAULT_ROOT) -> None:
    """Check the four uncompressed IDX files of `name` under `root` against their canonical MD5 sums.

    Raises:
        DataError: a file is missing or its MD5 differs; the message names the file, the expected sum and the
            ways to supply it.
    """
    root = Path(root)
    for fname, expected in MD5[_check_name(name)].items():
        path = raw_folder(name, root) / fname
        if not path.exists():
            raise DataError(f"{path} is missing (expected MD5 {expected}). " + _how_to_supply(name, root))
        got = md5sum(path)
        if got != expected:
            raise DataError(f"{path} is corrupt: MD5 {got}, expected {expected}. Delete it and supply it again. "
                            + _how_to_supply(name, root))


def ensure(name: str, root: Path | str = DEFAULT_ROOT, *, download: bool = True, verbose: bool = True) -> Path:
    """Make sure `<root>` holds the verified raw IDX files of data set `name` ("mnist" or "fashion-mnist").

    Sources are tried in the order of the module docstring; a file already present with the right MD5 is kept,
    one with a wrong MD5 is replaced from a source. Returns the raw folder.

    Raises:
        ValueError: unknown `name`.
        DataError: no source gave a file with the canonical MD5 (names the file, the sum and how to supply it).
    """
    root = Path(root)
    raw = raw_folder(name, root)
    missing = []
    for fname, expected in MD5[_check_name(name)].items():
        dst = raw / fname
        if dst.exists() and md5sum(dst) == expected:
            continue
        for folder in mirror_candidates(name):
            for src in (folder / f"{fname}.gz", folder / fname):
                if src.exists():
                    _atomic_decompress(src, dst)
                    if md5sum(dst) == expected:
                        if verbose:
                            print(f"{name}: {fname} <- {src}")
                        break
                    dst.unlink()
            else:
                continue
            break
        if not (dst.exists() and md5sum(dst) == expected):
            missing.append(fname)
    if missing and download:
        try:
            from torchvision import datasets
            cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
            for train in (True, False):
                cls(root=str(root), train=train, download=True)
        except Exception as exc:  # noqa: BLE001 - network errors come in many types; we re-raise with guidance
            if verbose:
                print(f"{name}: torchvision download failed ({type(exc).__name__}: {exc})")
    verify(name, root)
    return raw


@dataclass
class Split:
    """One split held in memory. ``images``: uint8, shape (N, 1, 28, 28); ``labels``: int64, shape (N,)."""
    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def float(self, mean: float | None = None, std: float | None = None) -> torch.Tensor:
        """Images as float32 in [0, 1], shape (N, 1, 28, 28); standardised by (x - mean) / std when given."""
        x = self.images.float().div_(255.0)
        if mean is not None and std is not None:
            x = x.sub_(mean).div_(std)
        return x

    def subset(self, idx: torch.Tensor) -> "Split":
        return Split(self.images[idx], self.labels[idx], self.classes)


def load(name: str, split: str = "train", root: Path | str = DEFAULT_ROOT) -> Split:
    """Load a split of MNIST / Fashion-MNIST into memory via torchvision (``download=False``).

    Args:
        name: "mnist" or "fashion-mnist".
        split: "train" (60,000 images) or "test" (10,000 images).

    Raises:
        ValueError: unknown `name` or `split`.
        DataError: files missing or corrupt (run `make data`, or see `ensure`).
    """
    from torchvision import datasets
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} is not accepted; use 'train' or 'test'")
    root = Path(root)
    ensure(name, root, verbose=False)
    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    ds = cls(root=str(root), train=(split == "train"), download=False)
    return Split(ds.data.unsqueeze(1).contiguous(), ds.targets.long(), CLASSES[name])


def balanced_indices(labels: torch.Tensor, per_class: int, *, generator: torch.Generator,
                     exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Indices of a class-balanced random subset: `per_class` examples of every class, shuffled.

    Args:
        labels: int64, shape (N,).
        per_class: examples drawn per class, without replacement.
        generator: the seeded source of randomness.
        exclude: indices that must not be drawn (e.g. the training subset when drawing validation).

    Raises:
        ValueError: a class has fewer than `per_class` available examples.
    """
    avail = torch.ones(len(labels), dtype=torch.bool)
    if exclude is not None:
        avail[exclude] = False
    out = []
    for c in torch.unique(labels).tolist():
        pool = torch.nonzero((labels == c) & avail).flatten()
        if len(pool) < per_class:
            raise ValueError(f"per_class={per_class} exceeds the {len(pool)} available examples of class {c}")
        out.append(pool[torch.randperm(len(pool), generator=generator)[:per_class]])
    idx = torch.cat(out)
    return idx[torch.randperm(len(idx), generator=generator)]


def main(argv: list[str] | None = None) -> int:
    """``python -m study.data [root]``: fill and verify MNIST and Fashion-MNIST under `root` (default data/)."""
    import sys
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else DEFAULT_ROOT
    for name in MD5:
        try:
            raw = ensure(name, root)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: verified 4 IDX files in {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
